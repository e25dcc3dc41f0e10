"""The pure part of Kubernetes provisioning: parameters read safely, objects rendered with
owner references and infrastructure metadata, Service addresses turned into Gateway status."""

from __future__ import annotations

from typing import Any

from gateway_contour.api import parameters as api
from gateway_contour.ir.model import IR, Gateway, Listener, Protocol
from gateway_contour.provisioner.kube.fleet import KubeFleet, service_addresses
from gateway_contour.provisioner.kube.objects import (
    ControllerEndpoint,
    FleetSpec,
    dns_label,
    fleet_objects,
    workload_name,
)
from gateway_contour.provisioner.kube.parameters import (
    DEFAULTS,
    FleetParameters,
    parameters_of_class,
    parse_parameters,
)
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import ObjectKey, Snapshot

SECRET = {"data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5", "ca.crt": "Y2E="}}


def contour_deployment(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{api.GROUP}/{api.VERSION}",
        "kind": api.KIND,
        "metadata": {"namespace": ns, "name": name},
        "spec": spec,
    }


def gateway_class(name: str, ref: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"controllerName": "example.com/gc"}
    if ref is not None:
        spec["parametersRef"] = ref
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_parameters_default_and_parse() -> None:
    assert parse_parameters(contour_deployment("ns", "p", {})) == (DEFAULTS, None)
    params, problem = parse_parameters(
        contour_deployment(
            "ns",
            "p",
            {
                "envoy": {
                    "workloadType": "Deployment",
                    "replicas": 3,
                    "logLevel": "debug",
                    "image": "envoy:test",
                    "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}},
                    "drainTimeoutSeconds": 60,
                },
                "service": {"type": "ClusterIP", "annotations": {"a": "b"}},
            },
        )
    )
    assert problem is None
    assert params == FleetParameters(
        workload_type="Deployment",
        replicas=3,
        image="envoy:test",
        log_level="debug",
        resources={"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}},
        service_type="ClusterIP",
        service_annotations={"a": "b"},
        drain_timeout=60,
    )


def test_bad_parameter_values_keep_their_defaults_and_say_why() -> None:
    params, problem = parse_parameters(
        contour_deployment(
            "ns", "p", {"envoy": {"workloadType": "StatefulSet", "replicas": -1}, "service": 7}
        )
    )
    assert params.workload_type == "DaemonSet" and params.replicas == api.DEFAULT_REPLICAS
    assert problem == (
        "spec.envoy.replicas must be a non-negative integer; "
        "spec.envoy.workloadType must be one of DaemonSet, Deployment"
    )
    for bad in (-1, 3601, "60", True):
        params, problem = parse_parameters(
            contour_deployment("ns", "p", {"envoy": {"drainTimeoutSeconds": bad}})
        )
        assert params.drain_timeout == api.DEFAULT_DRAIN_TIMEOUT, bad
        assert problem == "spec.envoy.drainTimeoutSeconds must be an integer from 0 to 3600"


def test_parameters_ref_resolution() -> None:
    cd = contour_deployment("infra", "fleet", {"envoy": {"workloadType": "Deployment"}})
    snapshot = Snapshot.of([cd])
    ref = {"group": api.GROUP, "kind": api.KIND, "namespace": "infra", "name": "fleet"}
    params, problem = parameters_of_class(gateway_class("gc", ref), snapshot)
    assert (params.workload_type, problem) == ("Deployment", None)
    assert parameters_of_class(gateway_class("gc"), snapshot) == (DEFAULTS, None)
    missing = parameters_of_class(gateway_class("gc", {**ref, "name": "nope"}), snapshot)
    assert missing == (DEFAULTS, f"{api.KIND} infra/nope not found")
    wrong = parameters_of_class(
        gateway_class("gc", {**ref, "kind": "ConfigMap", "group": ""}), snapshot
    )
    assert wrong[0] == DEFAULTS and "must name a gateway-contour.dev ContourDeployment" in str(
        wrong[1]
    )
    no_ns = parameters_of_class(gateway_class("gc", {**ref, "namespace": None}), snapshot)
    assert no_ns == (DEFAULTS, "parametersRef to a ContourDeployment needs a namespace")


def spec(**params: Any) -> FleetSpec:
    return FleetSpec(
        namespace="ns",
        name="gw",
        uid="uid-1",
        ports=((80, "TCP"), (53, "UDP")),
        labels=(("team", "a"),),
        annotations=(("note", "x"),),
        params=FleetParameters(**params),
    )


def test_objects_carry_owner_reference_and_infrastructure_metadata() -> None:
    objs = fleet_objects(spec(), ControllerEndpoint(), SECRET)
    assert [o["kind"] for o in objs] == ["ServiceAccount", "Secret", "DaemonSet", "Service"]
    for obj in objs:
        meta = obj["metadata"]
        assert meta["namespace"] == "ns"
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "name": "gw",
                "uid": "uid-1",
                "controller": True,
            }
        ]
        assert meta["labels"]["team"] == "a"
        assert meta["labels"]["gateway.networking.k8s.io/gateway-name"] == "gw"
        assert meta["annotations"]["note"] == "x"
    daemonset, service = objs[2], objs[3]
    template = daemonset["spec"]["template"]
    assert template["metadata"]["labels"]["team"] == "a"
    assert "team" not in daemonset["spec"]["selector"]["matchLabels"]  # selectors are immutable
    init = template["spec"]["initContainers"][0]
    assert init["args"][:4] == ["bootstrap", "/config/envoy.json", "--fleet", "ns/gw"]
    assert "--xds-cert-dir" in init["args"]
    assert template["spec"]["volumes"][1]["secret"]["secretName"] == objs[1]["metadata"]["name"]
    assert objs[1]["data"] == SECRET["data"] and objs[1]["type"] == "kubernetes.io/tls"
    assert service["spec"]["type"] == "LoadBalancer"
    assert [(p["port"], p["protocol"]) for p in service["spec"]["ports"]] == [
        (80, "TCP"),
        (53, "UDP"),
    ]


def test_parameters_shape_workload_and_service() -> None:
    objs = fleet_objects(
        spec(
            workload_type="Deployment",
            replicas=5,
            service_type="NodePort",
            service_annotations={"lb": "internal"},
            log_level="debug",
            resources={"limits": {"cpu": "1"}},
        ),
        ControllerEndpoint(),
        SECRET,
    )
    deployment, service = objs[2], objs[3]
    assert deployment["kind"] == "Deployment" and deployment["spec"]["replicas"] == 5
    envoy = deployment["spec"]["template"]["spec"]["containers"][0]
    assert envoy["args"][envoy["args"].index("--log-level") + 1] == "debug"
    assert envoy["resources"] == {"limits": {"cpu": "1"}}
    assert service["spec"]["type"] == "NodePort"
    assert service["metadata"]["annotations"] == {"note": "x", "lb": "internal"}


def test_long_gateway_names_fit_dns_labels() -> None:
    long = "g" * 80
    name = workload_name(long)
    assert len(name) == 63 and name != workload_name("g" * 81)
    assert dns_label("short") == "short"


def test_service_addresses() -> None:
    lb = {
        "spec": {"clusterIP": "10.0.0.5"},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb.example"}]}},
    }
    assert service_addresses(lb) == (("IPAddress", "1.2.3.4"), ("Hostname", "lb.example"))
    assert service_addresses({"spec": {"clusterIPs": ["10.0.0.5"]}}) == (("IPAddress", "10.0.0.5"),)
    assert service_addresses({"spec": {"clusterIP": "None"}}) == ()
    node_port = {"spec": {"type": "NodePort", "clusterIPs": ["10.0.0.6"]}}
    assert service_addresses(node_port) == (("IPAddress", "10.0.0.6"),)
    # a LoadBalancer Service has its balancer's addresses only, none until it answers
    waiting = {"spec": {"type": "LoadBalancer", "clusterIPs": ["10.0.0.7"]}}
    assert service_addresses(waiting) == ()
    answered = {**waiting, "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
    assert service_addresses(answered) == (("IPAddress", "192.0.2.1"),)
    # a Service asking for a static address has only the balancer's, whatever its type
    asking = {"spec": {"clusterIPs": ["10.0.0.8"], "loadBalancerIP": "10.216.0.200"}}
    assert service_addresses(asking) == ()


def test_desired_fleets_and_addresses_in_status() -> None:
    gc = gateway_class("ours")
    gw = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"namespace": "ns", "name": "gw", "uid": "u"},
        "spec": {
            "gatewayClassName": "ours",
            "listeners": [{"name": "h", "port": 8080, "protocol": "HTTP"}],
        },
    }
    other = {
        **gw,
        "metadata": {"namespace": "ns", "name": "x", "uid": "v"},
        "spec": {"gatewayClassName": "theirs", "listeners": []},
    }
    ir = IR(
        gateways=(
            Gateway(
                name="ns/gw",
                listeners=(
                    Listener(name="udp-53", address="0.0.0.0", port=53, protocol=Protocol.UDP),
                ),
                labels=(("l", "v"),),
            ),
        )
    )
    fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
    desired = fleet.desired(Snapshot.of([gc, gw, other]), ir)
    assert list(desired) == ["ns/gw"]
    assert desired["ns/gw"].ports == ((53, "UDP"), (8080, "TCP"))
    assert desired["ns/gw"].labels == (("l", "v"),)

    fleet.wanted = {"ns/gw"}
    report = StatusReport()
    programmed = {"type": "Programmed", "status": "True", "reason": "Programmed", "message": ""}
    report.set(ObjectKey("Gateway", "ns", "gw"), {"conditions": [dict(programmed)]})
    fleet.amend_report(report, Snapshot.of([]))
    status = report.statuses[ObjectKey("Gateway", "ns", "gw")]
    assert "addresses" not in status
    assert status["conditions"][0]["reason"] == "AddressNotAssigned"

    fleet.addresses["ns/gw"] = (("IPAddress", "10.0.0.9"),)
    report.set(ObjectKey("Gateway", "ns", "gw"), {"conditions": [dict(programmed)]})
    fleet.amend_report(report, Snapshot.of([]))
    status = report.statuses[ObjectKey("Gateway", "ns", "gw")]
    assert status["addresses"] == [{"type": "IPAddress", "value": "10.0.0.9"}]
    assert status["conditions"][0]["status"] == "True"


def test_unusable_parameters_ref_makes_the_class_not_accepted() -> None:
    ref = {"group": api.GROUP, "kind": api.KIND, "namespace": "infra", "name": "missing"}
    fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
    accepted = {"type": "Accepted", "status": "True", "reason": "Accepted", "message": ""}

    def class_status(objects: list[dict[str, Any]]) -> dict[str, Any]:
        snapshot = Snapshot.of(objects)
        fleet.desired(snapshot, None)
        report = StatusReport()
        report.set(ObjectKey("GatewayClass", "", "ours"), {"conditions": [dict(accepted)]})
        fleet.amend_report(report, snapshot)
        return report.statuses[ObjectKey("GatewayClass", "", "ours")]["conditions"][0]

    assert class_status([gateway_class("ours", ref)]) == {
        "type": "Accepted",
        "status": "False",
        "reason": "InvalidParameters",
        "message": "ContourDeployment infra/missing not found",
    }
    found = contour_deployment("infra", "missing", {})
    assert class_status([gateway_class("ours", ref), found]) == accepted


def test_a_load_balancer_address_is_a_change_for_the_store() -> None:
    # the store ignores status, except a Service's load balancer addresses (they become the
    # Gateway's status addresses)
    from gateway_contour.store.store import Store

    store = Store()
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": "n", "name": "s"}}
    store.apply(service)
    assert not store.apply({**service, "status": {"loadBalancer": {}}})
    lb = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    assert store.apply({**service, "status": lb})


def test_envoy_pod_probes_drain_and_security() -> None:
    daemonset = fleet_objects(spec(drain_timeout=100), ControllerEndpoint(), SECRET)[2]
    pod = daemonset["spec"]["template"]["spec"]
    envoy, drain = pod["containers"]
    assert envoy["name"] == "envoy" and drain["name"] == "envoy-drain"
    init_args = pod["initContainers"][0]["args"]
    assert init_args[init_args.index("--ready-port") + 1] == "8002"
    assert {"name": "ready", "containerPort": 8002, "protocol": "TCP"} in envoy["ports"]
    assert envoy["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8002}
    # liveness: the sidecar asks Envoy's admin (not /ready: 503 while draining or unconfigured)
    assert envoy["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8090}
    assert envoy["livenessProbe"]["terminationGracePeriodSeconds"] < 100
    assert envoy["lifecycle"] == {"preStop": {"httpGet": {"path": "/shutdown", "port": 8090}}}
    assert drain["image"] == ControllerEndpoint().image
    assert drain["args"][:3] == ["envoy-drain", "--port", "8090"]
    assert drain["args"][drain["args"].index("--timeout") + 1] == "100"
    assert drain["args"][drain["args"].index("--admin-url") + 1] == "http://127.0.0.1:9001"
    assert pod["terminationGracePeriodSeconds"] == 130  # the drain bound, then Envoy's exit
    assert pod["securityContext"]["runAsUser"] == 65532 and pod["securityContext"]["runAsNonRoot"]
    for container in [*pod["initContainers"], envoy, drain]:
        context = container["securityContext"]
        assert context["runAsUser"] == 65532 and context["runAsNonRoot"], container["name"]
        assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
        assert context["capabilities"] == {"drop": ["ALL"]}
    default = fleet_objects(spec(), ControllerEndpoint(), SECRET)[2]["spec"]["template"]["spec"]
    assert default["terminationGracePeriodSeconds"] == 300  # Contour's
