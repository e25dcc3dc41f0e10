"""BackendTLSPolicy: TLS from Envoy to the Services a policy targets, and the policy's status.

A policy targets Services (optionally one port, by sectionName = port name) in its own
namespace. Its validation gives the SNI (`hostname`), the CA bundle (ConfigMaps under
`ca.crt` in the same namespace, or `wellKnownCACertificates: System`) and the names the
backend's certificate must carry (`subjectAltNames`, DNS and URI; the hostname when none).
A valid policy becomes the `UpstreamTLS` of the clusters of that Service port; a policy
without a usable CA makes those backends fail (5xx) rather than fall back to plaintext.

Two policies targeting the same Service port: the older (then by namespace/name) wins and
the other is Accepted False / Conflicted. Status is one ancestor entry per Gateway that
routes to a targeted Service, with Accepted and ResolvedRefs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import Secret, UpstreamTLS
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.age import Age, age
from gateway_contour.translate.gatewayapi.hostnames import hostname_error

KIND = "BackendTLSPolicy"
CA_KEY = "ca.crt"
WELL_KNOWN_SYSTEM = "System"
REASON_NO_VALID_CA_CERTIFICATE = "NoValidCACertificate"
REASON_INVALID_CA_CERTIFICATE_REF = "InvalidCACertificateRef"
REASON_CONFLICTED = "Conflicted"


@dataclass(slots=True)
class PolicyState:
    obj: KubeObject
    namespace: str
    name: str
    generation: int
    tls: UpstreamTLS | None = None
    ca: Secret | None = None
    # (Accepted reason, ResolvedRefs reason, message) when the policy cannot be used
    invalid: tuple[str, str, str] | None = None
    conflicted_by: str | None = None
    ancestors: set[tuple[str, str]] = field(default_factory=set)

    def status(self, controller_name: str) -> dict[str, Any]:
        gen = self.generation
        if self.conflicted_by is not None:
            accepted = c.condition(
                c.ACCEPTED,
                False,
                REASON_CONFLICTED,
                f"{self.conflicted_by} targets the same backend and takes precedence",
                gen,
            )
        elif self.invalid is not None:
            accepted = c.condition(c.ACCEPTED, False, self.invalid[0], self.invalid[2], gen)
        else:
            accepted = c.condition(c.ACCEPTED, True, c.REASON_ACCEPTED, "Policy is accepted", gen)
        if self.invalid is not None:
            resolved = c.condition(c.RESOLVED_REFS, False, self.invalid[1], self.invalid[2], gen)
        else:
            resolved = c.condition(
                c.RESOLVED_REFS, True, c.REASON_RESOLVED_REFS, "References resolved", gen
            )
        return {
            "ancestors": [
                {
                    "ancestorRef": {
                        "group": c.GROUP,
                        "kind": "Gateway",
                        "namespace": namespace,
                        "name": name,
                    },
                    "controllerName": controller_name,
                    "conditions": [accepted, resolved],
                }
                for namespace, name in sorted(self.ancestors)
            ]
        }


class BackendTLSPolicies:
    """The policies of a snapshot, by the Service port they target."""

    __slots__ = ("_by_target", "policies")

    def __init__(self, snapshot: Snapshot) -> None:
        self.policies: list[PolicyState] = []
        # (namespace, service, port name or None for every port) -> winning policy
        self._by_target: dict[tuple[str, str, str | None], PolicyState] = {}
        objects = sorted(snapshot.objects(KIND), key=_age)
        for obj in objects:
            meta = obj["metadata"]
            state = PolicyState(
                obj=obj,
                namespace=meta["namespace"],
                name=meta["name"],
                generation=c.generation_of(obj),
            )
            _validate(state, snapshot)
            self.policies.append(state)
            for ref in dicts(mapping(obj.get("spec")).get("targetRefs")):
                if text(ref.get("group")) != "" or text(ref.get("kind")) != "Service":
                    continue
                key = (state.namespace, text(ref.get("name")), text(ref.get("sectionName")) or None)
                holder = self._by_target.get(key)
                if holder is None:
                    self._by_target[key] = state
                elif holder is not state:
                    state.conflicted_by = f"{KIND} {holder.namespace}/{holder.name}"

    def for_backend(self, namespace: str, service: str, port_name: str) -> PolicyState | None:
        """The policy for a Service port: one naming the port wins over one for the whole
        Service."""
        found = self._by_target.get((namespace, service, port_name or None))
        if found is None or found.conflicted_by is not None:
            found = self._by_target.get((namespace, service, None))
        if found is not None and found.conflicted_by is not None:
            return None
        return found

    def fingerprint(self) -> tuple[Any, ...]:
        """What compiled routes take from the policies: which Service ports get which TLS,
        and which fail. (CA contents travel as secrets and are not part of it.)"""
        entries = [
            (key, state.tls, state.invalid is None)
            for key, state in self._by_target.items()
            if state.conflicted_by is None
        ]
        entries.sort(key=lambda entry: (entry[0][0], entry[0][1], entry[0][2] or ""))
        return tuple(entries)

    def secrets(self) -> list[Secret]:
        return [p.ca for p in self.policies if p.ca is not None and p.invalid is None]


def _age(obj: KubeObject) -> Age:
    return age(obj["metadata"])


def _validate(state: PolicyState, snapshot: Snapshot) -> None:
    spec = mapping(state.obj.get("spec"))
    validation = mapping(spec.get("validation"))
    hostname = text(validation.get("hostname"))
    if not hostname or hostname_error(hostname) or hostname.startswith("*"):
        state.invalid = (
            c.REASON_INVALID,
            c.REASON_RESOLVED_REFS,
            f"validation.hostname {hostname!r} is not a valid hostname",
        )
        return
    dns_sans: list[str] = []
    uri_sans: list[str] = []
    for san in dicts(validation.get("subjectAltNames")):
        if text(san.get("type")) == "URI" and text(san.get("uri")):
            uri_sans.append(text(san.get("uri")))
        elif text(san.get("type")) == "Hostname" and text(san.get("hostname")):
            dns_sans.append(text(san.get("hostname")))
        else:
            state.invalid = (c.REASON_INVALID, c.REASON_RESOLVED_REFS, f"subjectAltName {san!r}")
            return
    refs = dicts(validation.get("caCertificateRefs"))
    well_known = text(validation.get("wellKnownCACertificates"))
    ca_name: str | None = None
    if refs:
        bundles, names = [], []
        problem: tuple[str, str] | None = None
        for ref in refs:
            found = _config_map_ca(state.namespace, ref, snapshot)
            if isinstance(found, tuple):
                problem = problem or found
                continue
            names.append(f"{state.namespace}/{text(ref.get('name'))}/configmap")
            bundles.append(found)
        if problem is not None:
            # any unusable reference invalidates the policy: validating against a partial
            # trust store is not what its author asked for
            state.invalid = (REASON_NO_VALID_CA_CERTIFICATE, problem[0], problem[1])
            return
        ca_name = "+".join(names)
        joined = b"\n".join(b.rstrip(b"\n") for b in bundles) + b"\n"
        state.ca = Secret(name=ca_name, ca=joined)
    elif well_known != WELL_KNOWN_SYSTEM:
        state.invalid = (
            c.REASON_INVALID,
            REASON_INVALID_CA_CERTIFICATE_REF,
            f"wellKnownCACertificates {well_known!r} is not supported (only System)",
        )
        return
    state.tls = UpstreamTLS(
        sni=hostname,
        ca_secret=ca_name,
        subject_alt_names=tuple(dns_sans),
        subject_alt_uris=tuple(uri_sans),
    )


def _config_map_ca(
    namespace: str, ref: dict[str, Any], snapshot: Snapshot
) -> bytes | tuple[str, str]:
    group, kind, name = text(ref.get("group")), text(ref.get("kind")), text(ref.get("name"))
    if (group, kind) != ("", "ConfigMap"):
        shown = f"{group}/{kind}" if group else kind
        return (c.REASON_INVALID_KIND, f"caCertificateRef {shown} {name} is not a ConfigMap")
    config_map = snapshot.get("ConfigMap", namespace, name)
    if config_map is None:
        return (REASON_INVALID_CA_CERTIFICATE_REF, f"ConfigMap {namespace}/{name} not found")
    value = mapping(config_map.get("data")).get(CA_KEY)
    if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
        return (
            REASON_INVALID_CA_CERTIFICATE_REF,
            f"ConfigMap {namespace}/{name} has no PEM certificate under {CA_KEY}",
        )
    return value.encode()
