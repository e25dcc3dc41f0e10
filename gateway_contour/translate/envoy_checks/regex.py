"""RE2 as Envoy compiles it: syntax and program size.

Envoy's `safe_regex` uses Google RE2 and refuses a pattern whose compiled program is larger
than the runtime value `re2.max_program_size.error_level`, 100 unless set. Our bootstraps
(`envoy/bootstrap.py`, the provisioner's) set no runtime layer, so the limit is 100.

The size is asked of RE2 itself (the `google-re2` bindings), not estimated. Measured against
the Envoy of the venv (1.40), the size Envoy reports is that of the pattern's UTF-8 bytes
compiled in RE2's Latin-1 mode: it agreed on every one of ~120 patterns drawn around the
limit (ASCII and not, classes, case folding, Unicode classes), where the UTF-8 mode size
of the Python bindings overstates `.` and classes several times over and `\\pL` a hundred
times (tests/unit/envoy_checks keeps checking that agreement). Syntax is checked in UTF-8
mode, as Envoy matches.
"""

from __future__ import annotations

from functools import lru_cache

import re2

# Envoy's default for re2.max_program_size.error_level; our bootstraps do not change it
MAX_PROGRAM_SIZE = 100


def _options(latin1: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the reason is returned; RE2 would also print it
    if latin1:
        options.encoding = re2.Options.Encoding.LATIN1
    return options


_UTF8 = _options(latin1=False)
_LATIN1 = _options(latin1=True)


def program_size(pattern: str) -> int:
    """The RE2 program size Envoy computes for `pattern` (which must be valid RE2)."""
    return int(re2.compile(pattern.encode("utf-8"), _LATIN1).programsize)


@lru_cache(maxsize=4096)
def regex_error(pattern: str, max_program_size: int = MAX_PROGRAM_SIZE) -> str | None:
    """Why Envoy would refuse `pattern` as a safe_regex, or None when it loads."""
    if not pattern:
        return "the regular expression is empty"
    try:
        re2.compile(pattern, _UTF8)
        size = program_size(pattern)
    except re2.error as err:
        reason = err.args[0] if err.args else err
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"regular expression {pattern!r} is not valid RE2: {reason}"
    except (UnicodeError, ValueError, TypeError) as err:
        return f"regular expression {pattern!r} is not valid RE2: {err}"
    if size > max_program_size:
        return (
            f"regular expression {pattern!r} is too complex for Envoy: RE2 program size "
            f"{size}, over the limit of {max_program_size}"
        )
    return None
