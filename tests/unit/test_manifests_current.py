"""manifests/ is what `make manifests` writes from the code, and the RBAC it ships covers
what the code does (the k8s tier proves the controller runs with exactly that RBAC)."""

from __future__ import annotations

from pathlib import Path

import yaml

from gateway_contour.manifests.__main__ import main, rendered
from gateway_contour.manifests.crds import api_crds
from gateway_contour.manifests.rbac import STATUS_KINDS, cluster_rules, plural
from gateway_contour.providers.kubernetes.discovery import WANTED

REPO = Path(__file__).resolve().parents[2]


def test_manifests_are_current() -> None:
    # regenerating gives no diff: the committed files are exactly what the code renders
    assert main(["--output-dir", str(REPO / "manifests"), "--check"]) == 0


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    assert main(["--output-dir", str(tmp_path)]) == 0
    assert main(["--output-dir", str(tmp_path), "--check"]) == 0
    install = tmp_path / "install.yaml"
    install.write_text(install.read_text().replace("replicas: 2", "replicas: 3"))
    assert main(["--output-dir", str(tmp_path), "--check"]) == 1


def test_every_api_crd_is_rendered_and_installed() -> None:
    files = rendered()
    names = [crd["metadata"]["name"] for crd in api_crds()]
    assert "contourdeployments.gateway-contour.dev" in names
    installed = [
        d["metadata"]["name"]
        for d in yaml.safe_load_all(files["install.yaml"])
        if d and d["kind"] == "CustomResourceDefinition"
    ]
    assert installed == names
    assert all(f"crds/{n}.yaml" in files for n in names)


def _allowed(group: str, resource: str, verb: str) -> bool:
    return any(
        group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
        for r in cluster_rules()
    )


def test_rbac_lists_watched_kinds_and_no_wildcards() -> None:
    for group, kinds in WANTED.items():
        for kind in kinds:
            assert _allowed(group, plural(kind), "list"), kind
            assert _allowed(group, plural(kind), "watch"), kind
    for rule in cluster_rules():
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
    # reading Secrets is list/watch only: never get one by name, never write another's
    assert not _allowed("", "secrets", "get")
    assert not _allowed("", "secrets", "update")
    # Pods: read only (the provisioned Envoys' readiness, found by label), never written
    assert _allowed("", "pods", "watch")
    assert not any(_allowed("", "pods", verb) for verb in ("create", "patch", "delete", "get"))


def test_plurals_follow_the_api() -> None:
    assert [plural(k) for k in ("Gateway", "GatewayClass", "HTTPProxy", "Ingress")] == [
        "gateways",
        "gatewayclasses",
        "httpproxies",
        "ingresses",
    ]
    assert plural("BackendTLSPolicy") == "backendtlspolicies"


def test_rbac_covers_every_kind_translation_writes_status_for() -> None:
    # every kind that gets a status in any golden case may have its status written
    kinds = set()
    for status_file in (REPO / "tests" / "golden").glob("*/status.yaml"):
        for entry in (yaml.safe_load(status_file.read_text()) or {}).get("statuses", []):
            kinds.add(entry["object"].split(" ", 1)[0])
    assert kinds, "no golden status files found"
    assert kinds <= STATUS_KINDS
    group_of = {k: g for g, ks in WANTED.items() for k in ks}
    for kind in kinds:
        assert _allowed(group_of[kind], f"{plural(kind)}/status", "update"), kind


def test_shipped_command_lines_parse() -> None:
    # the controller Deployment's and the Envoy init container's arguments are ones our CLI
    # takes (a renamed flag would fail here, not in a cluster)
    from gateway_contour.cli_parser import _parser, parse_args
    from gateway_contour.manifests.install import controller_args
    from gateway_contour.provisioner.kube.objects import (
        ControllerEndpoint,
        FleetSpec,
        bootstrap_args,
    )

    serve = parse_args(controller_args())
    assert serve.provision == "kubernetes" and serve.xds_cert_dir is not None
    assert not serve.insecure_xds  # the install is mutual TLS, never plaintext
    boot = _parser().parse_args(
        bootstrap_args(FleetSpec("ns", "gw", "uid", ((80, "TCP"),)), ControllerEndpoint())
    )
    assert boot.fleet == "ns/gw" and str(boot.xds_cert_dir) == "/certs"
