"""Issue 22: SIGTERM stops `gateway-contour run` while it is still reading a large file.

The file's documents carry a tag, which the fast path leaves to PyYAML, so the read takes
tens of seconds; the signal is sent once the controller has logged that the read started, and
the process must exit without having logged the end of it (the parse was stopped, not waited
for)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway_contour.provisioner.host import free_port

pytestmark = pytest.mark.e2e

SLOW_DOC = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {k: !!str v}\n---\n"


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    """Until `text` is in the log (or the process ended, which fails the test)."""
    deadline = time.monotonic() + 60
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, f"no {text!r} in 60 s"
        time.sleep(0.02)


def test_sigterm_stops_the_controller_while_a_large_file_is_read(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    with (config_dir / "big.yaml").open("w") as out:
        for i in range(150_000):
            out.write(SLOW_DOC % i)
    executable = Path(sys.executable).parent / "gateway-contour"
    command = [str(executable), "run", "--config-dir", str(config_dir)]
    command += ["--xds-port", str(free_port())]
    log_path = tmp_path / "controller.log"
    with log_path.open("wb") as log:
        controller = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for_line(log_path, "reading big.yaml", controller)
        controller.send_signal(signal.SIGTERM)
        code = controller.wait(30)
    finally:
        if controller.poll() is None:
            os.kill(controller.pid, signal.SIGKILL)
            controller.wait()
    text = log_path.read_text(errors="replace")
    assert "read big.yaml:" not in text, text[-2000:]
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), text[-2000:]
