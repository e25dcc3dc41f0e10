"""What stands in for a cloud load balancer on the test node.

A cloud gives a Service of type LoadBalancer an address outside the cluster and fills its
`status.loadBalancer.ingress`; gateway-contour reports that address in the Gateway's
`status.addresses`, which is what the conformance suite dials. Here `LoadBalancers`, a small
controller of the kind kind users run (cloud-provider-kind, MetalLB in layer-2 mode), does
the cloud's part: it watches Services and gives each LoadBalancer one an address of
`LB_CIDR`. This namespace routes that range to the node (kube_node.NodeNetwork), where
kube-proxy forwards an ingress address's traffic to the Service's endpoints as it does its
cluster IP. Nothing else of a cloud is imitated: no health checks, no node ports in the path.

A Service that asks for an address (`spec.loadBalancerIP`) gets it if it lies in the range and
no other Service holds it; otherwise it is left without one, as a cloud leaves a Service whose
requested address it cannot give (pending). A Service that stops being a LoadBalancer, or is
deleted, gives its address back.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import ssl
import threading
import urllib.error
import urllib.request
from typing import Any

from tests.support.kube_cluster import KubeCluster
from tests.support.kube_node import LB_CIDR

log = logging.getLogger(__name__)

WATCH_SECONDS = 60  # the API server ends each watch after this; the loop starts another


class LoadBalancers:
    """`start()` runs the controller in a thread until `stop()`."""

    def __init__(self, cluster: KubeCluster, cidr: str = LB_CIDR) -> None:
        self.cluster = cluster
        # .0 is the network; the first addresses are left to whoever routes the range
        self.pool = [str(ip) for ip in list(ipaddress.ip_network(cidr).hosts())[9:]]
        self.held: dict[str, str] = {}  # address -> Service uid
        self._ssl = ssl.create_default_context(cafile=str(cluster.ca_file))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-balancers", daemon=True)
        self._response: Any = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            response.close()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)

    # ----------------------------------------------------------------------------- the API

    def _open(self, method: str, path: str, body: object = None, timeout: float = 30) -> Any:
        request = urllib.request.Request(
            self.cluster.server + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self.cluster.token}",
                "Content-Type": "application/merge-patch+json",
            },
        )
        return urllib.request.urlopen(request, context=self._ssl, timeout=timeout)

    def _set_ingress(self, service: dict[str, Any], address: str | None) -> None:
        meta = service["metadata"]
        ingress = [{"ip": address, "ipMode": "VIP"}] if address else []
        path = f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status"
        try:
            self._open("PATCH", path, {"status": {"loadBalancer": {"ingress": ingress}}}).close()
        except urllib.error.HTTPError as error:
            if error.code != 404:  # deleted meanwhile: its DELETED event frees the address
                raise

    # ---------------------------------------------------------------------------- the logic

    def _release(self, uid: str) -> None:
        for address in [a for a, holder in self.held.items() if holder == uid]:
            del self.held[address]

    def _choose(self, service: dict[str, Any]) -> str | None:
        uid = service["metadata"]["uid"]
        wanted = (service.get("spec") or {}).get("loadBalancerIP") or ""
        if wanted:
            if wanted in self.pool and self.held.get(wanted, uid) == uid:
                return wanted
            return None  # not ours to give: left pending
        mine = [a for a, holder in self.held.items() if holder == uid]
        if mine:
            return mine[0]
        return next((a for a in self.pool if a not in self.held), None)

    def reconcile(self, service: dict[str, Any], deleted: bool = False) -> None:
        uid = service["metadata"]["uid"]
        current = [
            point.get("ip")
            for point in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress")
            or []
        ]
        if deleted or (service.get("spec") or {}).get("type") != "LoadBalancer":
            had = any(holder == uid for holder in self.held.values())
            self._release(uid)
            if had and not deleted:
                self._set_ingress(service, None)
            return
        address = self._choose(service)
        self._release(uid)
        if address is not None:
            self.held[address] = uid
        if current != ([address] if address else []):
            meta = service["metadata"]
            where = f"{meta['namespace']}/{meta['name']}"
            log.info("Service %s: load balancer address %s", where, address)
            self._set_ingress(service, address)

    # ----------------------------------------------------------------------------- the loop

    def _list(self) -> str:
        with self._open("GET", "/api/v1/services") as response:
            listing = json.load(response)
        live = {s["metadata"]["uid"] for s in listing["items"]}
        for uid in set(self.held.values()) - live:
            self._release(uid)
        for service in listing["items"]:
            self.reconcile(service)
        return str(listing["metadata"]["resourceVersion"])

    def _watch(self, version: str) -> str | None:
        """Follow one watch; the version to go on from, or None to list again."""
        path = f"/api/v1/services?watch=1&resourceVersion={version}&timeoutSeconds={WATCH_SECONDS}"
        with self._open("GET", path, timeout=WATCH_SECONDS + 30) as response:
            self._response = response
            for line in response:
                if self._stop.is_set():
                    return None
                event = json.loads(line)
                if event["type"] == "ERROR":
                    return None  # 410 Gone and the like: list again
                service = event["object"]
                self.reconcile(service, deleted=event["type"] == "DELETED")
                version = service["metadata"]["resourceVersion"]
        return version

    def _run(self) -> None:
        version: str | None = None
        while not self._stop.is_set():
            try:
                version = self._list() if version is None else self._watch(version)
            except (OSError, ValueError, KeyError, http.client.HTTPException) as error:
                if self._stop.is_set():
                    return
                log.warning("load balancer controller: %s; listing again", error)
                version = None
                self._stop.wait(1.0)
            except AttributeError:  # stop() closed the watch under http.client's feet
                if self._stop.is_set():
                    return
                raise
