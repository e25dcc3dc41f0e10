"""One tenant's object cannot stop the controller for everyone (issue 22, the crash loop).

An HTTPProxy's `virtualhost.authorization` is `x-kubernetes-preserve-unknown-fields`, so the
real API server stores a list nested 5,000 levels deep in it. Python's JSON decoder raises
RecursionError past ~1,000 levels: before the bounded decoder, the watch event ended the
controller within 0.1 s, and the initial LIST ended every restart the same way. Here the
controller stays up, the other tenants' routes keep answering 200 and still take changes,
and a restart with the object present starts normally. The object itself is reported: its
status says it nests deeper than the bound, and /metrics counts it in
`objects_rejected_total{kind="HTTPProxy", reason="too_deep"}`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from gateway_contour.providers import bounded
from gateway_contour.providers.kubernetes.client import REQUEST_TIMEOUT, ApiError, KubeClient
from gateway_contour.serve import ServeMode
from gateway_contour.translate import TranslateOptions
from tests.e2e.http_client import arequest, eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config
from tests.k8s.test_httpproxy_serve import PROXIES, proxy
from tests.k8s.test_serve_operations import sample, scrape
from tests.support.hostnet import HostNetwork

LEVELS = 5000


def root(ns: str, name: str, fqdn: str) -> dict[str, Any]:
    return proxy(
        ns,
        name,
        {"virtualhost": {"fqdn": fqdn}, "routes": [{"services": [{"name": "app", "port": 80}]}]},
    )


def deep_proxy_json(ns: str) -> bytes:
    """An HTTPProxy whose authorization holds a list LEVELS deep, as JSON text (json.dumps
    itself cannot write one)."""
    obj = root(ns, "evil", "evil.test")
    obj["spec"]["virtualhost"]["authorization"] = {"extensionRef": "DEEP"}
    return json.dumps(obj).replace('"DEEP"', "[" * LEVELS + "1" + "]" * LEVELS).encode()


async def reported(api: KubeClient, path: str, mode: ServeMode) -> None:
    """Await the deep proxy's status (read through the bounded decoder: the whole object is
    as deep as its user made it) and its count on /metrics."""
    status = await eventually(
        lambda: api.get_bounded(path, bounded.MAX_DEPTH),
        lambda answer: (answer[0].get("status") or {}).get("currentStatus") == "invalid",
    )
    obj = status[0]
    valid = obj["status"]["conditions"][0]
    assert (valid["type"], valid["status"]) == ("Valid", "False")
    assert valid["observedGeneration"] == obj["metadata"]["generation"]
    [error] = valid["errors"]
    assert (error["type"], error["reason"]) == ("SpecError", "NestedTooDeep")
    assert f"deeper than {bounded.MAX_DEPTH} levels" in obj["status"]["description"]
    await eventually(lambda: asyncio.sleep(0, len(mode.ops)), lambda n: n >= 1)
    samples = await scrape(mode.ops[0].port)
    assert sample(samples, "objects_rejected_total", kind="HTTPProxy", reason="too_deep") >= 1
    assert sample(samples, "objects_rejected_total", kind="HTTPRoute", reason="too_deep") == -1


async def test_an_object_nested_5000_deep_stops_nobody(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    api = KubeClient(kube.kubeconfig)
    net = HostNetwork(workdir=tmp_path).up()
    echo = net.start_echo("app-backend")
    config = serve_config(
        kube,
        namespace,
        provision="host",
        envoy_work_dir=tmp_path / "envoy",
        metrics_address="127.0.0.1:0",
    )
    port = TranslateOptions.legacy_http_port
    proxies = PROXIES.format(ns=namespace)

    async def answers(fqdn: str, address: str) -> None:
        reply = await eventually(
            lambda: arequest(address, port, "/", host=fqdn), lambda r: r.status == 200
        )
        assert reply.backend == "app-backend"

    try:
        for obj in (
            m.service(namespace, "app"),
            m.endpoint_slice(namespace, "app", echo.address, echo.port),
        ):
            await api.request("POST", m.collection_path(obj), body=obj)
        await api.request("POST", proxies, body=root(namespace, "good", "good.test"))
        async with running(config) as mode:
            good = await eventually(
                lambda: api.get(proxies + "/good"),
                lambda o: (o.get("status") or {}).get("currentStatus") == "valid",
            )
            address = good["status"]["loadBalancer"]["ingress"][0]["ip"]
            await answers("good.test", address)

            # the API server stores it (this is what any tenant may do)
            resp = await api._send(
                "POST",
                proxies,
                None,
                deep_proxy_json(namespace),
                "application/json",
                REQUEST_TIMEOUT,
            )
            async with resp:
                assert resp.status == 201, await resp.text()
            # the controller takes the next change, so it read the deep event and lived
            await api.request("POST", proxies, body=root(namespace, "later", "later.test"))
            await answers("later.test", address)
            await answers("good.test", address)
            assert (await arequest(address, port, "/", host="evil.test")).status == 404
            await reported(api, f"{proxies}/evil", mode)

        # a restart lists the deep object first thing: it starts normally and serves
        async with running(config) as mode:
            for fqdn in ("good.test", "later.test"):
                await answers(fqdn, address)
            await reported(api, f"{proxies}/evil", mode)
    finally:
        for name in ("good", "later", "evil"):
            with contextlib.suppress(ApiError):
                await api.request("DELETE", f"{proxies}/{name}")
        await api.close()
        net.down()
