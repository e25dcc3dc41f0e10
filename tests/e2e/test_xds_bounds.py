"""Issue 22: three 100 MB DiscoveryRequests from a client nobody authenticated took the
controller from 74 to 717 MB. `gateway-contour run` (host mode, its own Envoy) as a process of
its own: five streams sending 10 MB requests at once are refused with RESOURCE_EXHAUSTED, the
controller's resident memory (VmRSS of /proc/PID/status) grows by less than 30 MB, and its
Envoy keeps getting configuration (a route changed afterwards answers)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from envoy.service.discovery.v3 import discovery_pb2

from gateway_contour.demo.echo import start_echo
from gateway_contour.provisioner.host import free_port
from gateway_contour.xds.server import SERVICE
from tests.e2e.host_world import service_yaml
from tests.e2e.http_client import arequest, eventually
from tests.e2e.test_host_mode import HOST, gateway_yaml
from tests.e2e.test_observability import route_yaml

pytestmark = pytest.mark.e2e


def objects_yaml(port: int, prefix: str) -> str:
    return gateway_yaml(port) + "---\n" + route_yaml("app", prefix)


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def oversized_stream(port: int, payload: bytes) -> grpc.StatusCode:
    """One SotW stream whose first request is `payload`; the status it ends with."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        method = channel.stream_stream(
            f"/{SERVICE}/StreamAggregatedResources",
            request_serializer=lambda raw: raw,
            response_deserializer=discovery_pb2.DiscoveryResponse.FromString,
        )
        call = method(iter([payload]))
        try:
            async for _ in call:
                pass
        except grpc.aio.AioRpcError as err:
            return err.code()
        return await call.code()


async def test_oversized_requests_are_refused_without_growing_the_controller(
    tmp_path: Path,
) -> None:
    app = start_echo("app")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    port, xds_port = free_port(), free_port()
    (config_dir / "services.yaml").write_text(service_yaml("app", app))
    (config_dir / "objects.yaml").write_text(objects_yaml(port, "/"))
    executable = Path(sys.executable).parent / "gateway-contour"
    command = [str(executable), "run", "--config-dir", str(config_dir)]
    command += ["--xds-port", str(xds_port)]
    log = (tmp_path / "controller.log").open("wb")
    controller = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:

        async def get(path: str) -> object:
            return await arequest("127.0.0.1", port, path, host=HOST)

        await eventually(lambda: get("/"), lambda r: r.status == 200, timeout=30)  # type: ignore[attr-defined]
        before = resident_mib(controller.pid)
        request = discovery_pb2.DiscoveryRequest(
            type_url="type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
            resource_names=[f"{i:05d}".ljust(1000, "x") for i in range(10_000)],
        )
        request.node.cluster = "default/web"
        payload = request.SerializeToString()
        assert len(payload) > 10_000_000
        codes = await asyncio.gather(*(oversized_stream(xds_port, payload) for _ in range(5)))
        grown = resident_mib(controller.pid) - before
        print(f"controller VmRSS {before:.0f} MiB, grew by {grown:.1f} MiB; {codes}")
        assert codes == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 5
        assert grown < 30, f"controller RSS grew by {grown:.0f} MiB"
        # the controller still configures its Envoy: a route moved now answers there
        (config_dir / "objects.yaml").write_text(objects_yaml(port, "/moved"))
        await eventually(lambda: get("/other"), lambda r: r.status == 404, timeout=30)  # type: ignore[attr-defined]
        assert controller.poll() is None
    finally:
        controller.send_signal(signal.SIGTERM)
        try:
            controller.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(controller.pid, signal.SIGKILL)
            controller.wait()
        log.close()
        app.stop()
