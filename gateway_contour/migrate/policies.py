"""Ingress policies (Contour annotations) as HTTPRoute rule fields, and what they cannot say.

- response-timeout -> `timeouts.request` ("infinity" -> "0s", no timeout); per-try-timeout ->
  `timeouts.backendRequest` (per try, as this controller applies it).
- retry-on + num-retries -> `retry.attempts` and `retry.codes`: 5xx -> 500-511,
  gateway-error -> 502-504, retriable-4xx -> 409. Connection failures (reset,
  connect-failure, refused-stream) need nothing: this controller retries them whenever a
  rule retries. Every other condition is noted.
- Contour's Service annotations are not read for HTTPRoutes: each gets advice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gateway_contour.translate.ingress.annotations import IngressPolicy
from gateway_contour.translate.service_annotations import PREFIX as CONTOUR_PREFIX

RETRY_CODES = {
    "5xx": tuple(range(500, 512)),
    "gateway-error": (502, 503, 504),
    "retriable-4xx": (409,),
}
RETRIED_ANYWAY = frozenset({"reset", "connect-failure", "refused-stream"})


def route_policies(policy: IngressPolicy) -> dict[str, Any]:
    """The `timeouts` and `retry` fields of every rule made from the Ingress."""
    out: dict[str, Any] = {}
    timeouts: dict[str, str] = {}
    if policy.timeouts is not None and policy.timeouts.request is not None:
        timeouts["request"] = gateway_duration(policy.timeouts.request)
    retry = policy.retry
    if retry is not None:
        if retry.per_try_timeout is not None:
            timeouts["backendRequest"] = gateway_duration(retry.per_try_timeout)
        if retry.attempts > 0:
            codes = sorted({c for cond in retry.retry_on for c in RETRY_CODES.get(cond, ())})
            out["retry"] = {"attempts": retry.attempts, **({"codes": codes} if codes else {})}
    if timeouts:
        out["timeouts"] = timeouts
    return out


def service_annotation_advice(annotations: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(annotation, what to do instead) for each Contour annotation of a Service."""
    out = []
    for key in sorted(k for k in annotations if k.startswith(CONTOUR_PREFIX)):
        if key.endswith("upstream-protocol.h2c"):
            advice = "set appProtocol kubernetes.io/h2c on those ports instead"
        elif ".h2" in key or key.endswith(".tls"):
            advice = (
                "a BackendTLSPolicy gives upstream TLS, but verifies the backend's "
                "certificate where the annotation did not"
            )
        else:
            advice = "HTTPRoute has no circuit-breaker setting"
        out.append((key, advice))
    return out


def retry_notes(policy: IngressPolicy) -> list[str]:
    """What of the Ingress's retry policy HTTPRoute cannot say."""
    if policy.retry is None:
        return []
    out = []
    other = [c for c in policy.retry.retry_on if c not in RETRY_CODES and c not in RETRIED_ANYWAY]
    if other:
        out.append(f"retry conditions {', '.join(other)} have no HTTPRoute equivalent")
    if "5xx" in policy.retry.retry_on:
        out.append("retry-on 5xx became the status codes 500-511")
    return out


def gateway_duration(seconds: float) -> str:
    """A Gateway API duration (h, m, s, ms parts; at most 4): 90.25 -> "1m30s250ms"."""
    millis = math.ceil(seconds * 1000 - 1e-6)
    if millis <= 0:
        return "0s"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s"), (ms, "ms")]
    return "".join(f"{v}{u}" for v, u in parts if v)
