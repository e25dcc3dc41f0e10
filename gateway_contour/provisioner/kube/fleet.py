"""Kubernetes provisioning on each rebuild: the Envoy fleet of every Gateway of our classes.

`KubeFleet.reconcile(snapshot, ir)` renders each Gateway's objects (objects.py) with its
own ContourDeployment (spec.infrastructure.parametersRef) when it names a usable one, else
its class's parameters (a Gateway's replaces the class's entirely, no field is merged), and
applies those whose rendering changed since the last apply (a digest per Gateway: an
unchanged world costs no request; a changed ContourDeployment is a changed rendering). A
fleet whose workload type changed loses the workload of the other kind. A Gateway that left
our classes loses its objects; a deleted Gateway's objects go by the garbage collector
(owner references).

`amend_report` puts each Gateway's Service addresses into its desired status: the load
balancer's ingress addresses when there are any, else the cluster IP. A Gateway that asks
for a static address (spec.addresses) gets the first usable one as its Service's
`loadBalancerIP` and reports the load balancer's addresses only (`address_usable`: an
IPAddress, inside one of `address_ranges` when the operator named the ranges the cluster's
load balancer gives; translate reports the others AddressNotUsable). A Gateway whose
Service has no address yet is not Programmed (AddressNotAssigned), nor one whose Envoy Pods
are all stuck (NoResources: an image that cannot be pulled, a crash loop; health.py). A
GatewayClass whose parametersRef cannot be used is not Accepted (InvalidParameters); its
Gateways are still provisioned, with the default parameters, so a typo does not take a
running fleet down. A Gateway whose own parametersRef cannot be used is rejected by the
translate stage (Accepted False, InvalidParameters, translate/gatewayapi/gateway.py) and
keeps the class's parameters here, for the same reason.

The implicit Ingress/HTTPProxy fleet is implicit.py's, reconciled along (`implicit`); its
Service's address is `implicit_status_address`.

A fleet object that someone else deletes, or whose spec they change, is applied again
(drift.py: the controller watches what it provisions).

Limits: what was applied is remembered in memory, so after a restart every fleet is applied
once more (a no-op for the API server), and a Gateway that left our classes while no
controller ran keeps its objects until it is deleted.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from gateway_contour.ir.model import IR, Protocol
from gateway_contour.providers.kubernetes.client import TRANSPORT_ERRORS, ApiError, KubeClient
from gateway_contour.provisioner.addresses import IP_ADDRESS, first_usable_address
from gateway_contour.provisioner.kube.apply import Applier
from gateway_contour.provisioner.kube.credentials import EnvoyCredentials
from gateway_contour.provisioner.kube.drift import AppliedObjects
from gateway_contour.provisioner.kube.health import fleet_problem, gateway_pods
from gateway_contour.provisioner.kube.implicit import ImplicitFleet, ImplicitFleetConfig
from gateway_contour.provisioner.kube.objects import (
    IMPLICIT_FLEET_LABEL,
    IMPLICIT_NAME,
    ControllerEndpoint,
    FleetSpec,
    fleet_objects,
    fleet_selector,
    secret_name,
    workload_name,
)
from gateway_contour.provisioner.kube.parameters import parameters_of_class, parameters_of_gateway
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import dicts, mapping, text

log = logging.getLogger(__name__)

Address = tuple[str, str]  # (Gateway API address type, value)
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
WORKLOAD_KINDS = ("DaemonSet", "Deployment")
REASON_ADDRESS_NOT_ASSIGNED = "AddressNotAssigned"
REASON_INVALID_PARAMETERS = "InvalidParameters"
REASON_NO_RESOURCES = "NoResources"  # the spec's reason: no Envoy can run (health.py)


def service_addresses(service: KubeObject) -> tuple[Address, ...]:
    """A Service's addresses as Gateway status addresses: its load balancer's ingress
    points, else its cluster IPs (none for a headless Service). A LoadBalancer Service, or
    one that asks for a static address (`loadBalancerIP`), has only its balancer's: its
    cluster IP is not where the clients it was made for can reach it, nor the address asked
    for, and reporting it until the balancer answers would hand them an address that changes
    under them (the Gateway stays AddressNotAssigned meanwhile, as in Envoy Gateway and
    Contour)."""
    ingress = dicts(mapping(mapping(service.get("status")).get("loadBalancer")).get("ingress"))
    found: list[Address] = []
    for point in ingress:
        if text(point.get("ip")):
            found.append(("IPAddress", text(point.get("ip"))))
        elif text(point.get("hostname")):
            found.append(("Hostname", text(point.get("hostname"))))
    spec = mapping(service.get("spec"))
    if found or spec.get("type") == "LoadBalancer" or spec.get("loadBalancerIP"):
        return tuple(found)
    ips = [text(ip) for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]]
    return tuple(("IPAddress", ip) for ip in ips if ip and ip != "None")


def _listener_ports(
    gateway: KubeObject, ir_ports: set[tuple[int, str]]
) -> tuple[tuple[int, str], ...]:
    ports = set(ir_ports)
    for listener in dicts(mapping(gateway.get("spec")).get("listeners")):
        port = listener.get("port")
        if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
            ports.add((port, "UDP" if listener.get("protocol") == "UDP" else "TCP"))
    return tuple(sorted(ports))


def _infrastructure(gateway: KubeObject) -> tuple[tuple[tuple[str, str], ...], ...]:
    infra = mapping(mapping(gateway.get("spec")).get("infrastructure"))
    return tuple(
        tuple(sorted((k, v) for k, v in mapping(infra.get(part)).items() if isinstance(v, str)))
        for part in ("labels", "annotations")
    )


def _digest(objects: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()


@dataclass
class _Applied:
    digest: str
    kind: str  # the workload kind applied
    namespace: str
    name: str
    objects: AppliedObjects = field(default_factory=AppliedObjects)


@dataclass
class KubeFleet:
    client: KubeClient
    credentials: EnvoyCredentials
    controller_name: str
    controller: ControllerEndpoint = field(default_factory=ControllerEndpoint)
    concurrency: int = 4
    implicit_config: ImplicitFleetConfig = field(default_factory=ImplicitFleetConfig)
    applier: Applier = field(init=False)
    implicit: ImplicitFleet = field(init=False)
    # Gateway "ns/name" -> what was last applied for it
    applied: dict[str, _Applied] = field(default_factory=dict)
    # Gateway "ns/name" -> its Service's addresses, as the last apply answered
    addresses: dict[str, tuple[Address, ...]] = field(default_factory=dict)
    # Gateway "ns/name" of every Gateway of ours at the last reconcile
    wanted: set[str] = field(default_factory=set)
    # what the cluster's load balancer can give (--load-balancer-address-range); () = any
    address_ranges: tuple[IPNetwork, ...] = ()
    _problems: dict[str, str] = field(default_factory=dict)
    # Gateway "ns/name" -> why its own parametersRef cannot be used (logged once)
    _gateway_problems: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.applier = Applier(self.client)
        config = replace(self.implicit_config, controller_name=self.controller_name)
        self.implicit = ImplicitFleet(self.applier, self.controller, config)

    def address_usable(self, type_: str, value: str) -> bool:
        """Whether a Gateway's static address can be asked of the cluster's load balancer."""
        if type_ != IP_ADDRESS:
            return False  # a Service asks its load balancer for an IP, never for a name
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return False
        return not self.address_ranges or any(ip in net for net in self.address_ranges)

    def desired(self, snapshot: Snapshot, ir: IR | None) -> dict[str, FleetSpec]:
        """Gateway "ns/name" -> its fleet, for every Gateway of a class of ours."""
        classes = {
            text(gc["metadata"].get("name")): gc
            for gc in snapshot.objects("GatewayClass")
            if mapping(gc.get("spec")).get("controllerName") == self.controller_name
        }
        class_params = {}
        for name, gc in classes.items():
            class_params[name], problem = parameters_of_class(gc, snapshot)
            self._note_problem(name, problem)
        for gone in set(self._problems) - set(classes):
            del self._problems[gone]
        by_name = {gw.name: gw for gw in ir.gateways} if ir is not None else {}
        out: dict[str, FleetSpec] = {}
        gateway_problems: dict[str, str] = {}
        for gateway in snapshot.objects("Gateway"):
            class_name = text(mapping(gateway.get("spec")).get("gatewayClassName"))
            if class_name not in classes:
                continue
            meta = gateway["metadata"]
            if meta.get("deletionTimestamp"):
                continue  # going: the garbage collector takes its fleet, we must not restore it
            full = f"{meta.get('namespace', '')}/{meta['name']}"
            own, problem = parameters_of_gateway(gateway, snapshot)
            params = own if own is not None else class_params[class_name]
            if problem is not None:
                gateway_problems[full] = problem
                if self._gateway_problems.get(full) != problem:
                    log.warning(
                        "Gateway %s: %s; provisioning with its class's parameters", full, problem
                    )
            ir_gateway = by_name.get(full)
            ir_ports: set[tuple[int, str]] = set()
            if ir_gateway is not None:
                labels, annotations = ir_gateway.labels, ir_gateway.annotations
                ir_ports = {
                    (lst.port, "UDP" if lst.protocol == Protocol.UDP else "TCP")
                    for lst in ir_gateway.listeners
                }
            else:
                labels, annotations = _infrastructure(gateway)
            out[full] = FleetSpec(
                namespace=text(meta.get("namespace")),
                name=text(meta.get("name")),
                uid=text(meta.get("uid")),
                ports=_listener_ports(gateway, ir_ports),
                labels=labels,
                annotations=annotations,
                params=params,
                load_balancer_ip=first_usable_address(gateway, self.address_usable) or "",
            )
        self._gateway_problems = gateway_problems
        return out

    def _note_problem(self, gateway_class: str, problem: str | None) -> None:
        if problem is None:
            self._problems.pop(gateway_class, None)
        elif self._problems.get(gateway_class) != problem:
            self._problems[gateway_class] = problem
            log.warning(
                "GatewayClass %s: %s; provisioning with the defaults", gateway_class, problem
            )

    async def reconcile(self, snapshot: Snapshot, ir: IR | None) -> bool:
        """Apply what changed; False when some request failed (a later call retries)."""
        desired = self.desired(snapshot, ir)
        self.wanted = set(desired)
        ok = True
        limiter = anyio.CapacityLimiter(self.concurrency)

        async def one(full: str, spec: FleetSpec) -> None:
            nonlocal ok
            async with limiter:
                if not await self._apply_fleet(full, spec, snapshot):
                    ok = False

        async with anyio.create_task_group() as tg:
            for full, spec in desired.items():
                tg.start_soon(one, full, spec)
        for full in sorted(set(self.applied) - set(desired)):
            if not await self._forget(full, snapshot):
                ok = False
        if ir is not None and not await self.implicit.reconcile(snapshot, ir, self.credentials):
            ok = False
        return ok

    async def _apply_fleet(self, full: str, spec: FleetSpec, snapshot: Snapshot) -> bool:
        stored = snapshot.get("Secret", spec.namespace, spec.secret_name)
        objects = fleet_objects(spec, self.controller, self.credentials.secret(full, stored))
        digest = _digest(objects)
        previous = self.applied.get(full)
        if previous is not None and previous.digest == digest:
            done_by_others = previous.objects.changed_by_others(snapshot)
            if done_by_others is None:
                return True
            log.info("the Envoy fleet of Gateway %s: %s; applying it again", full, done_by_others)
        kind = spec.params.workload_type
        applied = AppliedObjects()
        try:
            for obj in objects:
                stored = await self.applier.apply(obj)
                applied.note(stored)
                if obj["kind"] == "Service":
                    self.addresses[full] = service_addresses(stored)
            if previous is None or previous.kind != kind:
                for other in WORKLOAD_KINDS:
                    if other != kind:
                        name = workload_name(spec.name)
                        await self.applier.delete("apps/v1", other, spec.namespace, name)
        except (ApiError, *TRANSPORT_ERRORS) as err:
            log.warning("provisioning the Envoy fleet of Gateway %s failed: %s", full, err)
            return False
        self.applied[full] = _Applied(digest, kind, spec.namespace, spec.name, applied)
        log.info("provisioned the Envoy fleet of Gateway %s (%s)", full, kind)
        return True

    async def _forget(self, full: str, snapshot: Snapshot) -> bool:
        """`full` is no longer a Gateway of ours: if it still exists (its class changed),
        delete what we made for it; if it was deleted, the garbage collector does."""
        applied = self.applied[full]
        if snapshot.get("Gateway", applied.namespace, applied.name) is not None:
            name = workload_name(applied.name)
            try:
                await self.applier.delete("apps/v1", applied.kind, applied.namespace, name)
                await self.applier.delete("v1", "Service", applied.namespace, name)
                await self.applier.delete("v1", "ServiceAccount", applied.namespace, name)
                await self.applier.delete(
                    "v1", "Secret", applied.namespace, secret_name(applied.name)
                )
            except (ApiError, *TRANSPORT_ERRORS) as err:
                log.warning("removing the Envoy fleet of %s failed: %s", full, err)
                return False
            log.info("removed the Envoy fleet of Gateway %s (no longer ours)", full)
        del self.applied[full]
        self.addresses.pop(full, None)
        return True

    def implicit_status_address(self, snapshot: Snapshot) -> str | None:
        """The address of the implicit fleet's Service (the first of its load balancer's, else
        the cluster IP of a Service of another type), for Ingress and HTTPProxy status; None
        while it has none."""
        service = snapshot.get("Service", self.implicit_config.namespace, IMPLICIT_NAME)
        labels = mapping(mapping(service.get("metadata")).get("labels")) if service else {}
        if service is None or IMPLICIT_FLEET_LABEL not in labels:
            return None
        found = service_addresses(service)
        return found[0][1] if found else None

    def gateway_addresses(self, snapshot: Snapshot) -> dict[str, tuple[Address, ...]]:
        """Gateway "ns/name" -> its addresses: from the watched Service when it has some (a
        load balancer's ingress arrives as a status update), else from the apply answer."""
        out: dict[str, tuple[Address, ...]] = {}
        for full in self.wanted | set(self.applied):
            namespace, _, name = full.partition("/")
            live = snapshot.get("Service", namespace, workload_name(name))
            found = service_addresses(live) if live is not None else ()
            out[full] = found or self.addresses.get(full, ())
        return out

    def amend_report(self, report: StatusReport, snapshot: Snapshot) -> None:
        """What provisioning adds to the desired statuses: each Gateway's addresses
        (Programmed False, AddressNotAssigned, while it has none) and, for a GatewayClass
        whose parametersRef cannot be used, Accepted False with reason InvalidParameters."""
        addresses = self.gateway_addresses(snapshot)
        for key, status in report.statuses.items():
            if key.kind == "GatewayClass" and key.name in self._problems:
                for condition in status.get("conditions", []):
                    if condition.get("type") == "Accepted":
                        condition.update(
                            status="False",
                            reason=REASON_INVALID_PARAMETERS,
                            message=self._problems[key.name],
                        )
            if key.kind != "Gateway":
                continue
            full = f"{key.namespace}/{key.name}"
            if full not in self.wanted:
                continue
            found = addresses.get(full, ())
            if found:
                status["addresses"] = [{"type": t, "value": v} for t, v in found]
                pods = gateway_pods(snapshot, key.namespace, fleet_selector(key.name))
                problem = fleet_problem(pods)
                if problem is not None:
                    _not_programmed(status, REASON_NO_RESOURCES, problem)
                continue
            status.pop("addresses", None)
            _not_programmed(
                status, REASON_ADDRESS_NOT_ASSIGNED, "the Gateway's Service has no address yet"
            )


def _not_programmed(status: dict[str, Any], reason: str, message: str) -> None:
    for condition in status.get("conditions", []):
        if condition.get("type") == "Programmed" and condition.get("status") == "True":
            condition.update(status="False", reason=reason, message=message)
