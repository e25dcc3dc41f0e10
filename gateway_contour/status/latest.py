"""Status writing off the rebuild path: the writer works on the latest report only.

A rebuild publishes to xDS, then hands its StatusReport (with the snapshot it came from) to
`LatestReport.offer` and is done: the next rebuild need not wait for a thousand status
writes. One task (`run`) writes reports one at a time; a report offered while another is
being written replaces any report still waiting, because every report describes the whole
world (the newer one says everything the older one would have, and the writer diffs
against live status anyway).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot

WriteFn = Callable[[StatusReport, Snapshot], Awaitable[object]]


class LatestReport:
    def __init__(self) -> None:
        self._pending: tuple[StatusReport, Snapshot] | None = None
        self._wake = anyio.Event()
        self.offered = 0
        self.written = 0  # reports handed to the write function (the rest were superseded)

    def offer(self, report: StatusReport, snapshot: Snapshot) -> None:
        """The report to write next, replacing one not yet started. Never blocks."""
        self._pending = (report, snapshot)
        self.offered += 1
        self._wake.set()

    async def run(self, write: WriteFn) -> None:
        """Write each latest report with `write`, forever."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            pending, self._pending = self._pending, None
            if pending is None:
                continue
            self.written += 1
            await write(*pending)
