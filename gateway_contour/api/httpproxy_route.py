"""The schema of an HTTPProxy route (`spec.routes[]`) and of the pieces virtual hosts share
with it: match conditions, services, header policies, IP filters, rate limits."""

from __future__ import annotations

from gateway_contour.api.schema import (
    Schema,
    array,
    boolean,
    duration,
    integer,
    obj,
    string,
    unsupported,
)

# Contour's RetryOn enum: the Envoy retry conditions an HTTPProxy may name
RETRY_ON = (
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
)


def name_value(description: str) -> Schema:
    return array(
        description,
        obj(
            "A header.",
            {"name": string("Header name.", minLength=1), "value": string("Header value.")},
            required=["name", "value"],
        ),
    )


def headers_policy(description: str) -> Schema:
    return obj(
        description,
        {
            "set": name_value("Headers to set (replacing any value)."),
            "remove": array("Header names to remove.", string("A header name.")),
        },
    )


def match_conditions(description: str) -> Schema:
    header = obj(
        "Match a request header.",
        {
            "name": string("Header name.", minLength=1),
            "present": boolean("The header is present."),
            "notpresent": boolean("The header is absent."),
            "contains": string("The value contains this."),
            "notcontains": string("The value does not contain this."),
            "exact": string("The value is exactly this."),
            "notexact": string("The value is not this."),
            "regex": string("The value matches this regular expression."),
            "ignoreCase": boolean("Compare values ignoring case."),
            "treatMissingAsEmpty": boolean(
                "A missing header counts as an empty value (notcontains and notexact only)."
            ),
        },
        required=["name"],
    )
    query = obj(
        "Match a query parameter.",
        {
            "name": string("Parameter name.", minLength=1),
            "exact": string("The value is exactly this."),
            "prefix": string("The value starts with this."),
            "suffix": string("The value ends with this."),
            "regex": string("The value matches this regular expression."),
            "contains": string("The value contains this."),
            "present": boolean("The parameter is present."),
            "ignoreCase": boolean("Compare values ignoring case."),
        },
        required=["name"],
    )
    return array(
        description,
        obj(
            "One condition (set one field).",
            {
                "prefix": string("Path prefix (a string prefix)."),
                "exact": string("Exact path."),
                "regex": string("Path regular expression."),
                "header": header,
                "queryParameter": query,
            },
        ),
    )


def ip_policy(description: str) -> Schema:
    return array(
        description,
        obj(
            "A client address range.",
            {
                "source": string(
                    "Peer: the TCP peer; Remote: the client address (X-Forwarded-For).",
                    enum=["Peer", "Remote"],
                ),
                "cidr": string("An address or CIDR range."),
            },
            required=["source", "cidr"],
        ),
    )


def rate_limit() -> Schema:
    return obj(
        "Rate limits.",
        {
            "local": obj(
                "A token bucket per Envoy.",
                {
                    "requests": integer("Requests per unit.", minimum=1),
                    "unit": string("The period.", enum=["second", "minute", "hour"]),
                    "burst": integer("Requests allowed above the rate in a burst.", minimum=0),
                    "responseStatusCode": integer(
                        "Status of limited requests (default 429).", minimum=400, maximum=599
                    ),
                    "responseHeadersToAdd": name_value("Headers added to limited responses."),
                },
                required=["requests", "unit"],
            ),
            "global": unsupported("Rate limits by a global rate limit service."),
        },
    )


def service() -> Schema:
    return obj(
        "An upstream Service port.",
        {
            "name": string("Service name (the proxy's namespace).", minLength=1),
            "port": integer("Service port.", minimum=1, maximum=65535),
            "weight": {
                "type": "integer",
                "format": "int64",
                "minimum": 0,
                "description": "Share of traffic (mirror: percentage mirrored).",
            },
            "protocol": string("Upstream protocol.", enum=["h2", "h2c", "tls"]),
            "mirror": boolean("Send a copy of the traffic here; the answer is ignored."),
            "validation": obj(
                "Verify the upstream's certificate (protocol tls or h2).",
                {
                    "caSecret": string(
                        "Secret with the CA bundle (ca.crt); namespace/name needs a delegation.",
                        minLength=1,
                    ),
                    "subjectName": string(
                        "Name sent as SNI and expected in the certificate.", minLength=1
                    ),
                    "subjectNames": array(
                        "Names accepted in the certificate; the first is subjectName.",
                        string("A name.", minLength=1),
                        maxItems=8,
                    ),
                },
                required=["caSecret", "subjectName"],
            ),
            "requestHeadersPolicy": headers_policy("Request headers for this service only."),
            "responseHeadersPolicy": headers_policy("Response headers for this service only."),
            "healthPort": unsupported("Port for health checks."),
            "cookieRewritePolicies": unsupported("Set-Cookie rewrites for this service."),
            "slowStartPolicy": unsupported("Slow start of new endpoints."),
        },
        required=["name", "port"],
    )


def route() -> Schema:
    return obj(
        "A route.",
        {
            "conditions": match_conditions("Match conditions (all must match)."),
            "services": array("Upstreams, split by weight.", service()),
            "enableWebsockets": boolean("Allow websocket upgrades."),
            "permitInsecure": boolean("Serve over plain HTTP too on a TLS virtual host."),
            "timeoutPolicy": obj(
                "Timeouts.",
                {
                    "response": duration("Whole request timeout."),
                    "idle": duration("Idle stream timeout."),
                    "idleConnection": unsupported("Idle upstream connection timeout."),
                },
            ),
            "retryPolicy": obj(
                "Retries.",
                {
                    "count": {
                        "type": "integer",
                        "format": "int64",
                        "minimum": 0,
                        "description": "Retries (default 1).",
                    },
                    "perTryTimeout": duration("Timeout of each try."),
                    "retryOn": array(
                        "Envoy retry conditions (default 5xx).",
                        string("A condition.", enum=list(RETRY_ON)),
                    ),
                    "retriableStatusCodes": array(
                        "Status codes to retry.", {"type": "integer", "format": "int32"}
                    ),
                },
            ),
            "healthCheckPolicy": obj(
                "HTTP health checks of the upstreams.",
                {
                    "path": string("Path to probe.", minLength=1),
                    "host": string("Host header of probes."),
                    "intervalSeconds": {
                        "type": "integer",
                        "format": "int64",
                        "minimum": 1,
                        "description": "Seconds between probes.",
                    },
                    "timeoutSeconds": {
                        "type": "integer",
                        "format": "int64",
                        "minimum": 1,
                        "description": "Probe timeout.",
                    },
                    "unhealthyThresholdCount": {
                        "type": "integer",
                        "format": "int64",
                        "minimum": 1,
                        "description": "Failures before unhealthy.",
                    },
                    "healthyThresholdCount": {
                        "type": "integer",
                        "format": "int64",
                        "minimum": 1,
                        "description": "Successes before healthy.",
                    },
                },
                required=["path"],
            ),
            "loadBalancerPolicy": obj(
                "How requests spread over endpoints.",
                {
                    "strategy": string(
                        "The strategy.",
                        enum=[
                            "RoundRobin",
                            "WeightedLeastRequest",
                            "Random",
                            "Cookie",
                            "RequestHash",
                        ],
                    ),
                    "requestHashPolicies": array(
                        "RequestHash keys, tried in order.",
                        obj(
                            "One key (set one of the options).",
                            {
                                "headerHashOptions": obj(
                                    "Hash a request header.",
                                    {"headerName": string("The header.", minLength=1)},
                                ),
                                "queryParameterHashOptions": obj(
                                    "Hash a query parameter.",
                                    {"parameterName": string("The parameter.", minLength=1)},
                                ),
                                "hashSourceIP": boolean("Hash the client's address."),
                                "terminal": boolean("Stop at this key when it yields a hash."),
                            },
                        ),
                    ),
                },
            ),
            "requestHeadersPolicy": headers_policy("Request headers."),
            "responseHeadersPolicy": headers_policy("Response headers."),
            "pathRewritePolicy": obj(
                "Path rewriting.",
                {
                    "replacePrefix": array(
                        "Prefix replacements.",
                        obj(
                            "A replacement.",
                            {
                                "prefix": string(
                                    "The route prefix this applies to (default: any)."
                                ),
                                "replacement": string("The new prefix.", minLength=1),
                            },
                            required=["replacement"],
                        ),
                    ),
                },
            ),
            "requestRedirectPolicy": obj(
                "Answer with a redirect.",
                {
                    "scheme": string("New scheme.", enum=["http", "https"]),
                    "hostname": string("New host."),
                    "port": integer("New port.", minimum=1, maximum=65535),
                    "statusCode": integer("301 or 302.", enum=[301, 302]),
                    "path": string("New path."),
                    "prefix": string("New prefix for the matched prefix."),
                },
            ),
            "directResponsePolicy": obj(
                "Answer directly.",
                {
                    "statusCode": integer("Status.", minimum=200, maximum=599),
                    "body": string("Body."),
                },
                required=["statusCode"],
            ),
            "ipAllowPolicy": ip_policy("Only these clients (replaces the virtual host's)."),
            "ipDenyPolicy": ip_policy("Not these clients (replaces the virtual host's)."),
            "rateLimitPolicy": rate_limit(),
            "authPolicy": unsupported("External authorization for this route."),
            "jwtVerificationPolicy": unsupported("JWT verification for this route."),
            "cookieRewritePolicies": unsupported("Set-Cookie rewrites."),
            "internalRedirectPolicy": unsupported("Internal redirects."),
            "slowStartPolicy": unsupported("Slow start of new endpoints."),
        },
    )
