"""Status for standalone mode: there is no API server to write to, so status changes are
logged (one line per object whose conditions changed) and optionally written to a file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway_contour.ir.serialize import dump_yaml
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import ObjectKey

log = logging.getLogger("gateway_contour.status")


def _conditions(status: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every condition in a status, with where it sits (object, listener or route parent)."""
    for cond in status.get("conditions", []):
        yield "", cond
    for listener in status.get("listeners", []):
        for cond in listener.get("conditions", []):
            yield f"listener {listener.get('name')}: ", cond
    for parent in status.get("parents", []):
        ref = parent.get("parentRef", {})
        where = f"parent {ref.get('namespace', '')}/{ref.get('name', '')}"
        if ref.get("sectionName"):
            where += f"/{ref['sectionName']}"
        for cond in parent.get("conditions", []):
            yield f"{where}: ", cond


def _healthy(cond: dict[str, Any]) -> bool:
    # conditions whose "True" is the bad state
    if cond.get("type") in ("Conflicted",):
        return cond.get("status") != "True"
    return cond.get("status") == "True"


def failing_conditions(status: dict[str, Any]) -> list[str]:
    """Each condition of `status` in its bad state, as `where type=status (reason): message`."""
    return [
        f"{where}{c['type']}={c['status']} ({c.get('reason', '')}): {c.get('message', '')}"
        for where, c in _conditions(status)
        if not _healthy(c)
    ]


def summarize(key: ObjectKey, status: dict[str, Any]) -> str:
    bad = failing_conditions(status)
    return f"{key}: " + ("; ".join(bad) if bad else "ok")


class ConsoleStatus:
    """Logs what changed between successive reports."""

    def __init__(self, status_file: Path | None = None) -> None:
        self._last: dict[ObjectKey, dict[str, Any]] = {}
        self._last_problems: set[tuple[str, str]] = set()
        self.status_file = status_file

    def publish(self, report: StatusReport) -> None:
        for key in sorted(report.statuses):
            status = report.statuses[key]
            if self._last.get(key) != status:
                line = summarize(key, status)
                (log.info if line.endswith(": ok") else log.warning)("%s", line)
        for key in sorted(set(self._last) - set(report.statuses)):
            log.info("%s: no longer ours", key)
        problems = {(p.source, p.reason) for p in report.problems}
        for source, reason in sorted(problems - self._last_problems):
            log.warning("%s: %s", source, reason)
        self._last = dict(report.statuses)
        self._last_problems = problems
        if self.status_file is not None:
            self.status_file.write_text(dump_yaml(report.to_data()))
