"""Files parsed in threads of their own, so a slow file never holds up a quick one.

`BackgroundParses` runs `parse(path, stop)` for each file it is asked to, one daemon thread
per file: a 50 MB file takes seconds while a small one edited meanwhile is done in
milliseconds, and the watcher serves the small change without waiting. A newer version of a
file (another stamp) stops the parse of the older one; `close` stops them all (the parse
checks `stop` between batches and raises `Stopped`). The threads are daemons, so a process
told to stop never waits for a parse to finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from gateway_contour.providers.fast_documents import Stopped

log = logging.getLogger(__name__)

Stamp = TypeVar("Stamp")  # what tells one version of a file from another (mtime and size)
Result = TypeVar("Result")


class BackgroundParses(Generic[Stamp, Result]):
    def __init__(self, parse: Callable[[Path, threading.Event], Result]) -> None:
        self._parse = parse
        self._lock = threading.Lock()
        self._running: dict[Path, tuple[Stamp, threading.Event]] = {}
        self._finished: list[tuple[Path, Stamp, Result]] = []

    def stamp_of(self, path: Path) -> Stamp | None:
        """The version of `path` being parsed now, or parsed and not yet taken by `finished`
        (a parse that ended after its file was looked at is not started again), if any."""
        with self._lock:
            job = self._running.get(path)
            if job is not None:
                return job[0]
            done = [stamp for p, stamp, _ in self._finished if p == path]
        return done[-1] if done else None

    def idle(self) -> bool:
        """Nothing running and nothing ended that `finished` has not given yet: what was
        started is all in hand."""
        with self._lock:
            return not self._running and not self._finished

    def start(self, path: Path, stamp: Stamp) -> None:
        """Parse `path` (as it is at `stamp`), stopping a parse of another version of it."""
        stop = threading.Event()
        with self._lock:
            older = self._running.get(path)
            if older is not None:
                older[1].set()
            self._running[path] = (stamp, stop)
        name = f"parse {path.name}"
        threading.Thread(target=self._run, args=(path, stamp, stop), name=name, daemon=True).start()

    def cancel(self, path: Path) -> None:
        with self._lock:
            job = self._running.pop(path, None)
        if job is not None:
            job[1].set()

    def finished(self) -> list[tuple[Path, Stamp, Result]]:
        """The parses done since the last call: (path, stamp, result), in the order they ended."""
        with self._lock:
            done, self._finished = self._finished, []
        return done

    def close(self) -> None:
        with self._lock:
            jobs, self._running = list(self._running.values()), {}
        for _, stop in jobs:
            stop.set()

    def _run(self, path: Path, stamp: Stamp, stop: threading.Event) -> None:
        try:
            result = self._parse(path, stop)
        except Stopped:
            return
        except Exception:  # a bug in a parser must not end the watcher: that file is skipped
            log.exception("parsing %s failed", path)
            with self._lock:
                if self._running.get(path, (None, None))[1] is stop:
                    del self._running[path]
            return
        with self._lock:
            if self._running.get(path, (None, None))[1] is not stop:
                return  # a newer version is being parsed, or the watcher closed
            del self._running[path]
            self._finished.append((path, stamp, result))
