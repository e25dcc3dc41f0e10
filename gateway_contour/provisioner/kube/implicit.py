"""Kubernetes provisioning of the implicit fleet that serves Ingress and HTTPProxy.

Ingress and HTTPProxy objects name no Gateway: one fleet serves all of them
(translate/legacy.py: `TranslateOptions.legacy_fleet`, "projectcontour/contour" by default,
HTTP on 8080, HTTPS on 8443). While the IR has that fleet, `ImplicitFleet.reconcile`
applies its ServiceAccount, xDS client Secret, workload and Service in the fleet's
namespace (the part of its name before "/"), rendered by objects.py with `implicit=True`:
no owner reference, the IMPLICIT_FLEET_LABEL, and Service ports 80->8080 and 443->8443 as
Contour's envoy Service has them. Nothing is created when that namespace does not exist
(logged once). Parameters: the defaults, or the ContourDeployment `parameters` names
("namespace/name", `serve --legacy-fleet-parameters`); one that cannot be used is logged
and the defaults apply.

No object owns these, so the garbage collector cannot remove them: whenever what is wanted
changes (and once after start, for what an earlier run left), every object carrying the
label and this install's INSTALL_LABEL (another controller's fleet is not ours to sweep)
that is not wanted now is deleted (no Ingress/HTTPProxy is left, the fleet's
namespace or name changed, its workload changed kind). The Service's address becomes the
Ingress and HTTPProxy status address (`KubeFleet.implicit_status_address`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import IR
from gateway_contour.providers.kubernetes.client import TRANSPORT_ERRORS, ApiError
from gateway_contour.providers.kubernetes.discovery import PROVISIONED_SELECTOR
from gateway_contour.provisioner.kube.apply import PLURALS, Applier
from gateway_contour.provisioner.kube.credentials import EnvoyCredentials
from gateway_contour.provisioner.kube.drift import AppliedObjects
from gateway_contour.provisioner.kube.objects import (
    IMPLICIT_FLEET_LABEL,
    INSTALL_LABEL,
    ControllerEndpoint,
    FleetSpec,
    fleet_objects,
    install_id,
)
from gateway_contour.provisioner.kube.parameters import DEFAULTS, parameters_named
from gateway_contour.store.objects import Snapshot

log = logging.getLogger(__name__)

# the apps/v1 kinds first: Pods go before the Secret and ServiceAccount they use
SWEPT = sorted(PLURALS, key=lambda kind: kind[0] != "apps/v1")
Identity = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


@dataclass(frozen=True, slots=True)
class ImplicitFleetConfig:
    fleet: str = "projectcontour/contour"  # TranslateOptions.legacy_fleet
    http_port: int = 8080
    https_port: int = 8443
    parameters: str | None = None  # "namespace/name" of a ContourDeployment
    controller_name: str = ""  # the install's (KubeFleet sets it): see objects.INSTALL_LABEL

    @property
    def selector(self) -> str:
        """Every object of this install's implicit fleet, whatever its namespace or name."""
        install = f"{INSTALL_LABEL}={install_id(self.controller_name)}"
        return f"{IMPLICIT_FLEET_LABEL},{PROVISIONED_SELECTOR},{install}"

    @property
    def namespace(self) -> str:
        return self.fleet.partition("/")[0]

    @property
    def name(self) -> str:
        return self.fleet.partition("/")[2]


def implicit_spec(
    config: ImplicitFleetConfig, snapshot: Snapshot
) -> tuple[FleetSpec | None, str | None]:
    """The fleet to provision and what is wrong (None, why: nothing can be provisioned;
    a spec and why: provisioned with the default parameters)."""
    namespace, name = config.namespace, config.name
    if not namespace or not name:
        return None, f"the fleet name {config.fleet!r} is not namespace/name"
    if snapshot.get("Namespace", "", namespace) is None:
        return None, f"its namespace {namespace} does not exist; its Envoys are not provisioned"
    params, problem = DEFAULTS, None
    if config.parameters:
        ref_namespace, _, ref_name = config.parameters.partition("/")
        params, problem = parameters_named(ref_namespace, ref_name, snapshot)
        if problem is not None:
            problem += "; provisioning with the defaults"
    spec = FleetSpec(
        namespace=namespace,
        name=name,
        uid="",
        ports=tuple(sorted({(config.http_port, "TCP"), (config.https_port, "TCP")})),
        params=params,
        implicit=True,
        published=((config.http_port, 80), (config.https_port, 443)),
        install=install_id(config.controller_name),
    )
    return spec, problem


def _identity(obj: dict[str, Any]) -> Identity:
    meta = obj.get("metadata") or {}
    return (
        str(obj.get("apiVersion")),
        str(obj.get("kind")),
        str(meta.get("namespace")),
        str(meta.get("name")),
    )


@dataclass
class ImplicitFleet:
    applier: Applier
    controller: ControllerEndpoint
    config: ImplicitFleetConfig
    # digest of what was last made to exist (None: nothing since start, not even a sweep)
    digest: str | None = None
    applied: AppliedObjects = field(default_factory=AppliedObjects)
    _noted: str | None = None

    def wanted(self, ir: IR) -> bool:
        return any(gateway.name == self.config.fleet for gateway in ir.gateways)

    def _note(self, problem: str | None) -> None:
        if problem is not None and problem != self._noted:
            log.warning("the Ingress/HTTPProxy fleet %s: %s", self.config.fleet, problem)
        self._noted = problem

    async def reconcile(self, snapshot: Snapshot, ir: IR, credentials: EnvoyCredentials) -> bool:
        """Make the fleet's objects what the IR wants; False when a request failed (a later
        call retries)."""
        spec, problem = implicit_spec(self.config, snapshot) if self.wanted(ir) else (None, None)
        self._note(problem)
        try:
            # the client certificate is read on each call: a rotated one is applied
            objects = []
            if spec is not None:
                stored = snapshot.get("Secret", spec.namespace, spec.secret_name)
                secret = credentials.secret(spec.full_name, stored)
                objects = fleet_objects(spec, self.controller, secret)
            digest = hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()
            if digest == self.digest:
                done_by_others = self.applied.changed_by_others(snapshot)
                if done_by_others is None:
                    return True
                log.info(
                    "the Ingress/HTTPProxy fleet %s: %s; applying it again",
                    self.config.fleet,
                    done_by_others,
                )
            applied = AppliedObjects()
            for obj in objects:
                applied.note(await self.applier.apply(obj))
            removed = await self._sweep({_identity(obj) for obj in objects})
        except (ApiError, *TRANSPORT_ERRORS) as err:
            log.warning(
                "provisioning the Ingress/HTTPProxy fleet %s failed: %s", self.config.fleet, err
            )
            return False
        self.digest, self.applied = digest, applied
        if spec is not None:
            log.info(
                "provisioned the Ingress/HTTPProxy fleet %s (%s)",
                self.config.fleet,
                spec.params.workload_type,
            )
        if removed:
            log.info(
                "removed %d objects of the Ingress/HTTPProxy fleet: %s",
                len(removed),
                ", ".join(removed),
            )
        return True

    async def _sweep(self, keep: set[Identity]) -> list[str]:
        """Delete every labeled object not in `keep`; what was deleted."""
        removed = []
        for api_version, kind in SWEPT:
            for obj in await self.applier.list_labeled(api_version, kind, self.config.selector):
                # a list answers items without apiVersion and kind
                obj = {**obj, "apiVersion": api_version, "kind": kind}
                identity = _identity(obj)
                if identity in keep:
                    continue
                if await self.applier.delete(*identity):
                    removed.append(f"{kind} {identity[2]}/{identity[3]}")
        return removed
