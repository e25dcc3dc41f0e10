"""Processes that outlive the controller: started detached, watched by pid.

Envoy asks the kernel at startup for a SIGTERM when its parent dies (prctl
PR_SET_PDEATHSIG; seen with strace), so a new session is not enough: an Envoy whose parent
is the controller dies with a SIGKILLed controller. Here the controller is never the
parent. It runs this file as a launcher (the same Python, isolated, standard library only),
which forks the program's process and exits; that process starts its own session, sends
its stdout and stderr to a log file (no pipe back to the controller to break), reads
/dev/null, waits until the launcher is gone (it is then a child of init, or of the nearest
subreaper) and only then execs the program. The launcher prints the pid it forked.

`DetachedProcess` names such a process by pid and start time (from /proc/<pid>/stat), so
a pid the kernel reused for another process is never taken for it, whether the controller
started it or found it again after a restart. It is not our child: its exit status is not
ours to collect, only whether it still runs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), None if no such live process."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        return None
    return int(fields[19])


def command_line(pid: int) -> list[str]:
    """The argv of `pid`, empty if it is gone."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


@dataclass(frozen=True, slots=True)
class DetachedProcess:
    pid: int
    started: int  # start_time(pid) when we began to watch it

    @classmethod
    def find(cls, pid: int, started: int, argument: str) -> DetachedProcess | None:
        """The live process `pid` if it is the one that started at `started` and has
        `argument` in its command line; None otherwise (gone, or the pid is reused)."""
        process = cls(pid, started)
        if process.running() and argument in command_line(pid):
            return process
        return None

    def running(self) -> bool:
        return start_time(self.pid) == self.started

    def signal(self, signum: int) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def wait(self, timeout: float) -> bool:
        """Whether the process is gone within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


def launch(argv: list[str], log_path: Path) -> DetachedProcess:
    """Start `argv` detached (see the module docstring), appending its output to
    `log_path`; returns once its pid is known."""
    done = subprocess.run(
        [sys.executable, "-I", __file__, str(log_path), *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise OSError(f"launching {argv[0]} failed: {done.stderr.decode(errors='replace')}")
    pid = int(done.stdout)
    started = start_time(pid)
    if started is None:
        raise OSError(f"{argv[0]} (pid {pid}) exited at once; see {log_path}")
    return DetachedProcess(pid, started)


def _detach_and_exec(log_path: str, argv: list[str], launcher: int) -> None:
    """In the forked process: own session, output to the log, then exec once orphaned."""
    try:
        os.setsid()
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null_fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null_fd, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        os.close(null_fd)
        while os.getppid() == launcher:  # the launcher exits right after printing our pid
            time.sleep(0.001)
        os.execvp(argv[0], argv)
    except OSError as err:
        os.write(2, f"gateway-contour launcher: {argv[0]}: {err}\n".encode())
    os._exit(127)


def _main(args: list[str]) -> None:
    log_path, argv = args[0], args[1:]
    launcher = os.getpid()
    pid = os.fork()
    if pid == 0:
        _detach_and_exec(log_path, argv, launcher)
    sys.stdout.write(f"{pid}\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    _main(sys.argv[1:])
