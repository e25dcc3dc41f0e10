"""Demo backends answer for real; the console status logs only what changed."""

from __future__ import annotations

import json
import logging
import urllib.request

import pytest

from gateway_contour.demo.backends import loopback_endpoints
from gateway_contour.demo.echo import start_echo
from gateway_contour.status.console import ConsoleStatus
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import ObjectKey


def test_echo_backend_names_itself_and_echoes_the_request() -> None:
    backend = start_echo("one")
    try:
        req = urllib.request.Request(
            f"http://127.0.0.1:{backend.port}/a/b?c=d", headers={"X-Test": "yes"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = json.loads(resp.read())
            assert resp.headers["Content-Type"] == "application/json"
        assert body["backend"] == "one"
        assert body["path"] == "/a/b?c=d"
        assert body["headers"]["x-test"] == "yes"
    finally:
        backend.stop()


def test_loopback_endpoints_come_from_endpoint_slices_only() -> None:
    objects = [
        {
            "kind": "EndpointSlice",
            "metadata": {"name": "s-abc", "labels": {"kubernetes.io/service-name": "s"}},
            "ports": [{"port": 9001}],
            "endpoints": [{"addresses": ["127.0.0.1", "10.0.0.1", "not-an-ip"]}],
        },
        {"kind": "Service", "metadata": {"name": "t"}},
    ]
    assert loopback_endpoints(objects) == [("s", "127.0.0.1", 9001)]


def _route_status(accepted: bool) -> dict:
    return {
        "parents": [
            {
                "parentRef": {"name": "gw", "namespace": "default"},
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": str(accepted),
                        "reason": "Accepted" if accepted else "NoMatchingParent",
                        "message": "m",
                    }
                ],
            }
        ]
    }


def test_console_logs_changes_once(caplog: pytest.LogCaptureFixture) -> None:
    key = ObjectKey("HTTPRoute", "default", "r")
    console = ConsoleStatus()
    caplog.set_level(logging.INFO, logger="gateway_contour.status")
    console.publish(StatusReport(statuses={key: _route_status(False)}))
    console.publish(StatusReport(statuses={key: _route_status(False)}))
    console.publish(StatusReport(statuses={key: _route_status(True)}))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "HTTPRoute default/r: parent default/gw: Accepted=False (NoMatchingParent): m",
        "HTTPRoute default/r: ok",
    ]
