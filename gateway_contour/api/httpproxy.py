"""The HTTPProxy (projectcontour.io/v1) CustomResourceDefinition.

The schema describes the fields translate/httpproxy reads (the Contour API's shape and field
names), with the enums and bounds the translator would otherwise have to report, so the API
server refuses the obviously wrong early. What needs cross-field knowledge (cycles,
delegation, Services that exist) stays in the translator's status. The status subresource
holds currentStatus, description and conditions with errors/warnings sub-conditions; the
printer columns are Contour's: FQDN, TLS secret, status and its description.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.api.httpproxy_route import (
    ip_policy,
    match_conditions,
    rate_limit,
    route,
    service,
)
from gateway_contour.api.schema import (
    Schema,
    array,
    boolean,
    crd,
    duration,
    obj,
    string,
    unsupported,
)


def _tls() -> Schema:
    return obj(
        "TLS for the virtual host.",
        {
            "secretName": string(
                'A kubernetes.io/tls Secret: "name" or "namespace/name" (delegated).'
            ),
            "minimumProtocolVersion": string("Lowest TLS version.", enum=["", "1.2", "1.3"]),
            "maximumProtocolVersion": string("Highest TLS version.", enum=["", "1.2", "1.3"]),
            "passthrough": boolean("Pass the TLS stream to the tcpproxy untouched."),
            "enableFallbackCertificate": boolean(
                "Serve clients without SNI with the fallback certificate."
            ),
            "clientValidation": obj(
                "Client certificate validation.",
                {
                    "caSecret": string("Secret with ca.crt."),
                    "skipClientCertValidation": boolean(
                        "Ask for a certificate without verifying it."
                    ),
                    "optionalClientCertificate": boolean("Accept clients without a certificate."),
                    "crlSecret": unsupported("Certificate revocation lists."),
                    "crlOnlyVerifyLeafCertificate": unsupported("CRL check scope."),
                    "forwardClientCertificate": unsupported("Client certificate forwarding."),
                },
            ),
        },
    )


def _sub_condition() -> Schema:
    return obj(
        "A detail of a condition.",
        {
            "type": string("Which part of the spec."),
            "status": string("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "reason": string("Machine-readable reason."),
            "message": string("Human-readable message."),
        },
        required=["type", "status", "reason", "message"],
    )


def _status() -> Schema:
    condition = obj(
        "A condition with details.",
        {
            "type": string("Condition type (Valid)."),
            "status": string("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "reason": string("Machine-readable reason."),
            "message": string("Human-readable message."),
            "observedGeneration": {
                "type": "integer",
                "format": "int64",
                "minimum": 0,
                "description": "The generation the condition is about.",
            },
            "lastTransitionTime": string("When the status last changed.", format="date-time"),
            "errors": array("Errors.", _sub_condition()),
            "warnings": array("Warnings.", _sub_condition()),
        },
        required=["type", "status"],
    )
    return obj(
        "What the controller made of the object.",
        {
            "currentStatus": string("valid, invalid or orphaned."),
            "description": string("Why."),
            "conditions": array(
                "Conditions.",
                condition,
                **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
            ),
            "loadBalancer": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "description": "Where the fleet is reachable.",
            },
        },
    )


def httpproxy_crd() -> dict[str, Any]:
    """The HTTPProxy CustomResourceDefinition."""
    vhost = obj(
        "Makes this a root proxy for one hostname.",
        {
            "fqdn": string("The hostname served.", minLength=1),
            "tls": _tls(),
            "corsPolicy": obj(
                "CORS.",
                {
                    "allowOrigin": array('Allowed origins ("*" wildcards).', string("An origin.")),
                    "allowMethods": array("Allowed methods.", string("A method.")),
                    "allowHeaders": array("Allowed request headers.", string("A header.")),
                    "exposeHeaders": array("Headers exposed to scripts.", string("A header.")),
                    "allowCredentials": boolean("Allow credentials."),
                    "maxAge": duration("How long preflight answers may be cached."),
                },
                required=["allowOrigin", "allowMethods"],
            ),
            "ipAllowPolicy": ip_policy("Only these clients."),
            "ipDenyPolicy": ip_policy("Not these clients."),
            "rateLimitPolicy": rate_limit(),
            "authorization": unsupported("External authorization."),
            "jwtProviders": unsupported("JWT providers."),
        },
        required=["fqdn"],
    )
    include = obj(
        "Routes of another proxy, under these conditions.",
        {
            "name": string("The proxy.", minLength=1),
            "namespace": string("Its namespace (default: this proxy's)."),
            "conditions": match_conditions("Prepended to the included routes."),
        },
        required=["name"],
    )
    tcpproxy = obj(
        "Proxy TCP (after TLS termination or passthrough).",
        {
            "services": array("Upstreams, split by weight.", service()),
            "include": obj(
                "Use another proxy's tcpproxy.",
                {
                    "name": string("The proxy.", minLength=1),
                    "namespace": string("Its namespace (default: this proxy's)."),
                },
                required=["name"],
            ),
            "loadBalancerPolicy": obj("How connections spread.", {"strategy": string("Strategy.")}),
            "healthCheckPolicy": unsupported("TCP health checks."),
        },
    )
    spec = obj(
        "The desired routing.",
        {
            "ingressClassName": string(
                "The ingress class of the controller that should serve this proxy."
            ),
            "virtualhost": vhost,
            "routes": array("Routes.", route()),
            "includes": array("Included proxies.", include),
            "tcpproxy": tcpproxy,
        },
    )
    columns = [
        {
            "name": "FQDN",
            "type": "string",
            "jsonPath": ".spec.virtualhost.fqdn",
            "description": "Fully qualified domain name",
        },
        {
            "name": "TLS Secret",
            "type": "string",
            "jsonPath": ".spec.virtualhost.tls.secretName",
            "description": "Secret with TLS credentials",
        },
        {
            "name": "Status",
            "type": "string",
            "jsonPath": ".status.currentStatus",
            "description": "The current status of the HTTPProxy",
        },
        {
            "name": "Status Description",
            "type": "string",
            "jsonPath": ".status.description",
            "description": "Description of the current status",
        },
    ]
    return crd("HTTPProxy", "httpproxies", spec, _status(), columns, ["proxy", "proxies"])
