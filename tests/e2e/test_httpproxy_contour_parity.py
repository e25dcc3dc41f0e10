"""HTTPProxy behaviour Contour's own end-to-end tests expect (issue 21), through a real Envoy
in host mode: header conditions with treatMissingAsEmpty, adjacent slashes merged before
routing (unless the operator disables it), a wildcard fqdn covering one label, Host set
from another request header (a host rewrite, over HTTP and HTTPS), responses compressed
(gzip by default, or the operator's choice), include errors reported and served around as
Contour does."""

from __future__ import annotations

import contextlib
import gzip
import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway_contour.certs.authority import generate_ca, issue
from gateway_contour.ir.model import Compression, HTTPSettings
from tests.e2e.host_world import HostWorld, tls_secret_yaml
from tests.e2e.http_client import eventually

pytestmark = pytest.mark.e2e

CA = generate_ca("parity-e2e-ca")

PROXIES = textwrap.dedent("""\
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: conditions, namespace: default}
    spec:
      virtualhost: {fqdn: conditions.example.com}
      routes:
      - services: [{name: app, port: 80}]
      - conditions:
        - prefix: /missing-as-empty
        - header: {name: x-tier, notcontains: gold, treatMissingAsEmpty: true}
        services: [{name: api, port: 80}]
      - conditions:
        - prefix: /missing-as-empty
        - header: {name: x-zone, notexact: silver, treatMissingAsEmpty: true}
        - header: {name: x-lane, present: true}
        services: [{name: api, port: 80}]
      - conditions:
        - prefix: /missing-is-missing
        - header: {name: x-tier, notcontains: gold}
        services: [{name: api, port: 80}]
      - conditions: [{prefix: /foo}]
        services: [{name: api, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: wildcard, namespace: default}
    spec:
      virtualhost: {fqdn: "*.domain.io"}
      routes:
      - services: [{name: api, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: rewrite, namespace: default}
    spec:
      virtualhost:
        fqdn: rewrite.example.com
        tls: {secretName: rewrite-cert}
      routes:
      - permitInsecure: true
        requestHeadersPolicy:
          set: [{name: Host, value: "%REQ(x-host-rewrite)%"}]
        services: [{name: api, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: partial, namespace: default}
    spec:
      virtualhost: {fqdn: partial.example.com}
      routes:
      - services: [{name: app, port: 80}]
      includes:
      - {name: missing, conditions: [{prefix: /gone}]}
      - {name: wildcard, conditions: [{prefix: /root}]}
      - {name: child, conditions: [{prefix: /child}]}
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: strict, namespace: default}
    spec:
      virtualhost: {fqdn: strict.example.com}
      routes:
      - services: [{name: app, port: 80}]
      includes:
      - {name: exact-child, conditions: [{exact: /exactly}]}
      - {name: regex-child, conditions: [{regex: "/re.*"}]}
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: cyclic, namespace: default}
    spec:
      virtualhost: {fqdn: cyclic.example.com}
      routes:
      - services: [{name: app, port: 80}]
      includes:
      - {name: b, conditions: [{prefix: /b}]}
    """)
CHILDREN = "---\n".join(
    textwrap.dedent(f"""\
        apiVersion: projectcontour.io/v1
        kind: HTTPProxy
        metadata: {{name: {name}, namespace: default}}
        spec:
          routes:
          - services: [{{name: api, port: 80}}]
          includes: {includes}
        """)
    for name, includes in (
        ("child", "[]"),
        ("exact-child", "[]"),
        ("regex-child", "[]"),
        ("b", "[{name: c, conditions: [{prefix: /c}]}]"),
        ("c", "[{name: b, conditions: [{prefix: /again}]}]"),
    )
)


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, http: HTTPSettings | None = None) -> AsyncIterator[HostWorld]:
    """The proxies served by host mode, with the operator's `http` settings."""
    world = HostWorld(tmp_path, ("app", "api"), http=http or HTTPSettings())
    world.start_backends()
    secret = tls_secret_yaml("rewrite-cert", "default", *issue(CA, "rewrite.example.com"))
    try:
        async with world.running("---\n".join([PROXIES, CHILDREN, secret])):
            await eventually(
                lambda: world.get("/", host="conditions.example.com"),
                lambda r: r.backend == "app",
            )
            yield world
    finally:
        world.stop_backends()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[HostWorld]:
    async with serving(tmp_path) as world:
        yield world


async def test_treat_missing_as_empty(world: HostWorld) -> None:
    assert world.statuses()["HTTPProxy default/conditions"]["currentStatus"] == "valid"

    async def backend(path: str, **headers: str) -> str | None:
        found = await world.get(path, host="conditions.example.com", headers=headers)
        return found.backend

    # without the header: "" does not contain "gold", so the notcontains route matches
    assert await backend("/missing-as-empty") == "api"
    assert await backend("/missing-as-empty", **{"x-tier": "bronze"}) == "api"
    assert await backend("/missing-as-empty", **{"x-tier": "gold"}) == "app"
    # notexact with it, beside another condition: a missing x-zone is "", not "silver"
    gold = {"x-tier": "gold", "x-lane": "1"}
    assert await backend("/missing-as-empty", **gold) == "api"
    assert await backend("/missing-as-empty", **gold, **{"x-zone": "silver"}) == "app"
    # without treatMissingAsEmpty a negated match needs the header to be there
    assert await backend("/missing-is-missing") == "app"
    assert await backend("/missing-is-missing", **{"x-tier": "bronze"}) == "api"


async def test_adjacent_slashes_are_merged(world: HostWorld) -> None:
    merged = await world.get("//foo//bar", host="conditions.example.com")
    # routed as /foo/bar, and forwarded so
    assert (merged.backend, merged.json()["path"]) == ("api", "/foo/bar")
    assert (await world.get("/foo", host="conditions.example.com")).backend == "api"


async def test_merging_slashes_can_be_disabled(tmp_path: Path) -> None:
    async with serving(tmp_path, HTTPSettings(merge_slashes=False)) as world:
        kept = await world.get("//foo//bar", host="conditions.example.com")
        # routed by "/" and forwarded as sent (the echo backend's http.server itself turns
        # the leading "//" into "/"; the inner "//" shows Envoy kept them)
        assert (kept.backend, kept.json()["path"]) == ("app", "/foo//bar")
        assert (await world.get("/foo", host="conditions.example.com")).backend == "api"


async def test_wildcard_fqdn_covers_one_label(world: HostWorld) -> None:
    assert world.statuses()["HTTPProxy default/wildcard"]["currentStatus"] == "valid"
    assert (await world.get("/", host="foo.domain.io")).backend == "api"
    assert (await world.get("/", host="foo.domain.io:8080")).backend == "api"
    assert (await world.get("/", host="bar.foo.domain.io")).status == 404
    assert (await world.get("/", host="domain.io")).status == 404


async def test_host_set_from_a_request_header(world: HostWorld) -> None:
    assert world.statuses()["HTTPProxy default/rewrite"]["currentStatus"] == "valid"
    headers = {"x-host-rewrite": "upstream.internal"}
    plain = await world.get("/", host="rewrite.example.com", headers=headers)
    secure = await world.get_tls("/", "rewrite.example.com", CA.cert_pem, headers=headers)
    for answer in (plain, secure):
        assert answer.backend == "api"
        assert answer.json()["host"] == "upstream.internal"


async def test_responses_are_gzipped_when_the_client_accepts_it(world: HostWorld) -> None:
    host = "conditions.example.com"
    packed = await world.get("/foo", host=host, headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.body))["backend"] == "api"
    plain = await world.get("/foo", host=host)
    assert "content-encoding" not in plain.headers and plain.backend == "api"


@pytest.mark.parametrize(
    ("algorithm", "encoding"),
    [(Compression.BROTLI, "br"), (Compression.ZSTD, "zstd"), (Compression.DISABLED, None)],
)
async def test_the_operator_chooses_the_compression(
    tmp_path: Path, algorithm: Compression, encoding: str | None
) -> None:
    async with serving(tmp_path, HTTPSettings(compression=algorithm)) as world:
        accepts = {"accept-encoding": "gzip, br, zstd"}
        answer = await world.get("/foo", host="conditions.example.com", headers=accepts)
        assert answer.status == 200
        assert answer.headers.get("content-encoding") == encoding
        if encoding is None:
            assert answer.backend == "api"


def errors_of(world: HostWorld, proxy: str) -> list[tuple[str, str]]:
    (condition,) = world.statuses()[f"HTTPProxy {proxy}"]["conditions"]
    return [(e["type"], e["reason"]) for e in condition.get("errors", [])]


async def test_missing_or_root_include_answers_502_and_the_rest_serves(world: HostWorld) -> None:
    async def answer(path: str) -> tuple[int, str | None]:
        found = await world.get(path, host="partial.example.com")
        return found.status, found.backend

    assert await answer("/") == (200, "app")
    assert await answer("/child/x") == (200, "api")
    assert await answer("/gone/x") == (502, None)
    assert await answer("/root") == (502, None)
    assert errors_of(world, "default/partial") == [
        ("IncludeError", "IncludeNotFound"),
        ("IncludeError", "RootIncludesRoot"),
    ]
    assert world.statuses()["HTTPProxy default/child"]["currentStatus"] == "valid"


async def test_exact_or_regex_include_invalidates_the_includer(world: HostWorld) -> None:
    assert errors_of(world, "default/strict") == [
        ("IncludeError", "PathMatchConditionsNotValid"),  # exact-child's include
        ("IncludeError", "PathMatchConditionsNotValid"),  # regex-child's
    ]
    for child in ("exact-child", "regex-child"):
        assert world.statuses()[f"HTTPProxy default/{child}"]["currentStatus"] == "valid"
    for path in ("/", "/exactly", "/regex"):
        assert (await world.get(path, host="strict.example.com")).status == 404


async def test_include_cycle_is_reported_on_the_proxy_entered_again(world: HostWorld) -> None:
    # cyclic -> b -> c -> b
    assert errors_of(world, "default/b") == [("IncludeError", "IncludeCreatesCycle")]
    assert errors_of(world, "default/c") == []
    assert world.statuses()["HTTPProxy default/cyclic"]["currentStatus"] == "valid"
    assert (await world.get("/", host="cyclic.example.com")).backend == "app"
    # b is invalid: nothing of it (nor of c below it) is served
    assert (await world.get("/b/c", host="cyclic.example.com")).backend == "app"
