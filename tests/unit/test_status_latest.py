"""LatestReport: status writing off the rebuild path; a report offered while another is
being written replaces any report still waiting, and none is written twice."""

from __future__ import annotations

import anyio

from gateway_contour.status.latest import LatestReport
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot


async def test_only_the_latest_waiting_report_is_written() -> None:
    latest = LatestReport()
    written: list[StatusReport] = []
    release = anyio.Event()

    async def write(report: StatusReport, snapshot: Snapshot) -> None:
        written.append(report)
        if len(written) == 1:
            await release.wait()  # a slow first write: more reports arrive meanwhile

    reports = [StatusReport() for _ in range(4)]
    async with anyio.create_task_group() as tg:
        tg.start_soon(latest.run, write)
        latest.offer(reports[0], Snapshot({}))
        await anyio.sleep(0.05)
        for report in reports[1:]:
            latest.offer(report, Snapshot({}))  # never blocks on the write in progress
        release.set()
        with anyio.fail_after(5):
            while len(written) < 2:
                await anyio.sleep(0.01)
        await anyio.sleep(0.1)
        tg.cancel_scope.cancel()
    assert written == [reports[0], reports[3]]
    assert (latest.offered, latest.written) == (4, 2)
