"""Which local IP addresses some process on this host already listens on, from /proc/net.

Host mode gives each Gateway a loopback address of its own. Envoy binds its listeners with
SO_REUSEPORT, so a second Envoy on an address:port another one holds does not fail: the
kernel shares the connections between the two, and half of the clients reach a stranger's
routes (another controller on the same host, the quickstart beside a test run, an Envoy left
behind). The allocator therefore skips addresses that have a listening TCP socket or a bound
UDP socket on them. Wildcard binds (0.0.0.0, ::) do not count: they hold a port, not an
address. Linux only; elsewhere nothing is reported in use.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"  # a bound UDP socket, the state a UDP listener stays in

_TABLES = (
    ("tcp", TCP_LISTEN),
    ("tcp6", TCP_LISTEN),
    ("udp", UDP_UNCONNECTED),
    ("udp6", UDP_UNCONNECTED),
)


def _address(hex_address: str) -> str:
    """/proc/net's local address (the IP in host byte order, 32-bit words) as text."""
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("=I", struct.unpack(">I", raw)[0]))
    words = struct.unpack(">4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack("=4I", *words))


def parse_table(text: str, state: str) -> set[str]:
    """The local addresses of the rows of one /proc/net table in `state`."""
    out: set[str] = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != state:
            continue
        hex_address = fields[1].partition(":")[0]
        try:
            address = ipaddress.ip_address(_address(hex_address))
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_unspecified:
            out.add(str(address))
    return out


def listening_addresses(proc: Path = Path("/proc/net")) -> set[str]:
    """Every specific local address with a TCP listener or a bound UDP socket on it."""
    out: set[str] = set()
    for table, state in _TABLES:
        try:
            text = (proc / table).read_text()
        except OSError:
            continue
        out |= parse_table(text, state)
    return out
