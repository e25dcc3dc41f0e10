"""Withholding objects after a NACK, without Envoy: the IR left without their output, their
statuses, when they are served again, and the fallback's search given a validator that
refuses a marked value (the real `envoy --mode validate` runs in tests/e2e/test_nack_fallback)."""

from __future__ import annotations

import copy
import textwrap
from typing import Any

from gateway_contour.envoy.resources import ROUTE, FleetResources
from gateway_contour.envoy.validate import ValidationResult
from gateway_contour.nack.fallback import NackFallback
from gateway_contour.nack.search import Outcome
from gateway_contour.nack.withhold import (
    Withheld,
    changed_sources,
    outputs_by_source,
    source_key,
    withhold_ir,
)
from gateway_contour.pipeline import Pipeline, build
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import KubeObject, ObjectKey, Snapshot
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.stats import NackEvent

LEGACY = "projectcontour/contour"
GATEWAY = "default/gw"
MARK = "refused-by-the-fake-envoy"

WORLD = textwrap.dedent(f"""\
    apiVersion: v1
    kind: Service
    metadata: {{name: app, namespace: default}}
    spec: {{ports: [{{name: http, port: 80, protocol: TCP}}]}}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: {{name: gc}}
    spec: {{controllerName: gateway-contour.dev/gateway-controller}}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {{name: gw, namespace: default}}
    spec:
      gatewayClassName: gc
      listeners: [{{name: http, port: 8080, protocol: HTTP}}]
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {{name: good, namespace: default}}
    spec:
      parentRefs: [{{name: gw}}]
      rules: [{{backendRefs: [{{name: app, port: 80}}]}}]
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {{name: bad, namespace: default}}
    spec:
      parentRefs: [{{name: gw}}]
      rules:
      - matches: [{{path: {{type: PathPrefix, value: /bad}}}}]
        filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {{set: [{{name: x-mark, value: {MARK}}}]}}
        backendRefs: [{{name: app, port: 80}}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {{name: proxy, namespace: default, generation: 4}}
    spec:
      virtualhost: {{fqdn: proxy.example.com}}
      routes: [{{services: [{{name: app, port: 80}}]}}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {{name: ing, namespace: default}}
    spec:
      rules:
      - host: ing.example.com
        http:
          paths:
          - {{path: /, pathType: Prefix, backend: {{service: {{name: app, port: {{number: 80}}}}}}}}
    """)

BAD = ObjectKey("HTTPRoute", "default", "bad")
PROXY = ObjectKey("HTTPProxy", "default", "proxy")
INGRESS = ObjectKey("Ingress", "default", "ing")


def world() -> Snapshot:
    loaded = load_text(WORLD, "world.yaml")
    assert not loaded.problems
    return Snapshot.of(loaded.objects)


def withheld(snapshot: Snapshot, *keys: ObjectKey) -> dict[ObjectKey, Withheld]:
    out = {}
    for key in keys:
        obj = snapshot.get(*key)
        assert obj is not None
        fleet = GATEWAY if key.kind == "HTTPRoute" else LEGACY
        out[key] = Withheld(key, obj, "refused: the reason", fleet)
    return out


def hosts(resources: FleetResources) -> set[str]:
    return {
        vh.name
        for route_config in resources[ROUTE].values()
        for vh in route_config.virtual_hosts  # type: ignore[attr-defined]
    }


def test_sources_are_read_in_both_forms() -> None:
    assert source_key("HTTPRoute/default/bad") == BAD
    assert source_key("Ingress default/ing") == INGRESS
    assert source_key("") is None


def test_withheld_output_is_left_out_and_the_rest_kept_as_it_was() -> None:
    full = build(world(), TranslateOptions())
    gateway = next(gw for gw in full.ir.gateways if gw.name == GATEWAY)
    assert set(outputs_by_source(gateway)) == {BAD, ObjectKey("HTTPRoute", "default", "good")}
    ir = withhold_ir(full.ir, [BAD, PROXY])
    left = {gw.name: outputs_by_source(gw) for gw in ir.gateways}
    assert set(left[GATEWAY]) == {ObjectKey("HTTPRoute", "default", "good")}
    assert set(left[LEGACY]) == {INGRESS}
    # the proxy's own virtual host is gone with its only route; the Ingress's host is the
    # very same object
    (legacy,) = [gw for gw in ir.gateways if gw.name == LEGACY]
    (before,) = [gw for gw in full.ir.gateways if gw.name == LEGACY]
    names = {vh.hostname for listener in legacy.listeners for vh in listener.virtual_hosts}
    assert "proxy.example.com" not in names and "ing.example.com" in names
    kept = [
        vh
        for ls in before.listeners
        for vh in ls.virtual_hosts
        if vh.hostname != "proxy.example.com"
    ]
    after = [vh for ls in legacy.listeners for vh in ls.virtual_hosts]
    assert all(a is b for a, b in zip(kept, after, strict=True))
    assert withhold_ir(full.ir, []) is full.ir
    assert withhold_ir(full.ir, [ObjectKey("HTTPRoute", "default", "nobody")]) is full.ir


def test_each_withheld_object_says_why() -> None:
    snapshot = world()
    result = build(snapshot, TranslateOptions(), withheld=withheld(snapshot, BAD, PROXY, INGRESS))
    assert set(result.withheld) == {BAD, PROXY, INGRESS}
    (parent,) = result.report.statuses[BAD]["parents"]
    accepted = {c["type"]: c for c in parent["conditions"]}["Accepted"]
    assert (accepted["status"], accepted["reason"]) == ("False", "UnsupportedValue")
    assert accepted["message"].startswith("Envoy refused the configuration made from this")
    assert accepted["message"].endswith("refused: the reason")
    proxy = result.report.statuses[PROXY]
    assert proxy["currentStatus"] == "invalid"
    (valid,) = proxy["conditions"]
    assert valid["observedGeneration"] == 4
    assert [(e["type"], e["reason"]) for e in valid["errors"]] == [("SpecError", "EnvoyRejected")]
    (problem,) = [p for p in result.report.problems if p.source == "Ingress default/ing"]
    assert "refused: the reason" in problem.reason
    good = result.report.statuses[ObjectKey("HTTPRoute", "default", "good")]
    assert {c["type"]: c for c in good["parents"][0]["conditions"]}["Accepted"]["status"] == "True"
    assert "proxy.example.com" not in hosts(result.resources[LEGACY])


def test_an_object_is_withheld_until_it_changes() -> None:
    snapshot = world()
    entries = withheld(snapshot, BAD, PROXY)
    # read again with the same content (a file rewritten): still withheld
    same = [copy.deepcopy(o) for o in snapshot.objects("HTTPRoute")]
    again = Snapshot.of([*others(snapshot, "HTTPRoute"), *same])
    assert set(build(again, TranslateOptions(), withheld=entries).withheld) == {BAD, PROXY}
    # changed, or gone: served again
    changed = [copy.deepcopy(o) for o in snapshot.objects("HTTPRoute")]
    for obj in changed:
        obj["spec"]["rules"][0].pop("filters", None)
    fixed = Snapshot.of([*others(snapshot, "HTTPRoute", "HTTPProxy"), *changed])
    assert build(fixed, TranslateOptions(), withheld=entries).withheld == {}


def others(snapshot: Snapshot, *kinds: str) -> list[KubeObject]:
    return [o for kind in snapshot.kinds() if kind not in kinds for o in snapshot.objects(kind)]


def test_candidates_are_what_changed_since_the_accepted_build() -> None:
    snapshot = world()
    accepted = build(Snapshot.of(others(snapshot, "HTTPProxy")), TranslateOptions()).ir
    now = build(snapshot, TranslateOptions()).ir

    def legacy(ir: Any) -> Any:
        return next(gw for gw in ir.gateways if gw.name == LEGACY)

    assert changed_sources(legacy(now), legacy(accepted)) == [PROXY]
    assert changed_sources(legacy(now), None) == [PROXY, INGRESS]
    assert changed_sources(legacy(now), legacy(now)) == [PROXY, INGRESS]


def refuses_mark(resources: FleetResources) -> ValidationResult:
    refused = any(
        MARK.encode() in message.SerializeToString()
        for by_name in resources.values()
        for message in by_name.values()
    )
    return ValidationResult(not refused, "the mark" if refused else "")


async def test_a_nack_withholds_what_the_search_finds_and_republishes() -> None:
    snapshot = world()
    pipeline = Pipeline(SnapshotCache(), TranslateOptions())
    assert await pipeline.rebuild(snapshot) is not None
    republished: list[int] = []

    async def republish() -> None:
        republished.append(len(pipeline.withheld))
        await pipeline.rebuild(snapshot)

    fallback = NackFallback(pipeline, pipeline.cache, republish, validate=refuses_mark)
    event = NackEvent(GATEWAY, "envoy-1", "delta", ROUTE, "1.1", "v1", "Envoy's own words", 3)
    search = await fallback.handle(event)
    assert search is not None and search.result.outcome is Outcome.FOUND
    assert search.result.responsible == {BAD} and search.candidates == 2
    assert set(pipeline.withheld) == {BAD} and republished == [1]
    assert pipeline.withheld[BAD].message == "Envoy's own words"
    assert pipeline.last is not None and set(pipeline.last.withheld) == {BAD}
    # the rebuilt configuration no longer has the refused value
    assert refuses_mark(pipeline.last.resources[GATEWAY]).ok
    # NACKed again with nothing to blame: nothing more withheld, nothing republished
    again = await fallback.handle(event)
    assert again is not None and again.result.outcome is Outcome.NOT_REPRODUCED
    assert republished == [1] and fallback.searches == {"found": 1, "not_reproduced": 1}
