from gateway_contour.provisioner.addresses import LoopbackAllocator


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
