"""`gateway-contour serve` run the way it is deployed, against a real API server: xDS over
mutual TLS with certificates from `certgen` (the host-provisioned Envoy holds the client
certificate), and its operations endpoints scraped over HTTP while objects come and go:
status writes, objects by kind, the connected Envoy, readiness, the debug dump."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway_contour.cli import main as cli
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.provisioner.host import free_port
from tests.e2e.http_client import arequest, eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config
from tests.support.hostnet import HostNetwork

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> Samples:
    text = (await arequest("127.0.0.1", port, "/metrics")).body.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((f"gateway_contour_{name}", tuple(sorted(labels.items()))), -1.0)


async def test_serve_over_mtls_with_metrics_and_health(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    assert cli(["certgen", "--output-dir", str(tmp_path / "certs")]) == 0
    net = HostNetwork(workdir=tmp_path).up()
    backend = net.start_echo("backend-a")
    class_name = f"gc-{namespace}"
    api = KubeClient(kube.kubeconfig)
    config = serve_config(
        kube,
        namespace,
        provision="host",
        envoy_work_dir=tmp_path / "envoy",
        xds_cert_dir=tmp_path / "certs/controller",
        envoy_cert_dir=tmp_path / "certs/envoy",
        metrics_address="127.0.0.1:0",
        debug_address="127.0.0.1:0",
    )

    async def create(obj: dict[str, Any]) -> None:
        await api.request("POST", m.collection_path(obj), body=obj)

    try:
        async with running(config) as mode:
            await eventually(lambda: asyncio.sleep(0, len(mode.ops)), lambda n: n == 2)
            metrics_port, debug_port = mode.ops[0].port, mode.ops[1].port
            assert (await arequest("127.0.0.1", metrics_port, "/healthz")).status == 200
            await eventually(
                lambda: arequest("127.0.0.1", metrics_port, "/readyz"), lambda r: r.status == 200
            )
            before = await scrape(metrics_port)
            assert sample(before, "ready") == 1

            port = free_port()
            gw = m.gateway(namespace, "gw", class_name, port)
            await create(m.gateway_class(class_name, mode.config.controller_name))
            await create(gw)
            await create(m.service(namespace, "app"))
            await create(m.endpoint_slice(namespace, "app", backend.address, backend.port))
            await create(m.http_route(namespace, "web", "gw", "/app", "app"))

            live = await eventually(
                lambda: api.get(m.object_path(gw)),
                lambda o: bool((o.get("status") or {}).get("addresses")),
            )
            address = live["status"]["addresses"][0]["value"]
            # the Envoy got its configuration over mTLS: traffic flows
            answer = await eventually(
                lambda: arequest(address, port, "/app/x", host="x.test"), lambda r: r.status == 200
            )
            assert answer.backend == "backend-a"
            assert mode.xds_port and mode.host_fleet is not None

            fleet = f"{namespace}/gw"
            after = await eventually(
                lambda: scrape(metrics_port),
                lambda s: sample(s, "status_writes_total") >= 3,  # class, gateway, route
            )

            async def routes_seen_and_served() -> tuple[float, int]:
                # other tests' namespaces may still be going away: compare with the API server
                listed = await api.get("/apis/gateway.networking.k8s.io/v1/httproutes")
                return sample(await scrape(metrics_port), "objects", kind="HTTPRoute"), len(
                    listed["items"]
                )

            seen, _ = await eventually(routes_seen_and_served, lambda p: p[0] == p[1])
            assert seen >= 1  # ours at least
            assert sample(after, "objects", kind="Gateway") >= 1
            assert sample(after, "xds_connected_clients", fleet=fleet, protocol="delta") == 1
            assert sample(after, "rebuilds_total") > sample(before, "rebuilds_total")
            assert sample(after, "xds_pushes_total") > sample(before, "xds_pushes_total")
            assert sample(after, "status_write_conflicts_total") >= 0
            assert sample(after, "status_write_failures_total") == 0
            assert sample(after, "xds_certificate_reloads_total") == 0

            dump = (await arequest("127.0.0.1", debug_port, f"/debug/xds?fleet={fleet}")).body
            assert fleet.encode() in dump and b"listeners:" in dump
            assert (await arequest("127.0.0.1", debug_port, "/debug/ir")).status == 200
    finally:
        with contextlib.suppress(ApiError):
            await api.request("DELETE", m.object_path(m.gateway_class(class_name, "")))
        await api.close()
        net.down()
