"""Host mode as the end-to-end tests run it: `host_config` gives the settings they share (a
free xDS port, a short poll of the config directory, Envoy's files under `work_dir`) with a
test's own on top, and `running` runs HostMode as a task of the test's event loop for a block,
cancelling (what SIGTERM does) and awaiting it on exit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from gateway_contour.app import HostMode, HostModeConfig
from tests.support.background import in_background


def host_config(config_dir: Path, work_dir: Path, **overrides: Any) -> HostModeConfig:
    """A HostModeConfig serving `config_dir`; `overrides` set (or replace) any field."""
    settings: dict[str, Any] = {
        "config_dir": config_dir,
        "xds_port": 0,
        "work_dir": work_dir,
        "poll_interval": 0.05,
    }
    return HostModeConfig(**{**settings, **overrides})


@asynccontextmanager
async def running(config: HostModeConfig) -> AsyncIterator[HostMode]:
    """A HostMode of `config` running for the block, cancelled and awaited on exit."""
    mode = HostMode(config)
    async with in_background(mode.run()):
        yield mode
