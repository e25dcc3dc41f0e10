"""Contour's Ingress annotations -> route and TLS policy.

- `projectcontour.io/response-timeout`: the route timeout, a Go duration or "infinity" (no
  timeout; "0s" means the same to Envoy).
- `projectcontour.io/retry-on`: a comma-separated list of Envoy retry conditions; with it,
  `projectcontour.io/num-retries` (default 1; 0 also means 1 and -1 means no retries, as in
  Contour) and `projectcontour.io/per-try-timeout` (a Go duration). Both are ignored, and
  reported, without retry-on.
- `projectcontour.io/websocket-routes`: a comma-separated list of the Ingress's paths on
  which websocket upgrades are allowed.
- `projectcontour.io/tls-minimum-protocol-version` ("1.1", "1.2", "1.3") and
  `projectcontour.io/tls-maximum-protocol-version` ("1.2", "1.3"): the TLS versions of the
  Ingress's secure hosts.
- `ingress.kubernetes.io/force-ssl-redirect: "true"`: plain HTTP requests get a 301 to
  https; it wins over `kubernetes.io/ingress.allow-http: "false"`, which serves the
  Ingress's routes on HTTPS only.

Every value that does not parse is reported in `IngressPolicy.problems` and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import RetryPolicy, Timeouts
from gateway_contour.translate.data import mapping, text
from gateway_contour.translate.envoy_checks.limits import count_error
from gateway_contour.translate.go_duration import parse_go_duration

CONTOUR = "projectcontour.io/"
RESPONSE_TIMEOUT = CONTOUR + "response-timeout"
RETRY_ON = CONTOUR + "retry-on"
NUM_RETRIES = CONTOUR + "num-retries"
PER_TRY_TIMEOUT = CONTOUR + "per-try-timeout"
WEBSOCKET_ROUTES = CONTOUR + "websocket-routes"
TLS_MIN = CONTOUR + "tls-minimum-protocol-version"
TLS_MAX = CONTOUR + "tls-maximum-protocol-version"
TLS_CERT_NAMESPACE = CONTOUR + "tls-cert-namespace"
FORCE_SSL_REDIRECT = "ingress.kubernetes.io/force-ssl-redirect"
ALLOW_HTTP = "kubernetes.io/ingress.allow-http"

# Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions
RETRY_CONDITIONS = frozenset(
    {
        "5xx",
        "gateway-error",
        "reset",
        "reset-before-request",
        "connect-failure",
        "envoy-ratelimited",
        "retriable-4xx",
        "refused-stream",
        "retriable-status-codes",
        "retriable-headers",
        "http3-post-connect-failure",
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    }
)
TLS_MIN_VERSIONS = ("1.1", "1.2", "1.3")
TLS_MAX_VERSIONS = ("1.2", "1.3")


@dataclass(frozen=True, slots=True)
class IngressPolicy:
    timeouts: Timeouts | None = None
    retry: RetryPolicy | None = None
    websocket_paths: frozenset[str] = frozenset()
    tls_min: str = "1.2"
    tls_max: str = "1.3"
    force_ssl_redirect: bool = False
    allow_http: bool = True
    problems: tuple[str, ...] = ()


def ingress_policy(obj: dict[str, Any]) -> IngressPolicy:
    annotations = mapping(mapping(obj.get("metadata")).get("annotations"))
    problems: list[str] = []

    def get(key: str) -> str | None:
        value = annotations.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            problems.append(f"annotation {key}: {value!r} is not a string; ignored")
            return None
        return value.strip()

    timeouts = None
    raw = get(RESPONSE_TIMEOUT)
    if raw is not None:
        seconds = 0.0 if raw == "infinity" else parse_go_duration(raw)
        if seconds is None:
            problems.append(
                f"annotation {RESPONSE_TIMEOUT}: {raw!r} is not a duration or 'infinity'; ignored"
            )
        else:
            timeouts = Timeouts(request=seconds)

    retry = _retry(get(RETRY_ON), get(NUM_RETRIES), get(PER_TRY_TIMEOUT), problems)
    websocket = frozenset(p.strip() for p in text(get(WEBSOCKET_ROUTES)).split(",") if p.strip())
    tls_min = _version(get(TLS_MIN), TLS_MIN, TLS_MIN_VERSIONS, "1.2", problems)
    tls_max = _version(get(TLS_MAX), TLS_MAX, TLS_MAX_VERSIONS, "1.3", problems)
    if float(tls_min) > float(tls_max):
        problems.append(
            f"TLS minimum version {tls_min} is above the maximum {tls_max}; both ignored"
        )
        tls_min, tls_max = "1.2", "1.3"
    force_ssl = text(get(FORCE_SSL_REDIRECT)).lower() == "true"
    allow_http = text(get(ALLOW_HTTP)).lower() != "false"
    return IngressPolicy(
        timeouts=timeouts,
        retry=retry,
        websocket_paths=websocket,
        tls_min=tls_min,
        tls_max=tls_max,
        force_ssl_redirect=force_ssl,
        allow_http=allow_http or force_ssl,
        problems=tuple(problems),
    )


def _retry(
    retry_on: str | None, num: str | None, per_try: str | None, problems: list[str]
) -> RetryPolicy | None:
    if retry_on is None:
        for key, value in ((NUM_RETRIES, num), (PER_TRY_TIMEOUT, per_try)):
            if value is not None:
                problems.append(f"annotation {key} applies only with {RETRY_ON}; ignored")
        return None
    conditions = [c.strip() for c in retry_on.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in RETRY_CONDITIONS]
    if unknown:
        problems.append(f"annotation {RETRY_ON}: unknown conditions {', '.join(unknown)}; ignored")
    known = tuple(dict.fromkeys(c for c in conditions if c in RETRY_CONDITIONS))
    if not known:
        return None
    attempts = 1
    if num is not None:
        try:
            attempts = int(num)
        except ValueError:
            problems.append(f"annotation {NUM_RETRIES}: {num!r} is not an integer; 1 is used")
        else:
            if attempts < -1:
                problems.append(f"annotation {NUM_RETRIES}: {num!r} is below -1; 1 is used")
                attempts = 1
            elif reason := count_error(attempts, f"annotation {NUM_RETRIES}"):
                problems.append(f"{reason}; 1 is used")
                attempts = 1
            elif attempts == -1:
                attempts = 0
            elif attempts == 0:
                attempts = 1
    timeout = None
    if per_try is not None:
        timeout = parse_go_duration(per_try)
        if timeout is None:
            problems.append(f"annotation {PER_TRY_TIMEOUT}: {per_try!r} is not a duration; ignored")
    return RetryPolicy(attempts=attempts, per_try_timeout=timeout, retry_on=known)


def _version(
    value: str | None, key: str, allowed: tuple[str, ...], default: str, problems: list[str]
) -> str:
    if value is None:
        return default
    if value not in allowed:
        problems.append(
            f"annotation {key}: {value!r} is not one of {', '.join(allowed)}; {default} is used"
        )
        return default
    return value
