"""conformance/harness/dns_whoami.py, the coredns stand-in: which zones it answers (from the
suite's own Corefile), what it answers, and that it refuses instead of forwarding; once as a
real server on a UDP socket."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from conformance.harness.dns_whoami import answer, whoami_zones

COREFILE = """\
.:53 {
    forward . 8.8.8.8 9.9.9.9
    log
    errors
}
foo.bar.com:53 {
  whoami
}
"""


def query(name: str, qtype: int = 1, ident: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return (
        struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack("!HH", qtype, 1)
    )


def test_zones_of_the_suite_corefile() -> None:
    assert whoami_zones(COREFILE) == ["foo.bar.com."]


def test_whoami_answer_carries_the_client_address() -> None:
    reply = answer(query("foo.bar.com"), "10.220.0.7", ["foo.bar.com."])
    assert reply is not None
    ident, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert (ident, qd, an) == (0x1234, 1, 1)
    assert flags & 0x8000 and flags & 0x000F == 0  # a response, NOERROR
    assert reply.endswith(socket.inet_aton("10.220.0.7"))


def test_names_outside_whoami_zones_are_refused_not_forwarded() -> None:
    reply = answer(query("example.org"), "10.220.0.7", ["foo.bar.com."])
    assert reply is not None
    flags, an = struct.unpack("!H", reply[2:4])[0], struct.unpack("!H", reply[6:8])[0]
    assert flags & 0x000F == 5 and an == 0  # REFUSED
    # two questions: FORMERR; a response packet: ignored
    garbage = answer(struct.pack("!HHHHHH", 1, 0x0100, 2, 0, 0, 0), "1.2.3.4", [])
    assert garbage is not None and struct.unpack("!H", garbage[2:4])[0] & 0x000F == 1
    assert answer(b"\x00\x01\x80\x00" + b"\0" * 8, "1.2.3.4", []) is None


def test_served_over_udp(tmp_path: Path) -> None:
    corefile = tmp_path / "Corefile"
    corefile.write_text(COREFILE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(__file__).resolve().parents[2] / "conformance" / "harness" / "dns_whoami.py"
    server = subprocess.Popen(
        [sys.executable, str(script), "-conf", str(corefile), "-dns.port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(0.2)
            deadline = time.monotonic() + 10
            while True:  # until the server has bound its socket
                client.sendto(query("foo.bar.com", ident=7), ("127.0.0.1", port))
                try:
                    reply = client.recv(512)
                    break
                except TimeoutError:
                    assert time.monotonic() < deadline, "no DNS answer"
        assert struct.unpack("!H", reply[:2])[0] == 7
        assert reply.endswith(socket.inet_aton("127.0.0.1"))
    finally:
        server.terminate()
        server.wait(timeout=5)
