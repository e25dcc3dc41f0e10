"""Which upb arena a protobuf message lives in, for tests and benchmarks about memory.

With the upb backend a Python message object holds a reference to the arena its data lives
in: a message made by `Message()` gets an arena of its own, a sub-message (`repeated.add()`,
a field read) shares its parent's, and an arena is freed only when no message object holds
it any more. So a kept sub-message keeps all of its parent's memory alive, and "does this
message keep that one's memory alive" is "do they share an arena".

protobuf exposes no API for it: `arena_address` reads the arena pointer of upb's
PyUpb_Message (python/message.c: the first field after PyObject_HEAD). It only reads that
word of a live object and compares addresses, never dereferences them; `check_probe` tells a
layout this does not understand (then the caller should skip, not pass).
"""

from __future__ import annotations

import ctypes
import sys

from google.protobuf.internal import api_implementation
from google.protobuf.message import Message

_HEAD = 2 * ctypes.sizeof(ctypes.c_void_p)  # ob_refcnt, ob_type (CPython, not free-threaded)


def arena_address(message: Message) -> int:
    """The address of the arena object `message` holds (equal for messages sharing one)."""
    value = ctypes.c_void_p.from_address(id(message) + _HEAD).value
    return int(value or 0)


def check_probe() -> str:
    """'' when `arena_address` works on this build, else why not."""
    if api_implementation.Type() != "upb":
        return f"protobuf backend is {api_implementation.Type()}, not upb"
    if getattr(sys, "_is_gil_enabled", lambda: True)() is False:
        return "free-threaded CPython: another object header"
    from google.protobuf import struct_pb2

    parent = struct_pb2.ListValue()
    child = parent.values.add()
    other = struct_pb2.ListValue()
    copied = other.values.add()
    copied.CopyFrom(child)
    if not (
        arena_address(child) == arena_address(parent) != 0
        and arena_address(copied) == arena_address(other) != arena_address(parent)
    ):
        return "upb message layout not understood"
    return ""
