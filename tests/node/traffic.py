"""A bounded request loop against one route, run beside a lifecycle event: a thread sends
GETs one after another, each on a new connection (a client that reconnects), and counts
every outcome: the status code, or the name of the error when nothing answered."""

from __future__ import annotations

import threading
import time
from collections import Counter
from types import TracebackType

from tests.node.objects import get

LIMIT_S = 600.0  # the loop stops by itself after this, whatever the test does


class Traffic:
    def __init__(self, address: str, host: str) -> None:
        self.url = f"http://{address}/hello"
        self.host = host
        self.outcomes: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._sent = threading.Condition()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        deadline = time.monotonic() + LIMIT_S
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                outcome: int | str = get(self.url, host=self.host)[0]
            except OSError as error:
                outcome = type(error).__name__
            with self._sent:
                self.outcomes[outcome] += 1
                self._sent.notify_all()

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    def more(self, count: int, timeout: float = 60.0) -> None:
        """Wait until `count` more requests have had their outcome (traffic went on)."""
        with self._sent:
            target = self.sent + count
            assert self._sent.wait_for(lambda: self.sent >= target, timeout), self.outcomes

    def failures(self) -> dict[int | str, int]:
        return {k: v for k, v in self.outcomes.items() if k != 200}

    def __enter__(self) -> Traffic:
        self._thread.start()
        self.more(5)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        print(f"traffic to {self.host}: {dict(self.outcomes)}")
