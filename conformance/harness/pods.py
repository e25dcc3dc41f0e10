"""Running one Pod as local processes: its volumes as files, its env, its containers as
processes in the Pod's own network namespace (podnet), their output kept as container logs.

Paths: the processes share the machine's filesystem, so a volume cannot appear at its
mountPath. Each volume is written under the Pod's directory instead, and env values and args
that name a path under a mountPath are rewritten to the same path under the volume's
directory (echo-basic's TLS_SERVER_CERT=/etc/secret-volume/crt, coredns's -conf /root/...).
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.harness import containerlog
from conformance.harness.images import Program, program_for
from conformance.harness.podnet import PodSandbox

Fetch = Callable[[str], Any]  # API path -> decoded JSON (for Secrets and ConfigMaps)
READY_TIMEOUT = 30.0


class PodError(Exception):
    """The Pod cannot run here (unmapped image, missing Secret, ...): a reason for status."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Container:
    name: str
    image: str
    argv: list[str]
    env: dict[str, str]
    program: Program
    log_path: Path
    ports: tuple[int, ...] = ()  # declared TCP containerPorts
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0


@dataclass
class RunningPod:
    uid: str
    namespace: str
    name: str
    directory: Path
    sandbox: PodSandbox
    containers: dict[str, Container] = field(default_factory=dict)


def _write_volume(volume: dict[str, Any], namespace: str, target: Path, fetch: Fetch) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if "secret" in volume:
        source = volume["secret"]
        obj = fetch(f"/api/v1/namespaces/{namespace}/secrets/{source['secretName']}")
        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    elif "configMap" in volume:
        source = volume["configMap"]
        obj = fetch(f"/api/v1/namespaces/{namespace}/configmaps/{source['name']}")
        data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        data |= {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
    else:
        return  # emptyDir and the rest: an empty directory
    items = source.get("items") or [{"key": k, "path": k} for k in data]
    for item in items:
        if item["key"] not in data:
            raise PodError("CreateContainerConfigError", f"key {item['key']} not in volume source")
        path = target / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[item["key"]])


def _field_ref(pod: dict[str, Any], path: str, pod_ip: str, host_ip: str) -> str:
    meta = pod["metadata"]
    simple = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path])
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['"):
            return str((meta.get(source) or {}).get(path[len(prefix) + 2 : -2], ""))
    raise PodError("CreateContainerConfigError", f"unsupported fieldRef {path}")


def _env(
    pod: dict[str, Any], container: dict[str, Any], sandbox: PodSandbox, host_ip: str, fetch: Fetch
) -> dict[str, str]:
    namespace = pod["metadata"]["namespace"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": pod["metadata"]["name"]}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef") or source.get("secretRef") or {}
        kind = "configmaps" if "configMapRef" in source else "secrets"
        obj = fetch(f"/api/v1/namespaces/{namespace}/{kind}/{ref['name']}")
        for key, value in (obj.get("data") or {}).items():
            decoded = base64.b64decode(value).decode() if kind == "secrets" else value
            env[source.get("prefix", "") + key] = decoded
    for var in container.get("env") or []:
        if "value" in var or "valueFrom" not in var:
            env[var["name"]] = var.get("value", "")
            continue
        value_from = var["valueFrom"]
        if "fieldRef" in value_from:
            path = value_from["fieldRef"]["fieldPath"]
            env[var["name"]] = _field_ref(pod, path, sandbox.address, host_ip)
        elif "secretKeyRef" in value_from or "configMapKeyRef" in value_from:
            secret = "secretKeyRef" in value_from
            ref = value_from["secretKeyRef" if secret else "configMapKeyRef"]
            kind = "secrets" if secret else "configmaps"
            obj = fetch(f"/api/v1/namespaces/{namespace}/{kind}/{ref['name']}")
            raw = (obj.get("data") or {}).get(ref["key"], "")
            env[var["name"]] = base64.b64decode(raw).decode() if secret else raw
        else:
            raise PodError("CreateContainerConfigError", f"unsupported env source {value_from}")
    return env


def _rewrite(value: str, mounts: list[tuple[str, Path]]) -> str:
    for mount_path, directory in mounts:  # longest mountPath first
        if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
            return str(directory) + value[len(mount_path.rstrip("/")) :]
    return value


def prepare(
    pod: dict[str, Any], directory: Path, sandbox: PodSandbox, host_ip: str, fetch: Fetch
) -> RunningPod:
    """Write the Pod's volumes and work out each container's command line and env."""
    meta, spec = pod["metadata"], pod["spec"]
    directory.mkdir(parents=True, exist_ok=True)
    volume_dirs = {}
    for volume in spec.get("volumes") or []:
        target = directory / "volumes" / volume["name"]
        _write_volume(volume, meta["namespace"], target, fetch)
        volume_dirs[volume["name"]] = target
    running = RunningPod(meta["uid"], meta["namespace"], meta["name"], directory, sandbox)
    for spec_container in spec["containers"]:
        program = program_for(spec_container["image"])
        if program is None:
            raise PodError(
                "ErrImagePull",
                f"image {spec_container['image']} has no local program "
                "(conformance/harness/images.py)",
            )
        mounts = sorted(
            (
                (m["mountPath"], volume_dirs[m["name"]] / m.get("subPath", ""))
                for m in spec_container.get("volumeMounts") or []
                if m["name"] in volume_dirs
            ),
            key=lambda m: -len(m[0]),
        )
        env = _env(pod, spec_container, sandbox, host_ip, fetch)
        env = {k: _rewrite(v, mounts) for k, v in env.items()}
        args = [_rewrite(a, mounts) for a in spec_container.get("args") or []]
        name = spec_container["name"]
        running.containers[name] = Container(
            name=name,
            image=spec_container["image"],
            argv=program.argv(args),
            env=env,
            program=program,
            log_path=directory / f"{name}.log",
            ports=tuple(
                int(port["containerPort"])
                for port in spec_container.get("ports") or []
                if port.get("protocol", "TCP") == "TCP"
            ),
        )
    return running


def start_container(pod: RunningPod, container: Container) -> None:
    process = subprocess.Popen(
        ["ip", "netns", "exec", pod.sandbox.netns, *container.argv],
        env=container.env,
        cwd=pod.directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: stopping reaches its children too
    )
    assert process.stdout is not None
    containerlog.capture(process.stdout, container.log_path)
    container.process = process
    container.started_at = time.time()


def wait_ready(pod: RunningPod, container: Container, timeout: float = READY_TIMEOUT) -> None:
    """Return once the container accepts connections on every declared TCP port (or, with
    none declared, on its program's ready port, if it has one)."""
    default = container.program.ready_port(container.env)
    ports = list(container.ports) or ([default] if default is not None else [])
    deadline = time.monotonic() + timeout
    while True:
        assert container.process is not None
        if container.process.poll() is not None:
            raise PodError("CrashLoopBackOff", f"exited with {container.process.returncode}")
        ports = [port for port in ports if not _accepts(pod.sandbox.address, port)]
        if not ports:
            return
        if time.monotonic() > deadline:
            raise PodError("ReadinessTimeout", f"nothing listening on {ports} after {timeout} s")
        time.sleep(0.05)


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def stop_container(container: Container, grace: float) -> None:
    process = container.process
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
