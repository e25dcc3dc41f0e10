"""HTTPProxy header policy values as Contour turns them into Envoy header values.

A `%` in a value is literal unless it starts one of the variables Contour lets through:

- the Envoy variables of Contour's header-policy documentation (`ENVOY_VARIABLES`, and
  `%REQ(header-name)%`), kept as they are for Envoy to fill in;
- Contour's own `%CONTOUR_NAMESPACE%` (route and service policies), `%CONTOUR_SERVICE_NAME%`
  and `%CONTOUR_SERVICE_PORT%` (service policies only), replaced by the proxy's namespace
  and the service's name and port. Where one cannot be expanded (a service variable in a
  route policy) it stays literal text.

Every other `%` is escaped to `%%` (so "100%" reaches clients as "100%", and "%FOO%" as
"%FOO%"), which is why no HTTPProxy header value can make Envoy refuse the configuration.
A Host value is not a header value for Envoy but a host rewrite (taken literally), so
`contour_value` is not applied to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway_contour.translate.envoy_checks.header_values import (
    PLAIN_COMMANDS,
    Command,
    command_at,
    command_error,
)

# the downstream connection and TLS variables, HOSTNAME, PROTOCOL, UPSTREAM_REMOTE_ADDRESS
ENVOY_VARIABLES = frozenset(
    name
    for name in PLAIN_COMMANDS
    if name.startswith(("DOWNSTREAM_LOCAL_", "DOWNSTREAM_PEER_", "DOWNSTREAM_REMOTE_"))
    or name.startswith("DOWNSTREAM_TLS_")
    or name in ("HOSTNAME", "PROTOCOL", "UPSTREAM_REMOTE_ADDRESS")
)
HOST_HEADERS = frozenset({"host", ":authority"})


def route_variables(namespace: str) -> dict[str, str]:
    return {"CONTOUR_NAMESPACE": namespace}


def service_variables(namespace: str, service: str, port: object) -> dict[str, str]:
    return {
        "CONTOUR_NAMESPACE": namespace,
        "CONTOUR_SERVICE_NAME": service,
        "CONTOUR_SERVICE_PORT": str(port),
    }


def contour_value(value: str, variables: Mapping[str, str]) -> str:
    """`value` as an Envoy header value (see the module docstring)."""
    pieces: list[str] = []
    done = 0  # value[:done] is in pieces
    at = value.find("%")
    while at >= 0:
        command = command_at(value, at)
        kept = _kept(command, variables) if command is not None else None
        pieces += [value[done:at], "%%" if kept is None else kept]
        done = at + (1 if kept is None or command is None else len(command.text))
        at = value.find("%", done)
    pieces.append(value[done:])
    return "".join(pieces)


def _kept(command: Command, variables: Mapping[str, str]) -> str | None:
    """What a command becomes: its variable's value, itself (an Envoy variable Contour lets
    through), or None (then its '%' is literal)."""
    bare = command.text == f"%{command.name}%"
    if bare and command.name in variables:
        return variables[command.name].replace("%", "%%")
    if command.name == "REQ":
        return command.text if command_error(command) is None else None
    return command.text if bare and command.name in ENVOY_VARIABLES else None
