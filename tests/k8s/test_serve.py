"""`gateway-contour serve` against a real API server: objects in, traffic through a real Envoy
out, status written back with the right observedGeneration; invalid objects get conditions
and leave the rest serving."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.provisioner.host import free_port
from gateway_contour.serve import ServeMode
from tests.e2e.http_client import Response, arequest, eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config
from tests.support.hostnet import HostNetwork, HostProcess


@dataclass
class Env:
    api: KubeClient
    mode: ServeMode
    ns: str
    class_name: str
    port: int
    backend: HostProcess

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.api.request("POST", m.collection_path(obj), body=obj)  # type: ignore[no-any-return]

    async def get(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.api.get(m.object_path(obj))  # type: ignore[no-any-return]

    async def gateway_address(self, gw: dict[str, Any]) -> str:
        def has_address(o: dict[str, Any]) -> bool:
            return bool((o.get("status") or {}).get("addresses"))

        live = await eventually(lambda: self.get(gw), has_address)
        return str(live["status"]["addresses"][0]["value"])

    async def through_envoy(self, address: str, path: str, host: str = "x.test") -> Response:
        return await arequest(address, self.port, path, host=host)


def conditions(status_block: dict[str, Any]) -> dict[str, tuple[str, str, int]]:
    return {
        c["type"]: (c["status"], c["reason"], c["observedGeneration"])
        for c in status_block.get("conditions", [])
    }


def route_parent(route: dict[str, Any]) -> dict[str, tuple[str, str, int]]:
    parents = (route.get("status") or {}).get("parents") or []
    return conditions(parents[0]) if parents else {}


@pytest.fixture
async def env(kube: Any, namespace: str, tmp_path: Path) -> AsyncIterator[Env]:
    # backends on a test host: the API server refuses loopback addresses in EndpointSlices
    net = HostNetwork(workdir=tmp_path).up()
    backend = net.start_echo("backend-a")
    class_name = f"gc-{namespace}"
    api = KubeClient(kube.kubeconfig)
    config = serve_config(kube, namespace, provision="host", envoy_work_dir=tmp_path / "envoy")
    try:
        async with running(config) as mode:
            e = Env(api, mode, namespace, class_name, free_port(), backend)
            await e.create(m.gateway_class(class_name, mode.config.controller_name))
            yield e
    finally:
        with contextlib.suppress(ApiError):
            await api.request("DELETE", m.object_path(m.gateway_class(class_name, "")))
        await api.close()
        net.down()


async def test_objects_become_traffic_and_status(env: Env) -> None:
    ns = env.ns
    gw = m.gateway(ns, "gw", env.class_name, env.port)
    await env.create(gw)
    await env.create(m.service(ns, "app"))
    await env.create(m.endpoint_slice(ns, "app", env.backend.address, env.backend.port))
    route = m.http_route(ns, "web", "gw", "/app", "app")
    await env.create(route)

    address = await env.gateway_address(gw)
    assert address.startswith("127.")
    answer = await eventually(
        lambda: env.through_envoy(address, "/app/x"), lambda r: r.status == 200
    )
    assert answer.backend == "backend-a"
    assert (await env.through_envoy(address, "/elsewhere")).status == 404

    live_gw = await eventually(
        lambda: env.get(gw),
        lambda o: conditions(o.get("status") or {}).get("Programmed", ("",))[0] == "True",
    )
    assert conditions(live_gw["status"])["Accepted"] == ("True", "Accepted", 1)
    listener = live_gw["status"]["listeners"][0]
    assert listener["attachedRoutes"] == 1
    live_route = await eventually(lambda: env.get(route), lambda o: bool(route_parent(o)))
    assert route_parent(live_route)["Accepted"] == ("True", "Accepted", 1)
    assert route_parent(live_route)["ResolvedRefs"] == ("True", "ResolvedRefs", 1)
    live_class = await env.get(m.gateway_class(env.class_name, ""))
    assert conditions(live_class["status"])["Accepted"][0] == "True"

    # a spec change bumps the generation: traffic follows and status says so
    live_route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/moved"
    await env.api.request("PUT", m.object_path(route), body=live_route)
    await eventually(lambda: env.through_envoy(address, "/moved"), lambda r: r.status == 200)
    assert (await env.through_envoy(address, "/app/x")).status == 404
    updated = await eventually(
        lambda: env.get(route), lambda o: route_parent(o).get("Accepted", ("", "", 0))[2] == 2
    )
    assert updated["metadata"]["generation"] == 2


async def test_invalid_objects_get_conditions_and_the_rest_keeps_serving(env: Env) -> None:
    ns = env.ns
    gw = m.gateway(ns, "gw", env.class_name, env.port, hostname="*.example.com")
    await env.create(gw)
    await env.create(m.service(ns, "app"))
    await env.create(m.endpoint_slice(ns, "app", env.backend.address, env.backend.port))
    good = m.http_route(ns, "good", "gw", "/", "app", hostnames=["good.example.com"])
    await env.create(good)
    address = await env.gateway_address(gw)
    await eventually(
        lambda: env.through_envoy(address, "/", host="good.example.com"), lambda r: r.status == 200
    )

    dangling = m.http_route(ns, "dangling", "gw", "/d", "no-such-service", ["d.example.com"])
    wrong_host = m.http_route(ns, "wrong-host", "gw", "/", "app", hostnames=["other.test"])
    no_parent = m.http_route(ns, "no-parent", "gw", "/", "app", ["n.example.com"])
    no_parent["spec"]["parentRefs"][0]["sectionName"] = "nope"
    for obj in (dangling, wrong_host, no_parent):
        await env.create(obj)

    def reason(kind: str) -> Any:
        return lambda o: route_parent(o).get(kind, ("", ""))[1]

    d = await eventually(lambda: env.get(dangling), lambda o: reason("ResolvedRefs")(o) != "")
    assert route_parent(d)["ResolvedRefs"][:2] == ("False", "BackendNotFound")
    w = await eventually(lambda: env.get(wrong_host), lambda o: reason("Accepted")(o) != "")
    assert route_parent(w)["Accepted"][:2] == ("False", "NoMatchingListenerHostname")
    n = await eventually(lambda: env.get(no_parent), lambda o: reason("Accepted")(o) != "")
    assert route_parent(n)["Accepted"][:2] == ("False", "NoMatchingParent")

    # the dangling backend answers 500 (the spec's answer for an invalid backend), the good
    # route keeps serving
    await eventually(
        lambda: env.through_envoy(address, "/d", host="d.example.com"), lambda r: r.status == 500
    )
    assert (await env.through_envoy(address, "/", host="good.example.com")).backend == "backend-a"
