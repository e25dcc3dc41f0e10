"""Issue 21, blast radius, the fallback: a value Envoy refuses that the per-object checks
(translate/envoy_checks/) do not catch is still kept to its object. Served by host mode to
real Envoys: an HTTPRoute setting the Host response header, an HTTPProxy response timeout
and an Ingress response-timeout annotation past protobuf's Duration range (ten thousand
years), added at once beside good objects. Envoy NACKs both fleets; the controller bisects
the change with `envoy --mode validate`, withholds the three objects and re-sends the rest.
Each bad object's status (a problem, for Ingress) carries Envoy's message, every other route
answers 200 from its backend, and the NACK counter of /metrics stays put once the re-sent
versions are ACKed, through more pushes. Over Delta and over State of the World xDS."""

from __future__ import annotations

import math
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway_contour.app import HostMode
from gateway_contour.envoy.resources import CLUSTER, LISTENER, ROUTE
from gateway_contour.provisioner.host import free_port
from gateway_contour.translate import go_duration
from gateway_contour.xds.stats import XdsStats
from tests.e2e.host_world import HostWorld, ingress_yaml
from tests.e2e.http_client import Response, arequest, eventually
from tests.e2e.test_host_mode import gateway_yaml

pytestmark = pytest.mark.e2e

LEGACY_FLEET = "projectcontour/contour"  # the Ingress/HTTPProxy fleet; the Gateway's: default/web
TEN_THOUSAND_YEARS = "100000000h"  # 3.6e11 s: past protobuf's Duration (3.2e11 s)


def route_yaml(name: str, path: str, backend: str, filters: str = "[]") -> str:
    return textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {{name: {name}, namespace: default}}
        spec:
          parentRefs: [{{name: web}}]
          rules:
          - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
            filters: {filters}
            backendRefs: [{{name: {backend}, port: 80}}]
        """)


def proxy_yaml(name: str, backend: str, route_extra: str = "{}") -> str:
    return textwrap.dedent(f"""\
        apiVersion: projectcontour.io/v1
        kind: HTTPProxy
        metadata: {{name: {name}, namespace: default}}
        spec:
          virtualhost: {{fqdn: {name}.example.com}}
          routes:
          - services: [{{name: {backend}, port: 80}}]
            <<: {route_extra}
        """)


GOOD = "---\n".join(
    [
        proxy_yaml("plain", "api"),
        ingress_yaml("plain-ingress", [("plain-ingress.example.com", [("/", "Prefix", "app")])]),
    ]
)

BAD_HOST = (
    "[{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: Host, value: x}]}}]"
)


def change_yaml() -> str:
    return "---\n".join(
        [
            route_yaml("host-header", "/host-header", "app", BAD_HOST),
            route_yaml("later", "/later", "app"),
            proxy_yaml("slow", "app", f"{{timeoutPolicy: {{response: {TEN_THOUSAND_YEARS}}}}}"),
            proxy_yaml("later", "app"),
            ingress_yaml(
                "slow-ingress",
                [("slow-ingress.example.com", [("/", "Prefix", "app")])],
                annotations={"projectcontour.io/response-timeout": TEN_THOUSAND_YEARS},
            ),
            ingress_yaml(
                "later-ingress", [("later-ingress.example.com", [("/", "Prefix", "api")])]
            ),
        ]
    )


@dataclass
class Served:
    world: HostWorld
    mode: HostMode
    gateway_port: int

    async def gateway(self, path: str) -> Response:
        return await arequest("127.0.0.1", self.gateway_port, path)

    def status(self) -> dict[str, Any]:
        return yaml.safe_load((self.world.tmp_path / "world-status.yaml").read_text())

    async def metric(self, name: str, **labels: str) -> float:
        """The sum of the /metrics samples of `name` with these labels."""
        port = self.mode.ops[0].port
        text = (await arequest("127.0.0.1", port, "/metrics")).body.decode()
        return sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == f"gateway_contour_{name}" and labels.items() <= s.labels.items()
        )

    async def nacks(self) -> float:
        return await self.metric("xds_nacks_total")

    def settled(self, _stats: XdsStats) -> bool:
        """Every Envoy has ACKed the listeners, routes and clusters now in the cache."""
        assert self.mode.server is not None
        streams = self.mode.server.streams()
        fleets = {s.fleet for s in streams}
        if fleets != {LEGACY_FLEET, "default/web"}:
            return False
        for stream in streams:
            snapshot = self.mode.cache.snapshot(stream.fleet)
            if snapshot is None:
                return False
            for type_url in (LISTENER, ROUTE, CLUSTER):
                state = stream.types.get(type_url)
                if state is None or state.pending_nonce is not None:
                    return False
                if state.accepted_version != snapshot.version(type_url):
                    return False
        return True

    async def until_settled(self) -> None:
        assert self.mode.server is not None
        with anyio.fail_after(30):
            await self.mode.server.stats.wait_until(self.settled)


@pytest.fixture(params=["delta", "sotw"])
async def served(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    # The per-object checks refuse these durations before Envoy sees them (Go's limit,
    # translate/envoy_checks/limits.py): lift it, as this test is of what happens when a
    # value reaches Envoy anyway. The HTTPRoute's Host response header is not checked.
    monkeypatch.setattr(go_duration, "MAX_DURATION_SECONDS", math.inf)
    delta = request.param == "delta"
    world = HostWorld(tmp_path, ("app", "api"), metrics_address="127.0.0.1:0", delta=delta)
    world.start_backends()
    port = free_port()
    objects = "---\n".join([GOOD, gateway_yaml(port), route_yaml("plain", "/", "api")])
    try:
        async with world.running(objects) as mode:
            yield Served(world, mode, port)
    finally:
        world.stop_backends()


def write(world: HostWorld, name: str, text: str) -> None:
    assert world.config_dir is not None
    tmp = world.config_dir / f".{name}.tmp"
    tmp.write_text(text)
    tmp.rename(world.config_dir / name)


async def test_what_envoy_refuses_is_found_withheld_and_the_rest_resent(served: Served) -> None:
    w = served.world
    await eventually(lambda: served.gateway("/"), lambda r: r.backend == "api")
    await eventually(lambda: w.get("/", host="plain.example.com"), lambda r: r.backend == "api")
    await served.until_settled()
    assert await served.nacks() == 0

    await anyio.to_thread.run_sync(write, w, "change.yaml", change_yaml())
    # the good objects of the same change serve: the rest was re-sent without the bad ones
    await eventually(lambda: served.gateway("/later"), lambda r: r.backend == "app", 60)
    await eventually(lambda: w.get("/", host="later.example.com"), lambda r: r.backend == "app", 60)
    await eventually(
        lambda: w.get("/", host="later-ingress.example.com"), lambda r: r.backend == "api", 60
    )
    assert (await served.gateway("/")).backend == "api"
    assert (await w.get("/", host="plain.example.com")).backend == "api"
    assert (await w.get("/", host="plain-ingress.example.com")).backend == "app"
    # the withheld ones are not served: the Gateway's catch-all answers the HTTPRoute's
    # path, and the two hosts are unknown
    host_header = await served.gateway("/host-header")
    assert host_header.backend == "api" and host_header.headers.get("host") is None
    assert (await w.get("/", host="slow.example.com")).status == 404
    assert (await w.get("/", host="slow-ingress.example.com")).status == 404
    assert served.mode.nack_count() >= 2  # each fleet refused the change once

    # each bad object says why, in Envoy's words; the good ones of the change are fine
    status = await anyio.to_thread.run_sync(served.status)
    by_name = {e["object"]: e["status"] for e in status["statuses"]}
    (parent,) = by_name["HTTPRoute default/host-header"]["parents"]
    accepted = {c["type"]: c for c in parent["conditions"]}["Accepted"]
    assert (accepted["status"], accepted["reason"]) == ("False", "UnsupportedValue")
    assert "Envoy refused" in accepted["message"]
    assert "host headers may not be modified" in accepted["message"]
    (later,) = by_name["HTTPRoute default/later"]["parents"]
    assert {c["type"]: c for c in later["conditions"]}["Accepted"]["status"] == "True"
    slow = by_name["HTTPProxy default/slow"]
    assert slow["currentStatus"] == "invalid"
    (error,) = slow["conditions"][0]["errors"]
    assert (error["type"], error["reason"]) == ("SpecError", "EnvoyRejected")
    assert "Duration out-of-range" in error["message"]
    assert by_name["HTTPProxy default/later"]["currentStatus"] == "valid"
    problems = [p for p in status.get("problems", []) if p["source"].startswith("Ingress")]
    assert [p["source"] for p in problems] == ["Ingress default/slow-ingress"]
    assert "Duration out-of-range" in problems[0]["reason"]

    # the re-sent versions are ACKed and the NACK counter stops growing, through more pushes
    await served.until_settled()
    settled = await served.nacks()
    assert settled == served.mode.nack_count()
    assert await served.metric("withheld_objects") == 3
    # one search per fleet, however many NACKs: both found what to withhold
    assert await served.metric("nack_searches_total", outcome="found") == 2
    assert await served.metric("nack_searches_total") == 2
    for i in range(3):
        name = f"more-{i}"
        text = "---\n".join([route_yaml(name, f"/{name}", "app"), proxy_yaml(name, "app")])
        await anyio.to_thread.run_sync(write, w, f"{name}.yaml", text)
        await eventually(lambda n=name: served.gateway(f"/{n}"), lambda r: r.backend == "app")
        await eventually(
            lambda n=name: w.get("/", host=f"{n}.example.com"), lambda r: r.backend == "app"
        )
        await served.until_settled()
        assert await served.nacks() == settled

    # a bad object fixed is served again
    fixed = change_yaml().replace(BAD_HOST, "[]")
    await anyio.to_thread.run_sync(write, w, "change.yaml", fixed)
    await eventually(lambda: served.gateway("/host-header"), lambda r: r.backend == "app")
    await served.until_settled()
    # the proxy and the Ingress, read again unchanged, stay withheld: no new NACK
    assert await served.nacks() == settled
    assert (await w.get("/", host="slow.example.com")).status == 404
    assert (await w.get("/", host="slow-ingress.example.com")).status == 404
