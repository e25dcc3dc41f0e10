"""The stand-in for the coredns image: a DNS server over UDP that answers like coredns's
`whoami` plugin for the zones the Corefile gives `whoami`, and refuses everything else.

The suite's Corefile (base manifests, ConfigMap coredns) forwards "." to public resolvers
and serves "foo.bar.com" with `whoami`; GATEWAY-UDP sends its queries for foo.bar.com. This
server never forwards anything off the machine: a query outside a whoami zone gets REFUSED.
A whoami answer holds an A (or AAAA) record of the client's address under the queried name,
as coredns puts in its additional section.

    python -m conformance.harness.dns_whoami -conf /path/to/Corefile [-dns.port 53]
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import socket
import struct
import sys

_BLOCK = re.compile(r"^\s*([^\s{]+)\s*\{(.*?)^\s*\}", re.M | re.S)
TYPE_A, TYPE_AAAA, CLASS_IN = 1, 28, 1
RCODE_FORMERR, RCODE_REFUSED = 1, 5


def whoami_zones(corefile: str) -> list[str]:
    """Zones ("foo.bar.com.") whose server block uses the whoami plugin."""
    zones = []
    for keys, body in _BLOCK.findall(corefile):
        if re.search(r"^\s*whoami\s*$", body, re.M):
            for key in keys.split(","):
                zone = key.strip().split("://")[-1].rsplit(":", 1)[0].rstrip(".").lower()
                zones.append(zone + "." if zone not in ("", ".") else ".")
    return zones


def _read_name(packet: bytes, offset: int) -> tuple[str, int]:
    labels = []
    while True:
        length = packet[offset]
        offset += 1
        if length == 0:
            return ".".join(labels).lower() + ".", offset
        if length & 0xC0:
            raise ValueError("compressed names are not expected in a question")
        labels.append(packet[offset : offset + length].decode("ascii"))
        offset += length


def answer(query: bytes, client: str, zones: list[str]) -> bytes | None:
    """The response to one query packet, or None when it is not a query at all."""
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000:  # a response, not a query
        return None
    header_flags = 0x8000 | (flags & 0x0100)  # QR, and RD copied
    try:
        if qdcount != 1:
            raise ValueError("one question expected")
        name, end = _read_name(query, 12)
        qtype, qclass = struct.unpack("!HH", query[end : end + 4])
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return struct.pack("!HHHHHH", ident, header_flags | RCODE_FORMERR, 0, 0, 0, 0)
    question = query[12 : end + 4]
    if not any(name == z or name.endswith("." + z) or z == "." for z in zones):
        flags_out = header_flags | RCODE_REFUSED
        return struct.pack("!HHHHHH", ident, flags_out, 1, 0, 0, 0) + question
    address = ipaddress.ip_address(client)
    rtype = TYPE_A if address.version == 4 else TYPE_AAAA
    records = b""
    if qclass == CLASS_IN and qtype in (rtype, 255):
        # owner: a pointer to the question's name (offset 12)
        rdata = address.packed
        records = struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, 0, len(rdata)) + rdata
    flags_out = header_flags | 0x0400  # authoritative
    count = 1 if records else 0
    return struct.pack("!HHHHHH", ident, flags_out, 1, count, 0, 0) + question + records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-conf", required=True)
    parser.add_argument("-dns.port", dest="port", type=int, default=53)
    args, _unknown = parser.parse_known_args(argv)
    with open(args.conf) as f:
        zones = whoami_zones(f.read())
    print(f"whoami zones: {', '.join(zones) or '(none)'}; refusing the rest", flush=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", args.port))
    while True:
        packet, peer = sock.recvfrom(4096)
        reply = answer(packet, peer[0], zones)
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    sys.exit(main())
