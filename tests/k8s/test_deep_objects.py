"""One tenant's object cannot stop the controller for everyone (issue 22, the crash loop).

An HTTPProxy's `virtualhost.authorization` is `x-kubernetes-preserve-unknown-fields`, so the
real API server stores a list nested 5,000 levels deep in it. Python's JSON decoder raises
RecursionError past ~1,000 levels: before the bounded decoder, the watch event ended the
controller within 0.1 s, and the initial LIST ended every restart the same way. Here the
controller stays up, the other tenants' routes keep answering 200 and still take changes,
and a restart with the object present starts normally."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from gateway_contour.providers.kubernetes.client import REQUEST_TIMEOUT, ApiError, KubeClient
from gateway_contour.translate import TranslateOptions
from tests.e2e.http_client import arequest, eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config
from tests.k8s.test_httpproxy_serve import PROXIES, proxy
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


async def test_an_object_nested_5000_deep_stops_nobody(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    api = KubeClient(kube.kubeconfig)
    net = HostNetwork(workdir=tmp_path).up()
    echo = net.start_echo("app-backend")
    config = serve_config(kube, namespace, provision="host", envoy_work_dir=tmp_path / "envoy")
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
        async with running(config):
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

        # a restart lists the deep object first thing: it starts normally and serves
        async with running(config):
            for fqdn in ("good.test", "later.test"):
                await answers(fqdn, address)
    finally:
        for name in ("good", "later", "evil"):
            with contextlib.suppress(ApiError):
                await api.request("DELETE", f"{proxies}/{name}")
        await api.close()
        net.down()
