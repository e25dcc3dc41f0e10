"""Issue 21, blast radius: one object's value that Envoy would refuse never takes down the
routes of others on its listener. Served by host mode to real Envoys (the Ingress/HTTPProxy
fleet and a Gateway's): HTTPProxy header values as Contour writes them ('100%', Contour's
and Envoy's variables), an HTTPProxy value and regex conditions Envoy would refuse, an
Ingress regex path over RE2's program size limit beside long prefixes, and HTTPRoutes with
a lone '%', an unknown %COMMAND% and regexes over the limit. Each bad object's status (or
problem, for Ingress) says why; every other route answers 200 from its backend; Envoy NACKs
nothing, and still nothing after more bad objects arrive."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from gateway_contour.app import HostMode
from gateway_contour.provisioner.host import free_port
from tests.e2e.host_world import HostWorld, ingress_yaml
from tests.e2e.http_client import Response, arequest, eventually

pytestmark = pytest.mark.e2e

LONG_C = "/" + "c" * 80
LONG_D = "/" + "d" * 80

PROXIES = textwrap.dedent("""\
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: headers, namespace: default}
    spec:
      virtualhost: {fqdn: headers.example.com}
      routes:
      - requestHeadersPolicy:
          set:
          - {name: X-Percent, value: "100%"}
          - {name: X-Namespace, value: "%CONTOUR_NAMESPACE%"}
          - {name: X-Copied, value: "%REQ(x-original)%"}
          - {name: X-Unknown, value: "%FOO%"}
        services:
        - name: app
          port: 80
          requestHeadersPolicy:
            set: [{name: X-Service, value: "%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%"}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: plain, namespace: default}
    spec:
      virtualhost: {fqdn: plain.example.com}
      routes: [{services: [{name: api, port: 80}]}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: broken-value, namespace: default}
    spec:
      virtualhost: {fqdn: broken-value.example.com}
      routes:
      - requestHeadersPolicy: {set: [{name: X-Two-Lines, value: "one\\ntwo"}]}
        services: [{name: app, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: long-regex, namespace: default}
    spec:
      virtualhost: {fqdn: long-regex.example.com}
      routes:
      - conditions: [{regex: "/c{200}.*"}]
        services: [{name: app, port: 80}]
    """)


def gateway_yaml(port: int) -> str:
    def route(name: str, rule: dict[str, Any]) -> dict[str, Any]:
        backend = {"backendRefs": [{"name": "api", "port": 80}]}
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": [{**rule, **backend}]},
        }

    def prefix(value: str) -> list[dict[str, Any]]:
        return [{"path": {"type": "PathPrefix", "value": value}}]

    def setting(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
        body = {"set": [{"name": n, "value": v} for n, v in pairs]}
        return [{"type": "RequestHeaderModifier", "requestHeaderModifier": body}]

    objects = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "gc"},
            "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "default"},
            "spec": {
                "gatewayClassName": "gc",
                "listeners": [{"name": "http", "port": port, "protocol": "HTTP"}],
            },
        },
        route("plain", {}),
        route(
            "commands",
            {
                "matches": prefix("/commands"),
                "filters": setting(("X-Copied", "%REQ(x-original)%"), ("X-Discount", "100%%")),
            },
        ),
        route(
            "percent",
            {"matches": prefix("/percent"), "filters": setting(("X-Discount", "100%"))},
        ),
        route(
            "unknown-command",
            {"matches": prefix("/unknown"), "filters": setting(("X-Ns", "%CONTOUR_NAMESPACE%"))},
        ),
        route(
            "long-regex",
            {"matches": [{"path": {"type": "RegularExpression", "value": "/c{200}.*"}}]},
        ),
    ]
    return yaml.safe_dump_all(objects, sort_keys=False)


INGRESS = ingress_yaml(
    "long-paths",
    [
        (
            "long.example.com",
            [
                ("/c{200}.*", "ImplementationSpecific", "app"),
                (LONG_C, "ImplementationSpecific", "app"),
                (LONG_D, "Prefix", "api"),
            ],
        )
    ],
)

MORE_BAD = textwrap.dedent("""\
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: later, namespace: default}
    spec:
      parentRefs: [{name: gw}]
      rules:
      - matches: [{headers: [{name: x-id, type: RegularExpression, value: "x{60}y{60}"}]}]
        filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier: {add: [{name: X-Off, value: "50% off"}]}
        backendRefs: [{name: api, port: 80}]
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: later-good, namespace: default}
    spec:
      parentRefs: [{name: gw}]
      rules:
      - matches: [{path: {type: PathPrefix, value: /later-good}}]
        backendRefs: [{name: app, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: later-good, namespace: default}
    spec:
      virtualhost: {fqdn: later-good.example.com}
      routes: [{services: [{name: app, port: 80}]}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: later, namespace: default}
    spec:
      virtualhost: {fqdn: later.example.com}
      routes:
      - conditions: [{header: {name: x-id, regex: "(a|b|c|d){40}"}}]
        services: [{name: app, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: huge-value, namespace: default}
    spec:
      virtualhost: {fqdn: huge-value.example.com}
      routes:
      - requestHeadersPolicy: {set: [{name: X-Big, value: "PERCENTS"}]}
        services: [{name: app, port: 80}]
    """).replace("PERCENTS", "%" * 9000)  # 18,000 bytes once escaped: over Envoy's 16 KiB


@dataclass
class Served:
    world: HostWorld
    mode: HostMode
    gateway_port: int

    async def gateway(self, path: str, **kwargs: Any) -> Response:
        return await arequest("127.0.0.1", self.gateway_port, path, **kwargs)

    def status(self) -> dict[str, Any]:
        return yaml.safe_load((self.world.tmp_path / "world-status.yaml").read_text())

    def of(self, name: str) -> dict[str, Any]:
        return {e["object"]: e["status"] for e in self.status()["statuses"]}[name]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    world = HostWorld(tmp_path, ("app", "api"))
    world.start_backends()
    gateway_port = free_port()
    objects = "---\n".join([PROXIES, INGRESS, gateway_yaml(gateway_port)])
    try:
        async with world.running(objects) as mode:
            yield Served(world, mode, gateway_port)
    finally:
        world.stop_backends()


def headers_seen(response: Response) -> dict[str, str]:
    return dict(response.json()["headers"])


def route_accepted(status: dict[str, Any]) -> dict[str, Any]:
    (parent,) = status["parents"]
    return {c["type"]: c for c in parent["conditions"]}["Accepted"]


def proxy_errors(status: dict[str, Any]) -> list[dict[str, str]]:
    (valid,) = status["conditions"]
    assert valid["status"] == "False" and status["currentStatus"] == "invalid"
    return list(valid["errors"])


async def test_bad_values_stay_with_their_objects(served: Served) -> None:
    w = served.world
    # HTTPProxy: Contour's escaping and variables, as the backend sees them
    seen = await eventually(
        lambda: w.get("/", host="headers.example.com", headers={"x-original": "abc"}),
        lambda r: r.backend == "app",
    )
    got = headers_seen(seen)
    assert got["x-percent"] == "100%"
    assert got["x-namespace"] == "default"
    assert got["x-copied"] == "abc"
    assert got["x-unknown"] == "%FOO%"
    assert got["x-service"] == "app:80"
    assert (await w.get("/", host="plain.example.com")).backend == "api"
    # Ingress: the two long prefixes beside the refused regex path serve
    assert (await w.get(LONG_C + "/x", host="long.example.com")).backend == "app"
    assert (await w.get(LONG_D + "/x", host="long.example.com")).backend == "api"
    # the Gateway's listener: the good routes serve, with Envoy's own commands
    commands = await eventually(
        lambda: served.gateway("/commands", headers={"x-original": "xyz"}),
        lambda r: r.backend == "api",
    )
    assert headers_seen(commands)["x-copied"] == "xyz"
    assert headers_seen(commands)["x-discount"] == "100%"
    plain = await served.gateway("/percent")  # the refused route's path: the catch-all
    assert plain.backend == "api" and "x-discount" not in headers_seen(plain)

    # each bad object says why
    (broken,) = proxy_errors(served.of("HTTPProxy default/broken-value"))
    assert (broken["type"], broken["reason"]) == ("RouteError", "RequestHeadersPolicyInvalid")
    assert "requestHeadersPolicy.set X-Two-Lines" in broken["message"]
    (long,) = proxy_errors(served.of("HTTPProxy default/long-regex"))
    assert (long["type"], long["reason"]) == ("RouteError", "MatchConditionsNotValid")
    assert "RE2 program size 207, over the limit of 100" in long["message"]
    assert served.of("HTTPProxy default/headers")["currentStatus"] == "valid"
    problems = [
        p for p in served.status()["problems"] if p["source"] == "Ingress default/long-paths"
    ]
    assert len(problems) == 1
    assert "paths[0]" in problems[0]["reason"] and "program size 207" in problems[0]["reason"]
    for name, why in (
        ("percent", "requestHeaderModifier.set: the value of 'X-Discount'"),
        ("unknown-command", "CONTOUR_NAMESPACE is not a command Envoy accepts"),
        ("long-regex", "RE2 program size 207"),
    ):
        accepted = route_accepted(served.of(f"HTTPRoute default/{name}"))
        assert (accepted["status"], accepted["reason"]) == ("False", "UnsupportedValue")
        assert why in accepted["message"]
    for name in ("plain", "commands"):
        assert route_accepted(served.of(f"HTTPRoute default/{name}"))["status"] == "True"
    # Envoy refused nothing it was sent
    assert served.mode.nack_count() == 0

    # more bad objects: reported, and still no NACK while everything else serves
    assert w.config_dir is not None
    await anyio.to_thread.run_sync((w.config_dir / "later.yaml").write_text, MORE_BAD)
    later = await eventually(
        lambda: anyio.to_thread.run_sync(served.status),
        lambda s: (
            "HTTPRoute default/later" in {e["object"] for e in s["statuses"]}
            and "HTTPProxy default/later" in {e["object"] for e in s["statuses"]}
            and "HTTPProxy default/huge-value" in {e["object"] for e in s["statuses"]}
        ),
    )
    by_name = {e["object"]: e["status"] for e in later["statuses"]}
    accepted = route_accepted(by_name["HTTPRoute default/later"])
    # the first refusal found (its filter) is the one named
    assert accepted["reason"] == "UnsupportedValue" and "'X-Off'" in accepted["message"]
    (header,) = proxy_errors(by_name["HTTPProxy default/later"])
    assert "header condition 'x-id'" in header["message"]
    (huge,) = proxy_errors(by_name["HTTPProxy default/huge-value"])
    assert (huge["type"], huge["reason"]) == ("RouteError", "RequestHeadersPolicyInvalid")
    assert "X-Big: the value is 18000 bytes; Envoy takes at most 16384" in huge["message"]
    # the good objects of the same change serve: Envoy has taken that version on both
    # listeners, so a refusal would have been counted by now
    await eventually(lambda: served.gateway("/later-good"), lambda r: r.backend == "app")
    await eventually(
        lambda: w.get("/", host="later-good.example.com"), lambda r: r.backend == "app"
    )
    assert (await served.gateway("/commands")).backend == "api"
    assert (await w.get("/", host="plain.example.com")).backend == "api"
    assert served.mode.nack_count() == 0
