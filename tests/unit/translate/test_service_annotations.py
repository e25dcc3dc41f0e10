"""Contour's Service annotations as cluster settings: which ports they name, what a bad
value does, and cluster names that change only with the settings."""

from __future__ import annotations

from gateway_contour.ir.model import Cluster, UpstreamProtocol
from gateway_contour.translate.service_annotations import apply_settings, service_settings


def service(**annotations: str) -> dict:
    return {
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "n", "annotations": annotations},
        "spec": {"ports": [{"name": "web", "port": 80}, {"name": "grpc", "port": 9000}]},
    }


WEB = {"name": "web", "port": 80}
GRPC = {"name": "grpc", "port": 9000}


def test_protocol_annotations_name_ports_by_number_or_name() -> None:
    svc = service(**{"projectcontour.io/upstream-protocol.h2c": " grpc ,81"})
    assert service_settings(svc, GRPC).protocol is UpstreamProtocol.H2C
    assert service_settings(svc, WEB).protocol is None
    tls = service(**{"projectcontour.io/upstream-protocol.tls": "80"})
    settings = service_settings(tls, WEB)
    assert (settings.protocol, settings.tls) == (UpstreamProtocol.HTTP1, True)


def test_a_port_named_twice_keeps_the_first_and_says_so() -> None:
    svc = service(
        **{
            "projectcontour.io/upstream-protocol.h2": "80",
            "projectcontour.io/upstream-protocol.h2c": "80",
        }
    )
    settings = service_settings(svc, WEB)
    assert settings.protocol is UpstreamProtocol.H2 and settings.tls
    assert len(settings.problems) == 1 and "several" in settings.problems[0]


def test_circuit_breakers_and_bad_values() -> None:
    svc = service(
        **{
            "projectcontour.io/max-connections": "5",
            "projectcontour.io/max-requests": "4294967296",
            "projectcontour.io/max-retries": "x",
        }
    )
    settings = service_settings(svc, WEB)
    assert settings.circuit_breakers is not None
    assert settings.circuit_breakers.max_connections == 5
    assert settings.circuit_breakers.max_requests is None
    assert len(settings.problems) == 2


def test_cluster_names_follow_the_settings() -> None:
    base = Cluster(name="n/s/80/abcdef12", service="n/s", port=80)
    plain = service_settings(service(), WEB)
    assert apply_settings(base, plain) is base
    limited = service_settings(service(**{"projectcontour.io/max-connections": "5"}), WEB)
    one, two = apply_settings(base, limited), apply_settings(base, limited)
    assert one == two and one.name != base.name and one.name.startswith("n/s/80/")
    other = service_settings(service(**{"projectcontour.io/max-connections": "6"}), WEB)
    assert apply_settings(base, other).name != one.name
    encrypted = apply_settings(
        base, service_settings(service(**{"projectcontour.io/upstream-protocol.tls": "80"}), WEB)
    )
    assert encrypted.tls is not None and not encrypted.tls.verify
