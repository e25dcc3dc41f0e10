"""Property-based: random Gateway API objects, valid and invalid (Gateways with listeners,
frontend and backend TLS, ListenerSets, BackendTLSPolicies, HTTPRoutes with every match and
filter kind), go through translate and the Envoy builders. translate never fails
internally; every Gateway, ListenerSet, BackendTLSPolicy ancestor and every HTTPRoute that
names one of ours gets its conditions, each with a reason and a message; and the Envoy config
built from the IR passes `envoy --mode validate`.

`GC_PROPERTY_EXAMPLES` sets the number of examples (default 200, or 2000 when `CI` is set) and
`GC_PROPERTY_VALIDATE` how many of the distinct fleets they produce are run through Envoy
(default 16; 0, the default when `CI` is set, for all: on 2 cores 2,000 examples take ~35 s
and give ~300 distinct fleets, validated in ~20 s). Each HTTPRoute, listener and policy is
drawn either from valid values only or from valid and invalid ones, so that both routes that
reach Envoy and every kind of broken input are common.
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
CI = os.environ.get("CI", "") not in ("", "0", "false")
EXAMPLES = int(os.environ.get("GC_PROPERTY_EXAMPLES", "2000" if CI else "200"))
VALIDATE = int(os.environ.get("GC_PROPERTY_VALIDATE", "0" if CI else "16"))
GROUP = "gateway.networking.k8s.io"
NS = "default"
FLEETS: dict[bytes, FleetResources] = {}
CERT_PEM, KEY_PEM = self_signed("example.com")
CERT_B64, KEY_B64 = (base64.b64encode(v).decode() for v in (CERT_PEM, KEY_PEM))


def pick(valid: bool, good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    """A value from `good`, or (for an object allowed to be invalid) from `good` and `bad`."""
    return st.sampled_from(good if valid else good + bad)


def names(valid: bool) -> st.SearchStrategy[str]:
    return pick(valid, ["svc"], ["a", "b", "web", "missing", "", "UPPER", "x" * 70])


def hostnames(valid: bool) -> st.SearchStrategy[str]:
    good = ["example.com", "*.example.com", "a.example.com", "*.a.example.com"]
    return pick(valid, good, ["bad host", "*", "1.2.3.4"])


def ports(valid: bool) -> st.SearchStrategy[int]:
    return pick(valid, [80, 8080], [443, 0, 70000])


def paths(valid: bool) -> st.SearchStrategy[str]:
    return pick(valid, ["/", "/a", "/a/", "/a/b"], ["a", "/x?y", "(unbalanced", "/[a-z]+"])


def header_names(valid: bool) -> st.SearchStrategy[str]:
    return pick(valid, ["x-a", "X-B"], ["Host", "bad header", ":path", "x-a"])


def values(valid: bool) -> st.SearchStrategy[str]:
    return pick(valid, ["v", "two words", "*"], ["", "line\nbreak"])


@st.composite
def path_match(draw: st.DrawFn, valid: bool) -> dict[str, Any]:
    kind = draw(pick(valid, ["Exact", "PathPrefix"], ["RegularExpression", "Bogus"]))
    return {"type": kind, "value": draw(paths(valid))}


@st.composite
def match(draw: st.DrawFn, valid: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["path"] = draw(path_match(valid))
    if draw(st.booleans()):
        headers = {draw(header_names(valid)) for _ in range(draw(st.integers(0, 2)))}
        out["headers"] = [{"name": name, "value": draw(values(valid))} for name in sorted(headers)]
    if draw(st.booleans()):
        out["queryParams"] = [{"name": "q", "value": draw(values(valid))}]
    if draw(st.booleans()):
        out["method"] = draw(pick(valid, ["GET", "POST"], ["get", "BREW"]))
    return out


@st.composite
def filters(draw: st.DrawFn, valid: bool, forwards: bool) -> list[dict[str, Any]]:
    """A rule's filters; a valid rule that forwards to backends has no redirect, and has at
    most one filter of each type and never both a redirect and a rewrite (the CRD's rules)."""
    choices = [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {
                "set": [{"name": draw(header_names(valid)), "value": draw(values(valid))}],
                "remove": [draw(pick(valid, ["x-gone"], ["bad header", ":path"]))],
            },
        },
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {"add": [{"name": draw(header_names(valid)), "value": "v"}]},
        },
        {
            "type": "URLRewrite",
            "urlRewrite": {
                "hostname": draw(pick(valid, [None, "new.example.com"], ["*.bad"])),
                "path": draw(
                    pick(
                        valid,
                        [{"type": "ReplaceFullPath", "replaceFullPath": "/new"}],
                        [{"type": "ReplacePrefixMatch", "replacePrefixMatch": "/p"}],
                    )
                ),
            },
        },
        {
            "type": "RequestMirror",
            "requestMirror": {
                "backendRef": {"name": draw(names(valid)), "port": draw(pick(valid, [80], [0]))},
                "percent": draw(pick(valid, [0, 50, 100], [150])),
            },
        },
        {
            "type": "CORS",
            "cors": {
                "allowOrigins": [
                    draw(pick(valid, ["*", "https://a.com", "https://*.b.com"], ["x"]))
                ],
                "allowMethods": [draw(pick(valid, ["GET", "*"], ["get"]))],
                "allowCredentials": draw(st.booleans()),
            },
        },
    ]
    redirect = {
        "type": "RequestRedirect",
        "requestRedirect": {
            "scheme": draw(pick(valid, ["http", "https", None], ["ftp"])),
            "port": draw(pick(valid, [None, 8443], [0])),
            "statusCode": draw(pick(valid, [301, 302], [200])),
        },
    }
    if not valid:
        bogus = {"type": "ExtensionRef", "extensionRef": {"group": "x", "kind": "y", "name": "z"}}
        return draw(st.lists(st.sampled_from([*choices, redirect, bogus]), max_size=2))
    if not forwards:
        choices = [c for c in choices if c["type"] != "URLRewrite"] + [redirect]
    return draw(st.lists(st.sampled_from(choices), max_size=2, unique_by=lambda f: f["type"]))


@st.composite
def rule(draw: st.DrawFn, valid: bool) -> dict[str, Any]:
    backend_refs = [
        {
            "name": draw(names(valid)),
            "port": draw(ports(valid)) if not valid else 80,
            "weight": draw(pick(valid, [0, 1, 5], [-1])),
            **draw(pick(valid, [{}], [{"kind": "Bogus"}, {"namespace": "other"}])),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    out: dict[str, Any] = {
        "matches": draw(st.lists(match(valid), max_size=2)),
        "backendRefs": backend_refs,
        "filters": draw(filters(valid, forwards=bool(backend_refs))),
    }
    if draw(st.booleans()):
        out["timeouts"] = {"request": draw(pick(valid, ["1s", "500ms", "0s"], ["soon"]))}
    if draw(st.booleans()):
        out["retry"] = {"attempts": draw(pick(valid, [1, 3], [0])), "codes": [500]}
    return out


@st.composite
def listener(draw: st.DrawFn, index: int) -> dict[str, Any]:
    valid = index == 0 or draw(st.booleans())  # the first is valid, so that routes attach
    protocol = draw(pick(valid, ["HTTP", "HTTP", "HTTPS"], ["TCP", "BOGUS"]))
    port = draw(ports(valid)) if protocol != "HTTPS" or not valid else 443
    out: dict[str, Any] = {"name": f"l{index}", "port": port, "protocol": protocol}
    if draw(st.booleans()):
        out["hostname"] = draw(hostnames(valid))
    if protocol == "HTTPS":
        out["tls"] = {"certificateRefs": [{"name": draw(pick(valid, ["cert"], ["missing"]))}]}
    if draw(st.booleans()):
        out["allowedRoutes"] = {
            "namespaces": {"from": draw(pick(valid, ["Same", "All"], ["Nope"]))},
            "kinds": [{"kind": draw(pick(valid, ["HTTPRoute"], ["TCPRoute", "Bogus"]))}],
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
        valid = draw(st.booleans())
        objects.append(
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "BackendTLSPolicy",
                "metadata": {"name": "p", "namespace": NS},
                "spec": {
                    "targetRefs": [{"group": "", "kind": "Service", "name": "svc"}],
                    "validation": {
                        "hostname": draw(pick(valid, ["svc.example.com"], ["*.example.com", ""])),
                        "caCertificateRefs": [
                            {
                                "group": "",
                                "kind": "ConfigMap",
                                "name": draw(pick(valid, ["ca"], ["a", ""])),
                            }
                        ],
                    },
                },
            }
        )
    for index in range(draw(st.integers(1, 3))):
        valid = draw(st.booleans())  # a route drawn only from valid values, or from any
        parent: dict[str, Any] = {"name": draw(pick(valid, ["gw"], ["gw", "absent"]))}
        if draw(st.booleans()):
            parent.update(kind="ListenerSet", name="ls")
        if draw(st.booleans()):
            parent["sectionName"] = draw(pick(valid, ["l0"], ["l1", "none"]))
        if not valid and draw(st.booleans()):
            parent["port"] = draw(ports(valid))
        spec: dict[str, Any] = {
            "parentRefs": [parent],
            "rules": draw(st.lists(rule(valid), max_size=3)),
        }
        if draw(st.booleans()):
            spec["hostnames"] = draw(st.lists(hostnames(valid), max_size=2, unique=True))
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
    _assert_conditions(gateway["conditions"], {"Accepted", "Programmed", "ResolvedRefs"})
    assert len(gateway["listeners"]) == len(objects[1]["spec"]["listeners"])
    for listener_status in gateway["listeners"]:
        _assert_conditions(listener_status["conditions"], {"Accepted", "Programmed"})
    has_set = any(o["kind"] == "ListenerSet" for o in objects)
    if has_set:
        # its parent is our Gateway: the set is reported on, whatever is wrong with it
        listener_set = statuses["ListenerSet default/ls"]
        _assert_conditions(listener_set["conditions"], {"Accepted", "Programmed"})
        for listener_status in listener_set.get("listeners", []):
            _assert_conditions(listener_status["conditions"], {"Accepted", "Programmed"})
    for obj in (o for o in objects if o["kind"] == "HTTPRoute"):
        key = f"HTTPRoute default/{obj['metadata']['name']}"
        (parent_ref,) = obj["spec"]["parentRefs"]
        if parent_ref.get("kind") == "ListenerSet" and not has_set:
            # a ListenerSet we do not know may be another controller's: no status from us
            assert key not in statuses
            continue
        parents = statuses.get(key, {}).get("parents", [])
        if parent_ref.get("kind") == "ListenerSet" or parent_ref["name"] == "gw":
            assert len(parents) == 1, (key, statuses.get(key))  # ours: always answered
        for parent in parents:
            _assert_conditions(parent["conditions"], {"Accepted", "ResolvedRefs"}, exact=True)
    for ancestor in statuses.get("BackendTLSPolicy default/p", {}).get("ancestors", []):
        _assert_conditions(ancestor["conditions"], {"Accepted", "ResolvedRefs"}, exact=True)
    for fleet in build_resources(ir).values():
        content = b"".join(
            m.SerializeToString(deterministic=True)
            for by_name in fleet.values()
            for m in by_name.values()
        )
        FLEETS.setdefault(content, fleet)


def _assert_conditions(
    conditions: list[dict[str, Any]], types: set[str], exact: bool = False
) -> None:
    """Conditions of these types (at least, or exactly), each with a reason and a message."""
    found = {c["type"] for c in conditions}
    assert found == types if exact else found >= types, conditions
    for condition in conditions:
        assert condition["status"] in ("True", "False", "Unknown"), condition
        assert condition["reason"] and condition["message"], condition


def test_random_fleets_pass_envoy_validation() -> None:
    """Runs after the property above (file order) on the distinct fleets it built."""
    fleets = list(FLEETS.values())
    if VALIDATE:
        fleets = fleets[:: max(1, len(fleets) // VALIDATE)][:VALIDATE]
    assert fleets, "the property test built no fleet"
    print(f"validating {len(fleets)} of {len(FLEETS)} distinct fleets")
    results = validate_fleets(fleets)
    failures = [r.output for r in results if not r.ok]
    assert not failures, "\n\n".join(failures[:3])
