"""Property-based: random Gateway API objects, valid and invalid (Gateways with listeners,
frontend and backend TLS, ListenerSets, BackendTLSPolicies, HTTPRoutes with every match and
filter kind), go through translate and the Envoy builders. translate never fails
internally, every Gateway and every HTTPRoute that names one of ours gets its conditions, and
the Envoy config built from the IR passes `envoy --mode validate`.

`GC_PROPERTY_EXAMPLES` sets the number of examples (default 200; CI runs 2000) and
`GC_PROPERTY_VALIDATE` how many of the distinct fleets they produce are run through Envoy
(default 16; 0 for all).
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

sys.path.insert(0, str(Path(__file__).parents[1] / "envoy"))
from envoy_testlib import self_signed

from gateway_contour.envoy.resources import FleetResources, build_resources
from gateway_contour.envoy.validate import validate_fleets
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate

# keep Hypothesis' working files out of the source tree
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "gateway-contour-hypothesis")
EXAMPLES = int(os.environ.get("GC_PROPERTY_EXAMPLES", "200"))
VALIDATE = int(os.environ.get("GC_PROPERTY_VALIDATE", "16"))
GROUP = "gateway.networking.k8s.io"
NS = "default"
FLEETS: dict[bytes, FleetResources] = {}
CERT_PEM, KEY_PEM = self_signed("example.com")
CERT_B64, KEY_B64 = (base64.b64encode(v).decode() for v in (CERT_PEM, KEY_PEM))

names = st.sampled_from(["a", "b", "svc", "web", "missing", "", "UPPER", "x" * 70])
hostnames = st.sampled_from(
    ["example.com", "*.example.com", "a.example.com", "*.a.example.com", "bad host", "*", "1.2.3.4"]
)
ports = st.sampled_from([80, 443, 8080, 0, 70000])
paths = st.sampled_from(["/", "/a", "/a/", "/a/b", "a", "/x?y", "(unbalanced", "/[a-z]+"])
header_names = st.sampled_from(["x-a", "X-B", "Host", "bad header", ":path", "x-a"])
values = st.sampled_from(["v", "", "two words", "line\nbreak", "*"])


@st.composite
def path_match(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Exact", "PathPrefix", "RegularExpression", "Bogus"]))
    return {"type": kind, "value": draw(paths)}


@st.composite
def match(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["path"] = draw(path_match())
    if draw(st.booleans()):
        out["headers"] = [
            {"name": draw(header_names), "value": draw(values)}
            for _ in range(draw(st.integers(0, 2)))
        ]
    if draw(st.booleans()):
        out["queryParams"] = [{"name": draw(names) or "q", "value": draw(values)}]
    if draw(st.booleans()):
        out["method"] = draw(st.sampled_from(["GET", "POST", "get", "BREW"]))
    return out


@st.composite
def filters(draw: st.DrawFn) -> list[dict[str, Any]]:
    choices = [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {
                "set": [{"name": draw(header_names), "value": draw(values)}],
                "remove": [draw(header_names)],
            },
        },
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {"add": [{"name": draw(header_names), "value": "v"}]},
        },
        {
            "type": "RequestRedirect",
            "requestRedirect": {
                "scheme": draw(st.sampled_from(["http", "https", "ftp", None])),
                "port": draw(st.sampled_from([None, 8443, 0])),
                "statusCode": draw(st.sampled_from([301, 302, 200])),
            },
        },
        {
            "type": "URLRewrite",
            "urlRewrite": {
                "hostname": draw(st.sampled_from([None, "new.example.com", "*.bad"])),
                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": draw(paths)},
            },
        },
        {
            "type": "RequestMirror",
            "requestMirror": {
                "backendRef": {"name": draw(names), "port": draw(ports)},
                "percent": draw(st.sampled_from([0, 50, 100, 150])),
            },
        },
        {
            "type": "CORS",
            "cors": {
                "allowOrigins": [
                    draw(st.sampled_from(["*", "https://a.com", "https://*.b.com", "x"]))
                ],
                "allowMethods": [draw(st.sampled_from(["GET", "*", "get"]))],
                "allowCredentials": draw(st.booleans()),
            },
        },
        {"type": "ExtensionRef", "extensionRef": {"group": "x", "kind": "y", "name": "z"}},
    ]
    return draw(st.lists(st.sampled_from(choices), max_size=2))


@st.composite
def rule(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "matches": draw(st.lists(match(), max_size=2)),
        "backendRefs": [
            {
                "name": draw(names),
                "port": draw(ports),
                "weight": draw(st.sampled_from([0, 1, 5, -1])),
                **draw(st.sampled_from([{}, {"kind": "Bogus"}, {"namespace": "other"}])),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
        "filters": draw(filters()),
    }
    if draw(st.booleans()):
        out["timeouts"] = {"request": draw(st.sampled_from(["1s", "500ms", "0s", "soon"]))}
    if draw(st.booleans()):
        out["retry"] = {"attempts": draw(st.sampled_from([1, 3, 0])), "codes": [500]}
    return out


@st.composite
def listener(draw: st.DrawFn, index: int) -> dict[str, Any]:
    protocol = draw(st.sampled_from(["HTTP", "HTTP", "HTTPS", "TCP", "BOGUS"]))
    out: dict[str, Any] = {"name": f"l{index}", "port": draw(ports), "protocol": protocol}
    if draw(st.booleans()):
        out["hostname"] = draw(hostnames)
    if protocol == "HTTPS":
        out["tls"] = {"certificateRefs": [{"name": draw(st.sampled_from(["cert", "missing"]))}]}
    if draw(st.booleans()):
        out["allowedRoutes"] = {
            "namespaces": {"from": draw(st.sampled_from(["Same", "All", "Nope"]))},
            "kinds": [{"kind": draw(st.sampled_from(["HTTPRoute", "TCPRoute", "Bogus"]))}],
        }
    return out


@st.composite
def world(draw: st.DrawFn) -> list[dict[str, Any]]:
    gateway_listeners = [draw(listener(i)) for i in range(draw(st.integers(0, 3)))]
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": f"{GROUP}/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "gc"},
            "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
        },
        {
            "apiVersion": f"{GROUP}/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": NS},
            "spec": {"gatewayClassName": "gc", "listeners": gateway_listeners},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cert", "namespace": NS},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": CERT_B64, "tls.key": KEY_B64},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "ca", "namespace": NS},
            "data": {"ca.crt": CERT_PEM.decode()},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc", "namespace": NS},
            "spec": {"ports": [{"name": "http", "port": 80, "appProtocol": "kubernetes.io/h2c"}]},
        },
    ]
    gateway_spec = objects[1]["spec"]
    if draw(st.booleans()):
        gateway_spec["allowedListeners"] = {
            "namespaces": {"from": draw(st.sampled_from(["All", "Same", "None", "Bogus"]))}
        }
    if draw(st.booleans()):
        ca_ref = {"group": "", "kind": draw(st.sampled_from(["ConfigMap", "Secret"])), "name": "ca"}
        gateway_spec["tls"] = {
            "frontend": {
                "default": {
                    "validation": {
                        "caCertificateRefs": [ca_ref],
                        "mode": draw(st.sampled_from(["AllowValidOnly", "AllowInsecureFallback"])),
                    }
                }
            },
            "backend": {"clientCertificateRef": {"name": draw(st.sampled_from(["cert", "x"]))}},
        }
    if draw(st.booleans()):
        objects.append(
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "ListenerSet",
                "metadata": {"name": "ls", "namespace": NS},
                "spec": {
                    "parentRef": {"name": "gw"},
                    "listeners": [draw(listener(i)) for i in range(draw(st.integers(0, 2)))],
                },
            }
        )
    if draw(st.booleans()):
        objects.append(
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "BackendTLSPolicy",
                "metadata": {"name": "p", "namespace": NS},
                "spec": {
                    "targetRefs": [{"group": "", "kind": "Service", "name": "svc"}],
                    "validation": {
                        "hostname": draw(hostnames),
                        "caCertificateRefs": [
                            {"group": "", "kind": "ConfigMap", "name": draw(names)}
                        ],
                    },
                },
            }
        )
    for index in range(draw(st.integers(1, 3))):
        parent: dict[str, Any] = {"name": draw(st.sampled_from(["gw", "gw", "absent"]))}
        if draw(st.booleans()):
            parent.update(kind="ListenerSet", name="ls")
        if draw(st.booleans()):
            parent["sectionName"] = draw(st.sampled_from(["l0", "l1", "none"]))
        if draw(st.booleans()):
            parent["port"] = draw(ports)
        spec: dict[str, Any] = {
            "parentRefs": [parent],
            "rules": draw(st.lists(rule(), max_size=3)),
        }
        if draw(st.booleans()):
            spec["hostnames"] = draw(st.lists(hostnames, max_size=2))
        objects.append(
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": f"r{index}", "namespace": NS},
                "spec": spec,
            }
        )
    return objects


@settings(
    max_examples=EXAMPLES,
    database=None,  # no .hypothesis directory in the tree
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(world())
def test_random_objects_translate_with_conditions(objects: list[dict[str, Any]]) -> None:
    ir, report = translate(Snapshot.of(objects), TranslateOptions())
    assert not report.problems, report.problems
    statuses = {s["object"]: s["status"] for s in report.to_data()["statuses"]}
    gateway = statuses["Gateway default/gw"]
    assert {c["type"] for c in gateway["conditions"]} >= {"Accepted", "Programmed"}
    assert len(gateway["listeners"]) == len(objects[1]["spec"]["listeners"])
    for listener_status in gateway["listeners"]:
        assert {c["type"] for c in listener_status["conditions"]} >= {"Accepted", "Programmed"}
    has_set = any(o["kind"] == "ListenerSet" for o in objects)
    for obj in (o for o in objects if o["kind"] == "HTTPRoute"):
        key = f"HTTPRoute default/{obj['metadata']['name']}"
        (parent_ref,) = obj["spec"]["parentRefs"]
        if parent_ref.get("kind") == "ListenerSet" and not has_set:
            # a ListenerSet we do not know may be another controller's: no status from us
            assert key not in statuses
            continue
        parents = statuses[key]["parents"]
        for parent in parents:
            types = {c["type"]: c for c in parent["conditions"]}
            assert set(types) == {"Accepted", "ResolvedRefs"}
            assert all(c["reason"] for c in types.values())
    for fleet in build_resources(ir).values():
        key = b"".join(
            m.SerializeToString(deterministic=True)
            for by_name in fleet.values()
            for m in by_name.values()
        )
        FLEETS.setdefault(key, fleet)


def test_random_fleets_pass_envoy_validation() -> None:
    """Runs after the property above (file order) on the distinct fleets it built."""
    fleets = list(FLEETS.values())
    if VALIDATE:
        fleets = fleets[:: max(1, len(fleets) // VALIDATE)][:VALIDATE]
    assert fleets, "the property test built no fleet"
    results = validate_fleets(fleets)
    failures = [r.output for r in results if not r.ok]
    assert not failures, "\n\n".join(failures[:3])
