"""A coroutine run as a background task for a block: what the tests use to run a controller
(`serve`, host mode) beside the test's own code, and stop it as SIGTERM does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def in_background(coroutine: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """`coroutine` as a task for the block; on exit the task is cancelled and awaited, and any
    error other than the cancellation is raised.

    A plain task, not a task group: pytest-asyncio tears fixtures down in another task."""
    task = asyncio.create_task(coroutine)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
