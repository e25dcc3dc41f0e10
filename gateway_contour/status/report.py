"""Status as data: what translation wants each object's status to be.

Translation fills a StatusReport; the status writer (Kubernetes) or the files provider
(stdout) consumes it. Desired statuses are JSON-shaped dicts in the API's own field names
without lastTransitionTime: the writer carries timestamps over from the live object when a
condition's status did not change, and stamps "now" otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_contour.store.objects import ObjectKey


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: bool | str  # True/False, or "Unknown"
    reason: str
    message: str
    observed_generation: int = 0

    def to_api(self) -> dict[str, Any]:
        status = self.status if isinstance(self.status, str) else str(self.status)
        return {
            "type": self.type,
            "status": status,
            "reason": self.reason,
            "message": self.message,
            "observedGeneration": self.observed_generation,
        }


@dataclass(slots=True)
class Problem:
    """Something wrong with an input that is not an object's status (a malformed file)."""

    source: str  # "path/to/file.yaml#3" or an object key
    reason: str


@dataclass(slots=True)
class StatusReport:
    # desired `status` subresource per object, in API field names
    statuses: dict[ObjectKey, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def set(self, key: ObjectKey, status: dict[str, Any]) -> None:
        self.statuses[key] = status

    def problem(self, source: str, reason: str) -> None:
        self.problems.append(Problem(source, reason))

    def to_data(self) -> dict[str, Any]:
        """Deterministic plain data for golden files."""
        return {
            "statuses": [
                {"object": str(key), "status": self.statuses[key]} for key in sorted(self.statuses)
            ],
            **(
                {"problems": [{"source": p.source, "reason": p.reason} for p in self.problems]}
                if self.problems
                else {}
            ),
        }
