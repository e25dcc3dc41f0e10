"""Header values as Envoy reads them: text with substitution commands.

Envoy treats a `%` in a header value (request or response, route or cluster level) as the
start of a command: `%NAME%`, `%NAME(ARGS)%`, `%NAME(ARGS):N%` or `%NAME:N%` (N truncates
the result), with NAME of capitals, digits and underscores; `%%` is a literal `%`. Anything
else after a `%` ("100%", "50% off") makes Envoy refuse the whole route configuration
("Couldn't find valid command at position ..."), and so does a NAME it does not know ("Not
supported field in StreamInfo: ..."), and a value over 16 KiB. `header_value_error` says which
of these a value breaks; `split` gives the literal text and the commands of a value that has
no error (used to rewrite values, e.g. HTTPProxy's escaping).

The commands listed here are the ones Envoy's documentation of access-log and header
formatting names (checked against the Envoy in the venv by tests/unit/envoy_checks); a
command Envoy may know but this list does not is refused, the safe side of the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# HeaderValue.value's length limit in Envoy's API (config.core.v3.HeaderValue)
MAX_VALUE_BYTES = 16_384
# commands that take no argument
PLAIN_COMMANDS = frozenset(
    {
        "BYTES_RECEIVED",
        "BYTES_SENT",
        "CONNECTION_ID",
        "CONNECTION_TERMINATION_DETAILS",
        "DOWNSTREAM_DIRECT_REMOTE_ADDRESS",
        "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT",
        "DOWNSTREAM_LOCAL_ADDRESS",
        "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
        "DOWNSTREAM_LOCAL_DNS_SAN",
        "DOWNSTREAM_LOCAL_PORT",
        "DOWNSTREAM_LOCAL_SUBJECT",
        "DOWNSTREAM_LOCAL_URI_SAN",
        "DOWNSTREAM_PEER_CERT",
        "DOWNSTREAM_PEER_DNS_SAN",
        "DOWNSTREAM_PEER_FINGERPRINT_1",
        "DOWNSTREAM_PEER_FINGERPRINT_256",
        "DOWNSTREAM_PEER_ISSUER",
        "DOWNSTREAM_PEER_SERIAL",
        "DOWNSTREAM_PEER_SUBJECT",
        "DOWNSTREAM_PEER_URI_SAN",
        "DOWNSTREAM_REMOTE_ADDRESS",
        "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
        "DOWNSTREAM_REMOTE_PORT",
        "DOWNSTREAM_TLS_CIPHER",
        "DOWNSTREAM_TLS_SESSION_ID",
        "DOWNSTREAM_TLS_VERSION",
        "DURATION",
        "HOSTNAME",
        "PROTOCOL",
        "REQUEST_DURATION",
        "REQUESTED_SERVER_NAME",
        "RESPONSE_CODE",
        "RESPONSE_CODE_DETAILS",
        "RESPONSE_DURATION",
        "RESPONSE_FLAGS",
        "ROUTE_NAME",
        "UPSTREAM_CLUSTER",
        "UPSTREAM_HOST",
        "UPSTREAM_LOCAL_ADDRESS",
        "UPSTREAM_REMOTE_ADDRESS",
        "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
        "UPSTREAM_REMOTE_PORT",
        "UPSTREAM_TRANSPORT_FAILURE_REASON",
    }
)
# commands that need an argument: REQ(x-name), RESP(...), DYNAMIC_METADATA(ns:key), ...
ARGUMENT_COMMANDS = frozenset(
    {
        "DYNAMIC_METADATA",
        "ENVIRONMENT",
        "FILTER_STATE",
        "REQ",
        "RESP",
        "TRAILER",
        "UPSTREAM_METADATA",
    }
)
# commands whose argument may be left out (a time format)
OPTIONAL_ARGUMENT_COMMANDS = frozenset({"START_TIME"})
# REQ/RESP/TRAILER name a header, or two: "x-a?x-b" (the second when the first is absent)
_HEADER_ARGUMENT_COMMANDS = frozenset({"REQ", "RESP", "TRAILER"})
_HEADER_ARGUMENT = re.compile(r"^[A-Za-z0-9!#$&'*+\-.^_`|~:]+(\?[A-Za-z0-9!#$&'*+\-.^_`|~:]+)?$")

_COMMAND = re.compile(r"%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::([0-9]+))?%")
_FORBIDDEN = re.compile(r"[\x00\r\n]")
# an unpaired surrogate (a YAML "\\ud800" escape) is no character: no UTF-8 encodes it
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Command:
    """One `%NAME(ARGUMENT):LENGTH%` of a header value, as written (`text`)."""

    text: str
    name: str
    argument: str | None = None
    length: int | None = None


Part = str | Command  # literal text (with `%%` already read as "%") or a command


def split(value: str) -> tuple[list[Part], str | None]:
    """The parts of `value` in order, and the first syntax error (then the parts are those
    read before it). Command names are not checked here."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(value):
        at = value.find("%", i)
        if at < 0:
            literal.append(value[i:])
            break
        literal.append(value[i:at])
        if value.startswith("%%", at):
            literal.append("%")
            i = at + 2
            continue
        command = command_at(value, at)
        if command is None:
            return _close(parts, literal), (
                f"'%' at position {at} starts no command (write '%%' for a literal '%')"
            )
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(command)
        i = at + len(command.text)
    return _close(parts, literal), None


def command_at(value: str, at: int) -> Command | None:
    """The command that starts at `value[at]` (a '%'), or None when none does."""
    found = _COMMAND.match(value, at)
    if found is None:
        return None
    length = found.group(3)
    return Command(found.group(0), found.group(1), found.group(2), int(length) if length else None)


def _close(parts: list[Part], literal: list[str]) -> list[Part]:
    if "".join(literal):
        parts.append("".join(literal))
    return parts


def command_error(command: Command) -> str | None:
    """Why Envoy would refuse this command, or None."""
    name, argument = command.name, command.argument
    if name in PLAIN_COMMANDS:
        if argument is not None or command.length is not None:
            return f"{command.text}: {name} takes no argument or length"
        return None
    if name in ARGUMENT_COMMANDS:
        if not argument:
            return f"{command.text}: {name} needs an argument"
        if name in _HEADER_ARGUMENT_COMMANDS and not _HEADER_ARGUMENT.match(argument):
            return f"{command.text}: {argument!r} is not a header name"
        return None
    if name in OPTIONAL_ARGUMENT_COMMANDS:
        if command.length is not None:
            return f"{command.text}: {name} takes no length"
        return None
    return f"{command.text}: {name} is not a command Envoy accepts in a header value"


def control_error(value: str) -> str | None:
    """Why Envoy would refuse `value` anywhere a header value goes (a literal one too)."""
    if _FORBIDDEN.search(value):
        return "the value contains a line break or NUL"
    if _SURROGATE.search(value):
        return "the value contains an unpaired surrogate, which no UTF-8 text can hold"
    if (size := len(value.encode())) > MAX_VALUE_BYTES:
        return f"the value is {size} bytes; Envoy takes at most {MAX_VALUE_BYTES}"
    return None


@lru_cache(maxsize=4096)
def header_value_error(value: str) -> str | None:
    """Why Envoy would refuse `value` as a header value, or None."""
    if reason := control_error(value):
        return reason
    parts, error = split(value)
    if error is not None:
        return error
    for part in parts:
        if isinstance(part, Command) and (reason := command_error(part)):
            return reason
    return None
