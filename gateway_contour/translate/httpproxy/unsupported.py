"""HTTPProxy fields of Contour's API that this controller does not implement (yet): each
one present on a proxy is a warning in its status, so nothing is ignored silently. The
proxy stays valid and is served without that feature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway_contour.translate.data import dicts, mapping

WarnSink = Callable[[str, str, str], None]

_VIRTUAL_HOST = ("authorization", "jwtProviders")
_TLS = ("crlSecret", "crlOnlyVerifyLeafCertificate", "forwardClientCertificate")
_ROUTE = (
    "authPolicy",
    "jwtVerificationPolicy",
    "cookieRewritePolicies",
    "internalRedirectPolicy",
    "slowStartPolicy",
)
_SERVICE = ("healthPort", "cookieRewritePolicies", "slowStartPolicy")


def warn_unsupported(spec: dict[str, Any], warn: WarnSink) -> None:
    def report(where: str, field: str) -> None:
        warn("NotImplemented", "FieldNotSupported", f"{where}.{field} is not supported; ignored")

    vhost = mapping(spec.get("virtualhost"))
    for field in _VIRTUAL_HOST:
        if field in vhost:
            report("spec.virtualhost", field)
    tls = mapping(vhost.get("tls"))
    client = mapping(tls.get("clientValidation"))
    for field in _TLS:
        if field in client:
            report("spec.virtualhost.tls.clientValidation", field)
    if "global" in mapping(vhost.get("rateLimitPolicy")):
        report("spec.virtualhost.rateLimitPolicy", "global")
    for index, route in enumerate(dicts(spec.get("routes"))):
        where = f"spec.routes[{index}]"
        for field in _ROUTE:
            if field in route:
                report(where, field)
        if "global" in mapping(route.get("rateLimitPolicy")):
            report(f"{where}.rateLimitPolicy", "global")
        if "idleConnection" in mapping(route.get("timeoutPolicy")):
            report(f"{where}.timeoutPolicy", "idleConnection")
        for number, service in enumerate(dicts(route.get("services"))):
            for field in _SERVICE:
                if field in service:
                    report(f"{where}.services[{number}]", field)
    tcpproxy = mapping(spec.get("tcpproxy"))
    if "healthCheckPolicy" in tcpproxy:
        report("spec.tcpproxy", "healthCheckPolicy")
