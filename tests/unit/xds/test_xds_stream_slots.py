"""StreamSlots: the streams held overall and per peer address (xds/limits.py)."""

from __future__ import annotations

from gateway_contour.xds.limits import StreamSlots, peer_address


def test_peer_address_drops_the_port() -> None:
    assert peer_address("ipv4:10.0.0.1:5000") == "ipv4:10.0.0.1"
    assert peer_address("ipv6:[::1]:5000") == "ipv6:[::1]"
    assert peer_address("unix:/run/xds.sock") == "unix:/run/xds.sock"


def test_slots_are_bounded_overall_and_per_peer_and_given_back() -> None:
    slots = StreamSlots(max_streams=3, max_streams_per_peer=2)
    assert slots.take("ipv4:10.0.0.1:1") is None
    assert slots.take("ipv4:10.0.0.1:2") is None
    assert slots.take("ipv4:10.0.0.1:3") == "more than 2 streams open from ipv4:10.0.0.1"
    assert slots.take("ipv4:10.0.0.2:1") is None
    assert slots.take("ipv4:10.0.0.3:1") == "more than 3 streams open"
    slots.give("ipv4:10.0.0.1:1")
    assert slots.by_peer == {"ipv4:10.0.0.1": 1, "ipv4:10.0.0.2": 1}
    assert slots.take("ipv4:10.0.0.3:1") is None
    for peer in ("ipv4:10.0.0.1:2", "ipv4:10.0.0.2:1", "ipv4:10.0.0.3:1"):
        slots.give(peer)
    assert (slots.held, slots.by_peer) == (0, {})
