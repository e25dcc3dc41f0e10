"""KubeClient against the real API server: the credentials a kubeconfig can give (a token
file rotated under a running client, an exec plugin), error bodies, and watch events larger
than any read buffer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from tests.support.kube_cluster import KubeCluster


def kubeconfig(kube: KubeCluster, path: Path, credentials: dict[str, Any]) -> Path:
    """The test cluster as a user authenticating with `credentials`."""
    kube.write_kubeconfig(path, "u", credentials=credentials)
    return path


async def test_a_rotated_token_file_is_read_again_after_a_401(
    kube: KubeCluster, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("not-a-valid-token\n")
    client = KubeClient(kubeconfig(kube, tmp_path / "config", {"tokenFile": str(token_file)}))
    try:
        with pytest.raises(ApiError) as refused:
            await client.get("/api/v1/namespaces/default")
        assert refused.value.status == 401
        # the kubelet rotates the projected token: the next request is answered 401 with
        # the old one, reads the file again and goes through
        token_file.write_text(kube.token + "\n")
        found = await client.get("/api/v1/namespaces/default")
        assert found["metadata"]["name"] == "default"
    finally:
        await client.close()


async def test_exec_plugin_credentials(kube: KubeCluster, tmp_path: Path) -> None:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": kube.token},
    }
    plugin = tmp_path / "plugin.py"
    calls = tmp_path / "calls"
    plugin.write_text(
        f"with open({str(calls)!r}, 'a') as f: f.write('x')\n"
        f"print({json.dumps(json.dumps(credential))})\n"
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
        }
    }
    client = KubeClient(kubeconfig(kube, tmp_path / "config", user))
    try:
        for _ in range(3):
            found = await client.get("/api/v1/namespaces/default")
            assert found["metadata"]["name"] == "default"
        assert calls.read_text() == "x"  # run once, then its token kept
    finally:
        await client.close()


async def test_an_error_carries_the_servers_status(kube: KubeCluster, namespace: str) -> None:
    client = KubeClient(kube.kubeconfig)
    try:
        with pytest.raises(ApiError) as missing:
            await client.get(f"/api/v1/namespaces/{namespace}/configmaps/nothing-here")
        assert missing.value.status == 404
        assert missing.value.body["reason"] == "NotFound"
    finally:
        await client.close()


async def test_a_watch_event_larger_than_any_read_buffer(kube: KubeCluster, namespace: str) -> None:
    """One watch event is one whole object on one line: a ConfigMap of ~900 KiB (near the
    API server's limit) arrives in many reads and must still be one event."""
    client = KubeClient(kube.kubeconfig)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    big = "x" * (900 * 1024)
    try:
        listing = await client.get(path)
        rv = listing["metadata"]["resourceVersion"]
        seen: list[dict[str, object]] = []

        async def watch() -> None:
            params = {"watch": "1", "resourceVersion": rv}
            async for event, cut in client.stream_lines(path, params, 30):
                assert not cut
                seen.append(event)
                if len(seen) == 3:
                    return

        # the watch starts from before the creates: it sees all three whenever it starts
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                for name, value in (("small-1", "a"), ("big", big), ("small-2", "b")):
                    body = {"metadata": {"name": name}, "data": {"v": value}}
                    await client.request("POST", path, body=body)
        names = [e["object"]["metadata"]["name"] for e in seen]  # type: ignore[index]
        assert names == ["small-1", "big", "small-2"]
        assert seen[1]["object"]["data"]["v"] == big  # type: ignore[index]
    finally:
        await client.close()
