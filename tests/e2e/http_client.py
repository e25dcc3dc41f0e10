"""A small blocking HTTP client for tests (http.client), run off the event loop, and a
helper that awaits a condition with a deadline instead of sleeping blindly."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def backend(self) -> str | None:
        """The echo backend that answered, if one did."""
        if self.status != 200 or not self.body.startswith(b"{"):
            return None
        return str(self.json().get("backend"))


def request(
    address: str,
    port: int,
    path: str = "/",
    host: str | None = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    conn: http.client.HTTPConnection | None = None,
    timeout: float = 5.0,
) -> Response:
    own = conn is None
    c = conn or http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if host:
            hdrs["Host"] = host
        c.request(method, path, headers=hdrs)
        r = c.getresponse()
        body = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        if own:
            c.close()


async def arequest(*args: Any, **kwargs: Any) -> Response:
    return await anyio.to_thread.run_sync(lambda: request(*args, **kwargs))


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    timeout: float = 20.0,
    interval: float = 0.05,
) -> T:
    """Call `probe` until `accept` holds for its result; fail with the last result at the
    deadline. Connection errors count as not-yet."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await probe()
            if accept(last):
                return last
        except (OSError, http.client.HTTPException) as err:
            last = err
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {last!r}")
        await anyio.sleep(interval)
