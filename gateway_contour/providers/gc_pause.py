"""The cyclic garbage collector held off while a large file is decoded.

Decoding 50 MB of YAML makes ~10 million containers that are all kept; each generation-2
collection walks every one of them, and with the collector on the load takes 1.4x as long.
The collector is process-wide, so nested and concurrent pauses (two files parsed in two
threads) are counted, and it is enabled again when the last one ends, if it was on before.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
