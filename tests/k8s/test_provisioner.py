"""`serve --provision kubernetes` against a real API server with kube-controller-manager: a
Gateway of our class gets its Envoy workload, Service, ServiceAccount and client certificate
Secret (owned by the Gateway, carrying its infrastructure metadata), its status addresses
come from the Service, GatewayClass parameters shape the fleet and changing them reshapes
it, and deleting the Gateway lets the garbage collector remove everything. An Ingress of
ours gets the implicit Ingress/HTTPProxy fleet (in the test's namespace), whose Service address
becomes the Ingress status, and the last Ingress gone takes the fleet with it."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.api import parameters as api
from gateway_contour.certs import generate_xds_certificates, load_tls_dir
from gateway_contour.certs.bundle import write_xds_dirs
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.serve import ServeMode
from tests.e2e.http_client import eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config

CD_PATH = f"/apis/{api.GROUP}/{api.VERSION}/namespaces/{{ns}}/{api.PLURAL}"
OWNED = {
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts/{name}",
    "Secret": "/api/v1/namespaces/{ns}/secrets/{name}-xds",
    "DaemonSet": "/apis/apps/v1/namespaces/{ns}/daemonsets/{name}",
    "Service": "/api/v1/namespaces/{ns}/services/{name}",
}
DEPLOYMENT = "/apis/apps/v1/namespaces/{ns}/deployments/{name}"


def implicit(ns: str) -> dict[str, str]:
    """The implicit fleet's objects when the fleet is "<ns>/contour"."""
    return {
        kind: template.format(ns=ns, name="gateway-contour-envoy")
        for kind, template in OWNED.items()
    }


@dataclass
class Env:
    api: KubeClient
    mode: ServeMode
    ns: str
    class_name: str
    cert_dir: Path

    async def get(self, path: str) -> dict[str, Any] | None:
        try:
            return await self.api.get(path)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    async def until(
        self, path: str, accept: Callable[[dict[str, Any] | None], bool], timeout: float = 30.0
    ) -> Any:
        return await eventually(lambda: self.get(path), accept, timeout=timeout)

    def path(self, template: str, gateway: str) -> str:
        return template.format(ns=self.ns, name=f"envoy-{gateway}")


@pytest.fixture
async def env(kube: Any, namespace: str, tmp_path: Path) -> AsyncIterator[Env]:
    kube.start_controller_manager()  # the garbage collector
    controller_dir, cert_dir = write_xds_dirs(generate_xds_certificates(), tmp_path / "certs")
    api_client = KubeClient(kube.kubeconfig)
    class_name = f"gc-{namespace}"
    config = serve_config(
        kube,
        namespace,
        provision="kubernetes",
        envoy_cert_dir=cert_dir,
        xds_cert_dir=controller_dir,  # mTLS on: the Envoys' bootstrap must use it
        ingress_class_names=(f"ic-{namespace}",),  # other tests' Ingresses are not ours
        legacy_fleet=f"{namespace}/contour",  # not shared with other tests
    )
    try:
        async with running(config) as mode:
            yield Env(api_client, mode, namespace, class_name, cert_dir)
    finally:
        with contextlib.suppress(ApiError):
            await api_client.request("DELETE", m.object_path(m.gateway_class(class_name, "")))
        await api_client.close()


def condition(obj: dict[str, Any] | None, kind: str) -> tuple[str, str]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == kind:
            return (c["status"], c["reason"])
    return ("", "")


def with_infrastructure(gw: dict[str, Any]) -> dict[str, Any]:
    gw["spec"]["infrastructure"] = {
        "labels": {"team": "edge"},
        "annotations": {"example.com/owner": "edge-team"},
    }
    return gw


async def test_gateway_gets_its_fleet_and_loses_it_with_the_gateway(env: Env) -> None:
    ns = env.ns
    await env.api.request(
        "POST", "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
        body=m.gateway_class(env.class_name, env.mode.config.controller_name),
    )  # fmt: skip
    gw = with_infrastructure(m.gateway(ns, "web", env.class_name, 8080))
    created = await env.api.request("POST", m.collection_path(gw), body=gw)
    uid = created["metadata"]["uid"]

    owned = {}
    for kind, template in OWNED.items():
        owned[kind] = obj = await env.until(env.path(template, "web"), lambda o: o is not None)
        meta = obj["metadata"]
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "name": "web",
                "uid": uid,
                "controller": True,
            }
        ], kind
        assert meta["labels"]["team"] == "edge", kind
        assert meta["annotations"]["example.com/owner"] == "edge-team", kind

    # the defaults: a DaemonSet, a LoadBalancer Service on the listener's port
    pod = owned["DaemonSet"]["spec"]["template"]
    assert pod["metadata"]["labels"]["team"] == "edge"
    assert pod["spec"]["initContainers"][0]["args"][:4] == [
        "bootstrap", "/config/envoy.json", "--fleet", f"{ns}/web",
    ]  # fmt: skip
    init_args = pod["spec"]["initContainers"][0]["args"]
    assert init_args[init_args.index("--xds-cert-dir") + 1] == "/certs"
    service = owned["Service"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in service["spec"]["ports"]] == [8080]
    cert, key, ca = load_tls_dir(env.cert_dir)
    data = owned["Secret"]["data"]
    assert [base64.b64decode(data[k]) for k in ("tls.crt", "tls.key", "ca.crt")] == [cert, key, ca]

    # status: Accepted; not Programmed while no load balancer has given the Service an
    # address (its cluster IP is not reported: clients outside cannot use it)
    live = await env.until(
        m.object_path(gw),
        lambda o: condition(o, "Programmed") == ("False", "AddressNotAssigned"),
    )
    assert condition(live, "Accepted") == ("True", "Accepted")
    assert not live["status"].get("addresses")

    # a load balancer that reports an address: the Gateway's address becomes it
    await _patch_merge(
        env.api,
        env.path(OWNED["Service"], "web") + "/status",
        {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}},
    )
    live = await env.until(
        m.object_path(gw),
        lambda o: (
            (o or {}).get("status", {}).get("addresses")
            == [{"type": "IPAddress", "value": "192.0.2.10"}]
        ),
    )
    assert condition(live, "Programmed") == ("True", "Programmed")

    # deleting the Gateway: the garbage collector removes everything it owned
    await env.api.request("DELETE", m.object_path(gw))
    for template in OWNED.values():
        await env.until(env.path(template, "web"), lambda o: o is None, timeout=60)


async def _patch_merge(api: KubeClient, path: str, body: dict[str, Any]) -> Any:
    return await api.request("PATCH", path, body=body, content_type="application/merge-patch+json")


async def test_gateway_class_parameters_shape_the_fleet_and_changes_follow(env: Env) -> None:
    ns = env.ns
    cd = {
        "apiVersion": f"{api.GROUP}/{api.VERSION}",
        "kind": api.KIND,
        "metadata": {"namespace": ns, "name": "fleet"},
        "spec": {
            "envoy": {"workloadType": "Deployment", "replicas": 3, "logLevel": "debug"},
            "service": {"type": "ClusterIP", "annotations": {"lb.example.com/internal": "true"}},
        },
    }
    await env.api.request("POST", CD_PATH.format(ns=ns), body=cd)
    gc = m.gateway_class(env.class_name, env.mode.config.controller_name)
    gc["spec"]["parametersRef"] = {
        "group": api.GROUP, "kind": api.KIND, "namespace": ns, "name": "fleet",
    }  # fmt: skip
    await env.api.request("POST", m.collection_path(gc), body=gc)
    gw = m.gateway(ns, "edge", env.class_name, 8443)
    await env.api.request("POST", m.collection_path(gw), body=gw)

    deployment_path = env.path(DEPLOYMENT, "edge")
    deployment = await env.until(deployment_path, lambda o: o is not None)
    assert deployment["spec"]["replicas"] == 3
    envoy = deployment["spec"]["template"]["spec"]["containers"][0]
    assert envoy["args"][envoy["args"].index("--log-level") + 1] == "debug"
    service = await env.until(
        env.path(OWNED["Service"], "edge"),
        lambda o: (o or {}).get("spec", {}).get("type") == "ClusterIP",
    )
    assert service["metadata"]["annotations"]["lb.example.com/internal"] == "true"
    # (watch events of different kinds may arrive in any order: the Gateway may have been
    # provisioned with the defaults for a moment before its parameters were seen)
    await env.until(env.path(OWNED["DaemonSet"], "edge"), lambda o: o is None)

    # the ContourDeployment changes: the fleet follows
    cd_path = CD_PATH.format(ns=ns) + "/fleet"
    await _patch_merge(env.api, cd_path, {"spec": {"envoy": {"replicas": 1}}})
    await env.until(deployment_path, lambda o: (o or {}).get("spec", {}).get("replicas") == 1)

    # the class points elsewhere (no parameters: the defaults): a DaemonSet replaces the
    # Deployment, the Service becomes a LoadBalancer without the old annotation
    await _patch_merge(env.api, m.object_path(gc), {"spec": {"parametersRef": None}})
    await env.until(env.path(OWNED["DaemonSet"], "edge"), lambda o: o is not None)
    await env.until(deployment_path, lambda o: o is None)
    service = await env.until(
        env.path(OWNED["Service"], "edge"),
        lambda o: (o or {}).get("spec", {}).get("type") == "LoadBalancer",
    )
    assert "lb.example.com/internal" not in (service["metadata"].get("annotations") or {})


async def test_a_gateway_leaving_our_class_loses_its_fleet(env: Env) -> None:
    ns = env.ns
    gc = m.gateway_class(env.class_name, env.mode.config.controller_name)
    await env.api.request("POST", m.collection_path(gc), body=gc)
    gw = m.gateway(ns, "moving", env.class_name, 8080)
    await env.api.request("POST", m.collection_path(gw), body=gw)
    await env.until(env.path(OWNED["DaemonSet"], "moving"), lambda o: o is not None)
    other = m.gateway_class(f"{env.class_name}-other", "example.com/someone-else")
    await env.api.request("POST", m.collection_path(other), body=other)
    try:
        await _patch_merge(
            env.api, m.object_path(gw), {"spec": {"gatewayClassName": other["metadata"]["name"]}}
        )
        for template in OWNED.values():
            await env.until(env.path(template, "moving"), lambda o: o is None)
    finally:
        await env.api.request("DELETE", m.object_path(other))


async def test_what_someone_else_deletes_or_changes_is_applied_again(env: Env) -> None:
    """The fleet heals without its Gateway changing: a deleted workload or Service comes
    back, and a workload whose spec another client changed gets ours back."""
    ns = env.ns
    gc = m.gateway_class(env.class_name, env.mode.config.controller_name)
    await env.api.request("POST", m.collection_path(gc), body=gc)
    gw = m.gateway(ns, "healing", env.class_name, 8080)
    await env.api.request("POST", m.collection_path(gw), body=gw)
    daemon_set = env.path(OWNED["DaemonSet"], "healing")
    first = await env.until(daemon_set, lambda o: o is not None)
    image = first["spec"]["template"]["spec"]["containers"][0]["image"]

    await env.api.request("DELETE", daemon_set)
    back = await env.until(
        daemon_set, lambda o: o is not None and o["metadata"]["uid"] != first["metadata"]["uid"]
    )

    # another client (kubectl edit, say) swaps the Envoy image
    envoy = back["spec"]["template"]["spec"]["containers"][0]["name"]
    edit = {"spec": {"template": {"spec": {"containers": [{"name": envoy, "image": "evil:1"}]}}}}
    await env.api.request(
        "PATCH", daemon_set, body=edit, content_type="application/strategic-merge-patch+json"
    )
    await env.until(
        daemon_set, lambda o: o is not None and o["metadata"]["generation"] > 2 and (
            o["spec"]["template"]["spec"]["containers"][0]["image"] == image
        ),
    )  # fmt: skip

    service = env.path(OWNED["Service"], "healing")
    before = await env.get(service)
    assert before is not None
    await env.api.request("DELETE", service)
    await env.until(
        service, lambda o: o is not None and o["metadata"]["uid"] != before["metadata"]["uid"]
    )


async def test_unusable_parameters_ref_is_a_condition_and_the_fleet_keeps_defaults(
    env: Env,
) -> None:
    ns = env.ns
    gc = m.gateway_class(env.class_name, env.mode.config.controller_name)
    gc["spec"]["parametersRef"] = {
        "group": api.GROUP, "kind": api.KIND, "namespace": ns, "name": "later",
    }  # fmt: skip
    await env.api.request("POST", m.collection_path(gc), body=gc)
    gw = m.gateway(ns, "web", env.class_name, 8080)
    await env.api.request("POST", m.collection_path(gw), body=gw)

    live = await env.until(
        m.object_path(gc), lambda o: condition(o, "Accepted")[1] == "InvalidParameters"
    )
    assert condition(live, "Accepted")[0] == "False"
    message = next(c["message"] for c in live["status"]["conditions"] if c["type"] == "Accepted")
    assert message == f"{api.KIND} {ns}/later not found"
    # the Gateway is still served, with the default fleet
    await env.until(env.path(OWNED["DaemonSet"], "web"), lambda o: o is not None)

    cd = {
        "apiVersion": f"{api.GROUP}/{api.VERSION}",
        "kind": api.KIND,
        "metadata": {"namespace": ns, "name": "later"},
        "spec": {"envoy": {"workloadType": "Deployment"}},
    }
    await env.api.request("POST", CD_PATH.format(ns=ns), body=cd)
    await env.until(m.object_path(gc), lambda o: condition(o, "Accepted") == ("True", "Accepted"))
    deployment = await env.until(env.path(DEPLOYMENT, "web"), lambda o: o is not None)
    # the API server filled in the schema's defaults
    assert deployment["spec"]["replicas"] == api.DEFAULT_REPLICAS


async def test_a_gateways_own_parameters_ref_is_checked_and_shapes_its_fleet(env: Env) -> None:
    ns = env.ns
    gc = m.gateway_class(env.class_name, env.mode.config.controller_name)
    await env.api.request("POST", m.collection_path(gc), body=gc)
    gw = m.gateway(ns, "own", env.class_name, 8080)
    gw["spec"]["infrastructure"] = {
        "parametersRef": {"group": api.GROUP, "kind": api.KIND, "name": "mine"}
    }
    await env.api.request("POST", m.collection_path(gw), body=gw)

    # not found yet: the Gateway is rejected, its fleet has the class's parameters
    live = await env.until(
        m.object_path(gw), lambda o: condition(o, "Accepted") == ("False", "InvalidParameters")
    )
    message = next(c["message"] for c in live["status"]["conditions"] if c["type"] == "Accepted")
    assert message == (
        f"infrastructure.parametersRef {api.GROUP}/{api.KIND} mine: {api.KIND} {ns}/mine not found"
    )
    await env.until(env.path(OWNED["DaemonSet"], "own"), lambda o: o is not None)

    cd = {
        "apiVersion": f"{api.GROUP}/{api.VERSION}",
        "kind": api.KIND,
        "metadata": {"namespace": ns, "name": "mine"},
        "spec": {"envoy": {"workloadType": "Deployment", "replicas": 1}},
    }
    await env.api.request("POST", CD_PATH.format(ns=ns), body=cd)
    await env.until(m.object_path(gw), lambda o: condition(o, "Accepted") == ("True", "Accepted"))
    deployment_path = env.path(DEPLOYMENT, "own")
    await env.until(deployment_path, lambda o: (o or {}).get("spec", {}).get("replicas") == 1)
    await env.until(env.path(OWNED["DaemonSet"], "own"), lambda o: o is None)

    # the Gateway's ContourDeployment changes: its fleet follows
    await _patch_merge(
        env.api, CD_PATH.format(ns=ns) + "/mine", {"spec": {"envoy": {"replicas": 2}}}
    )
    await env.until(deployment_path, lambda o: (o or {}).get("spec", {}).get("replicas") == 2)


def ingress(ns: str, name: str, class_name: str) -> dict[str, Any]:
    backend = {"service": {"name": "app", "port": {"number": 80}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"namespace": ns, "name": name},
        "spec": {
            "ingressClassName": class_name,
            "rules": [
                {
                    "host": "ingress.test",
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
    }


def load_balancer(obj: dict[str, Any] | None) -> Any:
    return ((obj or {}).get("status") or {}).get("loadBalancer", {}).get("ingress")


async def test_an_ingress_gets_the_implicit_fleet_and_the_last_one_takes_it_away(
    env: Env,
) -> None:
    ns = env.ns
    app = m.service(ns, "app")
    await env.api.request("POST", m.collection_path(app), body=app)
    ing = ingress(ns, "web", f"ic-{ns}")
    ing_path = f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"
    await env.api.request("POST", ing_path, body=ing)

    made = {}
    paths = implicit(ns)
    for kind, path in paths.items():
        made[kind] = obj = await env.until(path, lambda o: o is not None)
        meta = obj["metadata"]
        assert "ownerReferences" not in meta, kind  # nothing owns it
        assert meta["labels"]["gateway-contour.dev/implicit-fleet"] == "contour", kind
    service = made["Service"]["spec"]
    assert service["type"] == "LoadBalancer"
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(80, 8080), (443, 8443)]
    pod = made["DaemonSet"]["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["args"][2:4] == ["--fleet", f"{ns}/contour"]
    cert, key, ca = load_tls_dir(env.cert_dir)
    data = made["Secret"]["data"]
    assert [base64.b64decode(data[k]) for k in ("tls.crt", "tls.key", "ca.crt")] == [cert, key, ca]

    # the Ingress status: nothing while the LoadBalancer Service has no balancer's address
    # (never its cluster IP), then that address
    web = f"{ing_path}/web"
    assert not load_balancer(await env.api.get(web))
    await _patch_merge(
        env.api,
        paths["Service"] + "/status",
        {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.20"}]}}},
    )
    await env.until(web, lambda o: load_balancer(o) == [{"ip": "192.0.2.20"}])

    # the last Ingress goes: so does the fleet (no owner: the controller deletes it by label)
    await env.api.request("DELETE", web)
    for path in paths.values():
        await env.until(path, lambda o: o is None)
