"""Host-mode addresses: loopback allocation, static addresses and which ones are usable."""

from __future__ import annotations

import socket
from typing import Any

from gateway_contour.provisioner.addresses import HostAddresses, LoopbackAllocator
from gateway_contour.provisioner.listening import listening_addresses, parse_table
from gateway_contour.store.objects import Snapshot


def test_addresses_are_distinct_sticky_and_reused_after_release() -> None:
    alloc = LoopbackAllocator(first="127.0.1.253")
    first = alloc.assign(["ns/b", "ns/a"])
    # sorted order; .255 and .0 of the next block are skipped
    assert first == {"ns/a": "127.0.1.253", "ns/b": "127.0.1.254"}
    second = alloc.assign(["ns/b", "ns/c"])
    assert second["ns/b"] == "127.0.1.254"  # sticky
    assert second["ns/c"] == "127.0.1.253"  # ns/a's address was released and reused
    third = alloc.assign(["ns/b", "ns/c", "ns/d"])
    assert third["ns/d"] == "127.0.2.1"
    assert len(set(third.values())) == 3


def test_an_address_another_process_listens_on_is_skipped() -> None:
    # Envoy binds with SO_REUSEPORT: a second fleet on the same address:port would silently
    # get half of the first one's connections
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
    ):
        tcp.bind(("127.0.9.1", 0))
        tcp.listen()
        udp.bind(("127.0.9.2", 0))
        assert {"127.0.9.1", "127.0.9.2"} <= listening_addresses()
        alloc = LoopbackAllocator(first="127.0.9.1")
        assert alloc.assign(["ns/a", "ns/b"]) == {"ns/a": "127.0.9.3", "ns/b": "127.0.9.4"}
    # sticky: the first owner leaving changes nothing for those already assigned
    assert alloc.assign(["ns/a", "ns/b", "ns/c"]) == {
        "ns/a": "127.0.9.3",
        "ns/b": "127.0.9.4",
        "ns/c": "127.0.9.1",
    }


def test_proc_net_rows_give_specific_listening_addresses_only() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n"  # 127.0.0.1:8080 LISTEN
        "   1: 00000000:0050 00000000:0000 0A 00000000:00000000\n"  # 0.0.0.0:80: a port only
        "   2: 0201007F:1F90 0100007F:D431 01 00000000:00000000\n"  # ESTABLISHED: not a listener
    )
    assert parse_table(table, "0A") == {"127.0.0.1"}
    six = (
        "  sl  local_address                         remote_address  st\n"
        "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A\n"
        "   1: 0000000000000000FFFF00000101007F:0050 00000000000000000000000000000000:0000 0A\n"
    )
    assert parse_table(six, "0A") == {"::1", "127.0.1.1"}


def test_static_addresses_win_and_are_not_allocated_to_others() -> None:
    alloc = LoopbackAllocator(first="127.0.1.1")
    out = alloc.assign(["ns/a", "ns/b"], static={"ns/a": "127.0.1.2", "ns/b": "127.0.1.1"})
    assert out == {"ns/a": "127.0.1.2", "ns/b": "127.0.1.1"}
    out = alloc.assign(["ns/a", "ns/c"], static={"ns/a": "127.0.1.2"})
    assert out["ns/a"] == "127.0.1.2"
    assert out["ns/c"] not in ("127.0.1.2",)


def test_host_addresses_usable_only_when_bindable() -> None:
    host = HostAddresses()
    assert host.usable("IPAddress", "127.1.0.1")  # any loopback address
    assert host.usable("IPAddress", "::1")
    assert not host.usable("IPAddress", "192.0.2.1")  # TEST-NET-1: no interface holds it
    assert not host.usable("IPAddress", "not an address")
    assert not host.usable("Hostname", "gateway.example.com")


def test_static_addresses_of_our_gateways() -> None:
    snapshot = Snapshot.of(
        [
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "GatewayClass",
                "metadata": {"name": "ours"},
                "spec": {"controllerName": "me"},
            },
            _gateway(
                "a", "ours", [{"value": "192.0.2.1"}, {"type": "IPAddress", "value": "127.1.0.1"}]
            ),
            _gateway("b", "ours", [{"type": "Hostname", "value": "gw.example.com"}]),
            _gateway("c", "theirs", [{"value": "127.1.0.2"}]),
        ]
    )
    assert HostAddresses().static_addresses(snapshot, "me") == {"ns/a": "127.1.0.1"}


def _gateway(name: str, gateway_class: str, addresses: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"gatewayClassName": gateway_class, "addresses": addresses, "listeners": []},
    }
