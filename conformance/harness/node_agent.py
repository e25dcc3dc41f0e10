"""The node agent: a stand-in for the kubelet (and the scheduler) of a one-node local cluster.

It registers a Node and keeps it alive (Ready condition + Lease heartbeats), binds every
unscheduled Pod to it, runs each Pod's containers as local processes in a network namespace
of its own (harness.pods, harness.podnet), reports phase Running, podIP and Ready, serves the
kubelet log endpoint for `pods/log`, restarts containers that exit, and when a Pod is deleted
stops its processes and removes it for good (grace period 0), as a kubelet does.

    python -m conformance.harness.node_agent --kubeconfig K --workdir DIR

prints `node-agent ready <node> <address>` once the Node is registered; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conformance.harness import pods as p
from conformance.harness.containerlog import LogServer
from conformance.harness.kubeapi import ApiError, KubeApi
from conformance.harness.podnet import PodNetwork

log = logging.getLogger("node-agent")
HEARTBEAT = 10.0
DELETE_GRACE = 2.0  # the most we wait for a process to end on SIGTERM


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NodeAgent:
    def __init__(self, api: KubeApi, workdir: Path, node_name: str) -> None:
        self.api = api
        self.workdir = workdir
        self.node = node_name
        self.net = PodNetwork()
        self.running: dict[str, p.RunningPod] = {}
        self.failed: set[str] = set()  # uids that cannot run here (not retried)
        self.retry: dict[str, dict[str, Any]] = {}  # uid -> Pod to sync again (transient error)
        self.locks: dict[str, threading.Lock] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pod")
        self.stopping = threading.Event()
        self.logs: LogServer | None = None

    # -- the Node

    def register(self) -> None:
        self.net.up()
        self.logs = LogServer(self.net.node_address, self._log_path, self.workdir).start()
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node,
                "labels": {"kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux"},
            },
        }
        try:
            self.api.request("POST", "/api/v1/nodes", node)
        except ApiError as error:
            if error.status != 409:
                raise
        capacity = {"cpu": "2", "memory": "8Gi", "pods": "250"}
        self.api.patch(
            f"/api/v1/nodes/{self.node}/status",
            {
                "status": {
                    # No Hostname address: the API server prefers it for kubelet connections
                    # and it resolves nowhere.
                    "addresses": [{"type": "InternalIP", "address": self.net.node_address}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": self.logs.port}},
                    "capacity": capacity,
                    "allocatable": capacity,
                    "nodeInfo": {
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                        "kubeletVersion": "gateway-contour-node-agent",
                        "containerRuntimeVersion": "local-processes://1",
                        "kernelVersion": "",
                        "osImage": "",
                        "kubeProxyVersion": "",
                        "machineID": "",
                        "systemUUID": "",
                        "bootID": "",
                    },
                }
            },
        )
        self._heartbeat()

    def _heartbeat(self) -> None:
        now = _now()
        self.api.patch(
            f"/api/v1/nodes/{self.node}/status",
            {
                "status": {
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "node agent is posting ready status",
                            "lastHeartbeatTime": now,
                            "lastTransitionTime": now,
                        }
                    ]
                }
            },
        )
        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.node}"
        spec = {"holderIdentity": self.node, "leaseDurationSeconds": 40, "renewTime": _micro_now()}
        try:
            self.api.patch(lease_path, {"spec": spec}, kind="merge-patch")
        except ApiError as error:
            if error.status != 404:
                raise
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.node},
                "spec": spec,
            }
            self.api.request(
                "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease
            )

    def _heartbeats(self) -> None:
        while not self.stopping.wait(HEARTBEAT):
            try:
                self._heartbeat()
            except (OSError, ApiError) as error:
                log.warning("heartbeat failed: %s", error)

    # -- Pods

    def _log_path(self, namespace: str, name: str, container: str) -> Path | None:
        with self.lock:
            for pod in self.running.values():
                if pod.namespace == namespace and pod.name == name:
                    c = pod.containers.get(container)
                    return c.log_path if c else None
        return None

    def _pod_path(self, pod: dict[str, Any]) -> str:
        meta = pod["metadata"]
        return f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"

    def sync(self, pod: dict[str, Any]) -> None:
        """Bring one Pod's local state in line with the object (one at a time per Pod)."""
        uid = pod["metadata"]["uid"]
        with self.lock:
            lock = self.locks.setdefault(uid, threading.Lock())
        with lock:
            try:
                self._sync(pod)
            except (OSError, ApiError, RuntimeError) as error:
                # e.g. a Secret its volume names does not exist yet: retry, as a kubelet does
                log.warning("pod %s: %s; retrying", self._pod_path(pod), error)
                self._stop(uid)
                with self.lock:
                    self.retry[uid] = pod

    def _sync(self, pod: dict[str, Any]) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        uid, node = meta["uid"], spec.get("nodeName")
        if not node:
            if not meta.get("deletionTimestamp") and spec.get("schedulerName") in (
                None,
                "default-scheduler",
            ):
                self._bind(pod)
            return
        if node != self.node:
            return
        if meta.get("deletionTimestamp"):
            self._stop(uid)
            self._force_delete(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if uid in self.running or uid in self.failed or phase in ("Succeeded", "Failed"):
            return
        self._start(pod)

    def _bind(self, pod: dict[str, Any]) -> None:
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod["metadata"]["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": self.node},
        }
        try:
            self.api.request("POST", self._pod_path(pod) + "/binding", binding)
        except ApiError as error:
            if error.status not in (404, 409):
                raise

    def _start(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        directory = self.workdir / "pods" / f"{meta['namespace']}_{meta['name']}_{uid[:8]}"
        sandbox = self.net.create(uid)
        try:
            running = p.prepare(pod, directory, sandbox, self.net.node_address, self.api.get)
            with self.lock:
                self.running[uid] = running
            for container in running.containers.values():
                p.start_container(running, container)
            for container in running.containers.values():
                p.wait_ready(running, container)
        except p.PodError as error:
            log.warning("pod %s cannot run: %s", self._pod_path(pod), error)
            self._stop(uid)
            self.failed.add(uid)
            self._report_failure(pod, error)
            return
        except BaseException:
            self._stop(uid)
            raise
        self._report_running(pod, running)
        log.info("pod %s running on %s", self._pod_path(pod), sandbox.address)

    def _report_running(self, pod: dict[str, Any], running: p.RunningPod) -> None:
        now = _now()
        started = min(c.started_at for c in running.containers.values())
        start_time = datetime.datetime.fromtimestamp(started, datetime.UTC)
        statuses = [
            {
                "name": c.name,
                "image": c.image,
                "imageID": "",
                "containerID": f"local://{c.process.pid if c.process else 0}",
                "ready": True,
                "started": True,
                "restartCount": c.restarts,
                "state": {"running": {"startedAt": now}},
            }
            for c in running.containers.values()
        ]
        conditions = [
            {"type": t, "status": "True", "lastTransitionTime": now}
            for t in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")
        ]
        conditions.append({"type": "PodScheduled", "status": "True", "lastTransitionTime": now})
        status = {
            "phase": "Running",
            "hostIP": self.net.node_address,
            "hostIPs": [{"ip": self.net.node_address}],
            "podIP": running.sandbox.address,
            "podIPs": [{"ip": running.sandbox.address}],
            "startTime": start_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conditions": conditions,
            "containerStatuses": statuses,
        }
        self.api.patch(self._pod_path(pod) + "/status", {"status": status}, kind="merge-patch")

    def _report_failure(self, pod: dict[str, Any], error: p.PodError) -> None:
        statuses = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {"waiting": {"reason": error.reason, "message": str(error)}},
            }
            for c in pod["spec"]["containers"]
        ]
        status = {"phase": "Pending", "containerStatuses": statuses}
        self.api.patch(self._pod_path(pod) + "/status", {"status": status}, kind="merge-patch")

    def _stop(self, uid: str) -> None:
        with self.lock:
            running = self.running.pop(uid, None)
        if running is not None:
            for container in running.containers.values():
                p.stop_container(container, DELETE_GRACE)
        self.net.remove(uid)

    def _force_delete(self, pod: dict[str, Any]) -> None:
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": pod["metadata"]["uid"]},
        }
        try:
            self.api.request("DELETE", self._pod_path(pod), options)
        except ApiError as error:
            if error.status not in (404, 409):
                raise

    def _supervise(self) -> None:
        # restartPolicy Always (all the suite uses): restart containers that exit
        while not self.stopping.wait(1.0):
            with self.lock:
                pods = list(self.running.values())
                retry, self.retry = self.retry, {}
            for pod_object in retry.values():
                self.pool.submit(self.sync, pod_object)
            for pod in pods:
                for container in pod.containers.values():
                    process = container.process
                    if process is None or process.poll() is None or self.stopping.is_set():
                        continue
                    log.warning(
                        "%s/%s %s exited (%s): restarting",
                        pod.namespace,
                        pod.name,
                        container.name,
                        process.returncode,
                    )
                    container.restarts += 1
                    p.start_container(pod, container)

    # -- the watch loop

    def run(self) -> None:
        threading.Thread(target=self._heartbeats, daemon=True).start()
        threading.Thread(target=self._supervise, daemon=True).start()
        while not self.stopping.is_set():
            try:
                listing = self.api.get("/api/v1/pods")
                version = listing["metadata"]["resourceVersion"]
                present = {pod["metadata"]["uid"] for pod in listing["items"]}
                for pod in listing["items"]:
                    self.pool.submit(self.sync, pod)
                for uid in set(self.running) - present:
                    self.pool.submit(self._stop, uid)
                for event in self.api.watch("/api/v1/pods", version):
                    if self.stopping.is_set() or event["type"] == "ERROR":
                        break
                    if event["type"] == "BOOKMARK":
                        continue
                    pod = event["object"]
                    with self.lock:
                        self.retry.pop(pod["metadata"]["uid"], None)
                    if event["type"] == "DELETED":
                        with self.lock:
                            self.retry.pop(pod["metadata"]["uid"], None)
                        self.pool.submit(self._stop, pod["metadata"]["uid"])
                    else:
                        self.pool.submit(self.sync, pod)
            except (OSError, ApiError, ValueError) as error:
                if not self.stopping.is_set():
                    log.warning("pod watch: %s; relisting", error)
                    time.sleep(1)

    def shutdown(self) -> None:
        self.stopping.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for uid in list(self.running):
            self._stop(uid)
        if self.logs is not None:
            self.logs.stop()
        self.net.down()
        with contextlib.suppress(OSError, ApiError):
            self.api.request("DELETE", f"/api/v1/nodes/{self.node}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--node-name", default="gateway-contour-node")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.workdir.mkdir(parents=True, exist_ok=True)
    agent = NodeAgent(KubeApi(args.kubeconfig), args.workdir, args.node_name)

    def on_signal(_signum: int, _frame: object) -> None:
        agent.stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        agent.register()
        print(f"node-agent ready {agent.node} {agent.net.node_address}", flush=True)
        agent.run()
    except KeyboardInterrupt:
        pass
    finally:
        agent.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
