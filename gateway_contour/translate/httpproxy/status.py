"""HTTPProxy status as Contour writes it: `currentStatus`, `description` and one `Valid`
condition whose `errors` (and `warnings`) are sub-conditions naming what is wrong.

- valid: currentStatus "valid", Valid True, reason "Valid", message "Valid HTTPProxy".
- invalid: currentStatus "invalid", description the first error's message, Valid False,
  reason "ErrorPresent", and one sub-condition per problem: `type` says which part of the
  spec (VirtualHostError, TLSError, IncludeError, RouteError, ServiceError, TCPProxyError,
  IPFilterError, RateLimitError, CORSError, SpecError), `reason` what kind of problem.
- orphaned: a proxy without a virtual host that no valid root includes: currentStatus
  "orphaned", Valid False, reason "Orphaned", one error of type "Orphaned".

Sub-conditions carry no lastTransitionTime (they have none in Contour's API either); the
status writer stamps the Valid condition itself.
"""

from __future__ import annotations

from typing import Any

VALID_MESSAGE = "Valid HTTPProxy"
ERROR_PRESENT_MESSAGE = "At least one error present, see Errors for details"
ORPHANED_MESSAGE = "this HTTPProxy is not part of a delegation chain from a root HTTPProxy"

# sub-condition types (the part of the spec the problem is in)
VIRTUAL_HOST_ERROR = "VirtualHostError"
TLS_ERROR = "TLSError"
INCLUDE_ERROR = "IncludeError"
ROUTE_ERROR = "RouteError"
SERVICE_ERROR = "ServiceError"
TCP_PROXY_ERROR = "TCPProxyError"
IP_FILTER_ERROR = "IPFilterError"
RATE_LIMIT_ERROR = "RateLimitError"
CORS_ERROR = "CORSError"
SPEC_ERROR = "SpecError"
ORPHANED = "Orphaned"

# errors that leave the proxy's other routes served (translate/httpproxy/inclusion.py)
_SERVED_AROUND = frozenset(
    {(INCLUDE_ERROR, "IncludeNotFound"), (INCLUDE_ERROR, "RootIncludesRoot")}
)


class ProxyStatus:
    """The status of one HTTPProxy, filled while translating it (and its includers)."""

    __slots__ = ("errors", "generation", "reached", "warnings")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        # (type, reason, message), in the order found, without repeats
        self.errors: list[tuple[str, str, str]] = []
        self.warnings: list[tuple[str, str, str]] = []
        self.reached = False  # a root, or included by one

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def serves(self) -> bool:
        """Whether the proxy's routes are served: it has no errors, or only errors that
        Contour serves around (an include naming no usable proxy)."""
        return all((t, r) in _SERVED_AROUND for t, r, _ in self.errors)

    def error(self, type_: str, reason: str, message: str) -> None:
        entry = (type_, reason, message)
        if entry not in self.errors:
            self.errors.append(entry)

    def warn(self, type_: str, reason: str, message: str) -> None:
        entry = (type_, reason, message)
        if entry not in self.warnings:
            self.warnings.append(entry)

    def to_api(self) -> dict[str, Any]:
        if not self.reached and not self.errors:
            return self._block(
                "orphaned",
                ORPHANED_MESSAGE,
                False,
                ORPHANED,
                ORPHANED_MESSAGE,
                [(ORPHANED, ORPHANED, ORPHANED_MESSAGE)],
            )
        if self.errors:
            return self._block(
                "invalid",
                self.errors[0][2],
                False,
                "ErrorPresent",
                ERROR_PRESENT_MESSAGE,
                self.errors,
            )
        return self._block("valid", VALID_MESSAGE, True, "Valid", VALID_MESSAGE, [])

    def _block(
        self,
        current: str,
        description: str,
        status: bool,
        reason: str,
        message: str,
        errors: list[tuple[str, str, str]],
    ) -> dict[str, Any]:
        condition: dict[str, Any] = {
            "type": "Valid",
            "status": "True" if status else "False",
            "reason": reason,
            "message": message,
            "observedGeneration": self.generation,
        }
        if errors:
            condition["errors"] = [_sub(e) for e in errors]
        if self.warnings:
            condition["warnings"] = [_sub(w) for w in self.warnings]
        return {"currentStatus": current, "description": description, "conditions": [condition]}


def _sub(entry: tuple[str, str, str]) -> dict[str, str]:
    type_, reason, message = entry
    return {"type": type_, "status": "True", "reason": reason, "message": message}
