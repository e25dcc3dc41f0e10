"""Where the Gateway API CRDs are found: pinned at the version conformance/go.mod requires, a
path in the environment first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gateway_contour.validation import crd_sources

REPO = Path(__file__).resolve().parents[3]


def test_the_pin_is_the_conformance_module_version() -> None:
    go_mod = (REPO / "conformance" / "go.mod").read_text()
    pinned = re.search(r"^\s*sigs\.k8s\.io/gateway-api (v\S+)$", go_mod, re.MULTILINE)
    assert pinned is not None and pinned.group(1) == crd_sources.GATEWAY_API_VERSION


def test_a_path_in_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
    }
    bundle = tmp_path / "install.yaml"
    bundle.write_text(yaml.safe_dump_all([{"kind": "Namespace"}, crd]))
    monkeypatch.setenv(crd_sources.ENV_VAR, str(bundle))
    assert next(crd_sources.candidates()) == bundle
    assert crd_sources.gateway_api_crds() == ([crd], bundle)


def test_the_module_cache_is_looked_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crd_sources.ENV_VAR, raising=False)
    monkeypatch.setenv("GOMODCACHE", str(tmp_path))
    expected = (
        tmp_path
        / "sigs.k8s.io"
        / f"gateway-api@{crd_sources.GATEWAY_API_VERSION}"
        / "config"
        / "crd"
        / "experimental"
    )
    assert expected in list(crd_sources.candidates())


def test_the_containerfile_packages_the_pinned_crds() -> None:
    """The Containerfile's CRD stage fetches the pinned version into the package directory
    (hack/image/build.py, the other image build, takes them from crd_sources itself)."""
    containerfile = (REPO / "Containerfile").read_text()
    arg = re.search(r"^ARG GATEWAY_API_VERSION=(\S+)$", containerfile, re.MULTILINE)
    assert arg is not None and arg.group(1) == crd_sources.GATEWAY_API_VERSION
    package_dir = crd_sources.PACKAGED.relative_to(REPO)
    assert f"COPY --from=crds /crds ./{package_dir}\n" in containerfile


def test_built_in_kinds_are_checked_without_reading_crds() -> None:
    """The CRDs are read on the first object of a group a CRD may define, not before: a
    file of Ingresses (migrate, issue 19) is checked without reading ~0.1 s of CRD YAML."""
    from gateway_contour.validation.registry import Registry

    reads: list[int] = []

    def crds() -> list[dict]:
        reads.append(1)
        return crd_sources.all_crds()

    registry = Registry(crds)
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 0}}}},
    }
    assert registry.check(ingress)  # port 0 is refused: the Ingress checks ran
    assert reads == []
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "default"},
        "spec": {"rules": [{"matches": [{"methd": "GET"}]}]},
    }
    assert registry.check(route)  # refused by the schema read on first use
    assert registry.check(route)
    assert reads == [1]
