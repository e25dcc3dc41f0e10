"""Names `migrate` writes are unique by construction (issue 19, item 3) and within the API's
limits: hosts whose slugs collide (foo.bar.com, foo-bar.com) keep two listeners and two
HTTPRoutes; so do Ingress `a` with host b-c.example.com and Ingress `a-b` with
c.example.com; names past 253 characters are cut and hashed; and the API server's checks
(our validation: the CRDs' schemas and CEL) accept every object."""

from __future__ import annotations

from typing import Any

from gateway_contour.migrate import migrate
from gateway_contour.migrate.names import NAME_LIMIT, Names
from gateway_contour.validation import refusal

BACKEND = {"service": {"name": "app", "port": {"number": 80}}}


def ingress(name: str, host: str, tls: bool = False, namespace: str = "default") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": host,
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": BACKEND}]},
            }
        ]
    }
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": "cert"}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _check(objects: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Listener name -> hostname, and HTTPRoute name -> its hostnames; every object accepted
    and every name unique."""
    for obj in objects:
        assert refusal(obj) is None, refusal(obj)
    (gateway,) = [o for o in objects if o["kind"] == "Gateway"]
    listeners = {lst["name"]: lst.get("hostname", "") for lst in gateway["spec"]["listeners"]}
    assert len(listeners) == len(gateway["spec"]["listeners"])
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    keys = [(r["metadata"]["namespace"], r["metadata"]["name"]) for r in routes]
    assert len(set(keys)) == len(keys), keys
    return listeners, {r["metadata"]["name"]: r["spec"].get("hostnames", []) for r in routes}


def test_hosts_whose_slugs_collide_keep_their_listeners_and_routes() -> None:
    objects = migrate(
        [ingress("web", "foo.bar.com", tls=True), ingress("web2", "foo-bar.com", tls=True)]
    ).objects()
    listeners, _ = _check(objects)
    assert sorted(listeners.values()) == ["", "foo-bar.com", "foo.bar.com"]
    # and one Ingress naming both hosts gives two routes
    both = ingress("web", "foo.bar.com", tls=True)
    both["spec"]["rules"].append({**both["spec"]["rules"][0], "host": "foo-bar.com"})
    both["spec"]["tls"][0]["hosts"].append("foo-bar.com")
    listeners, routes = _check(migrate([both]).objects())
    assert sorted(listeners.values()) == ["", "foo-bar.com", "foo.bar.com"]
    assert sorted(map(tuple, routes.values())) == [("foo-bar.com",), ("foo.bar.com",)]
    # every route's sections name its own host's listener
    for route in (o for o in migrate([both]).objects() if o["kind"] == "HTTPRoute"):
        sections = [p["sectionName"] for p in route["spec"]["parentRefs"]]
        assert [listeners[s] for s in sections if s != "http"] == route["spec"]["hostnames"]


def test_ingress_and_host_pairs_whose_names_collide() -> None:
    objects = migrate([ingress("a", "b-c.example.com"), ingress("a-b", "c.example.com")]).objects()
    _, routes = _check(objects)
    assert "a-b-c-example-com" in routes  # the first keeps the derived name
    assert sorted(map(tuple, routes.values())) == [("b-c.example.com",), ("c.example.com",)]
    # in another namespace the derived name is free again
    other = migrate(
        [ingress("a", "b-c.example.com"), ingress("a-b", "c.example.com", namespace="x")]
    )
    assert {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in other.objects()} >= {
        ("default", "a-b-c-example-com"),
        ("x", "a-b-c-example-com"),
    }


def test_names_past_the_limit_are_cut_and_stay_unique() -> None:
    label = "l" * 63
    host = ".".join([label, label, label, "e" * 61])  # 253 characters: the longest hostname
    assert len(host) == 253
    name = "n" * 253
    second = ingress(name[:-1] + "m", host)
    # another path: the same one would never answer, and is left out (see test_migrate_ties)
    second["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/m"
    objects = migrate([ingress(name, host, tls=True), second]).objects()
    listeners, routes = _check(objects)
    assert all(len(n) <= NAME_LIMIT for n in [*listeners, *routes])
    assert len(routes) == 2


def test_the_same_owner_keeps_its_name() -> None:
    names = Names()
    first = names.claim("scope", "x", ("a",))
    assert first == "x"
    second = names.claim("scope", "x", ("b",))
    assert second != "x" and second.startswith("x-")
    assert names.claim("scope", "x", ("a",)) == "x"
    assert names.claim("scope", "x", ("b",)) == second
    assert names.claim("other", "x", ("b",)) == "x"
