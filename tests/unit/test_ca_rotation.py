"""RotatingTrust: a rotated-out CA is trusted for the grace period, then dropped, with a log
line for each (certs/rotation.py). A fake clock."""

from __future__ import annotations

import logging

import pytest

from gateway_contour.certs.rotation import RotatingTrust


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_previous_ca_is_trusted_until_the_grace_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway_contour.certs")
    clock = Clock()
    trust = RotatingTrust(b"old", grace=60, clock=clock)
    assert trust.trusted() == [b"old"]
    assert not trust.rotate(b"old")  # unchanged: no rotation
    assert trust.rotate(b"new")
    assert trust.trusted() == [b"new", b"old"] and trust.in_grace
    assert "stays trusted for 60 s" in caplog.text
    clock.now += 59.9
    assert trust.trusted() == [b"new", b"old"]
    assert not trust.expire()
    clock.now += 0.1
    assert trust.expire()  # dropped now, and said once
    assert not trust.expire()
    assert trust.trusted() == [b"new"] and not trust.in_grace
    assert caplog.text.count("no longer trusted") == 1


def test_a_second_rotation_keeps_only_the_one_before_it() -> None:
    clock = Clock()
    trust = RotatingTrust(b"a", grace=60, clock=clock)
    trust.rotate(b"b")
    clock.now += 30
    trust.rotate(b"c")  # a fresh grace for b; a is gone
    clock.now += 45
    assert trust.trusted() == [b"c", b"b"]


def test_no_grace_drops_the_previous_ca_at_once() -> None:
    trust = RotatingTrust(b"old", grace=0)
    assert trust.rotate(b"new")
    assert trust.trusted() == [b"new"]
