"""Host mode as a real process (`python -m gateway_contour.cli run ...`), for the tests that
must kill the controller the way a crash does (SIGKILL) or stop it as an operator does
(SIGTERM). Its output goes to a log file that `wait_for_line` watches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.http_client import eventually


@dataclass
class ControllerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, args: list[str], log_path: Path) -> ControllerProcess:
        """`gateway-contour <args>` in its own session, its output appended to `log_path`."""
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway_contour.cli", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process, log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_for_line(self, text: str, timeout: float = 20.0) -> None:
        """Until the log has a line containing `text` (fails if the process exits first)."""

        async def probe() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"controller exited:\n{self.log()}")
            return any(text in line for line in self.log().splitlines())

        await eventually(probe, bool, timeout=timeout)

    def signal(self, signum: int, timeout: float = 30.0) -> int:
        """Send `signum` and wait for the exit; returns the exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGKILL)
