"""dump: readable YAML of xDS resources, `Any` expanded, secret material redacted."""

from __future__ import annotations

import yaml
from envoy_testlib import FLEET, route, tls_secret

from gateway_contour.envoy.dump import fleet_dir_name, fleet_to_data, fleet_to_yaml
from gateway_contour.envoy.resources import build_resources
from gateway_contour.ir.model import IR, Gateway, Listener, Protocol, TLSServer, VirtualHost


def tls_ir() -> IR:
    vh = VirtualHost("s", "s.example.com", routes=(route(),), tls=TLSServer(secrets=("d/c",)))
    return IR(
        gateways=(Gateway(FLEET, (Listener("https-443", "0.0.0.0", 443, Protocol.HTTPS, (vh,)),)),),
        secrets=(tls_secret("d/c", with_ca=True),),
    )


def test_any_expanded_with_type_and_proto_field_names() -> None:
    data = fleet_to_data(build_resources(tls_ir())[FLEET])
    (listener,) = data["listeners"]
    chain = listener["filter_chains"][0]
    assert chain["filter_chain_match"]["server_names"] == ["s.example.com"]
    hcm = chain["filters"][0]["typed_config"]
    assert hcm["@type"].endswith("HttpConnectionManager")
    assert hcm["rds"]["route_config_name"] == "https-443/s.example.com"
    assert type(hcm) is dict  # plain dicts, so YAML needs no special representers


def test_secrets_are_redacted() -> None:
    secret = tls_secret("d/c")
    texts = fleet_to_yaml(build_resources(tls_ir())[FLEET])
    assert set(texts) == {"listeners", "routes", "secrets"}  # empty kinds are left out
    dumped = "\n".join(texts.values())
    assert "PRIVATE KEY" not in dumped and "CERTIFICATE" not in dumped
    assert secret.private_key.decode() not in dumped
    (loaded,) = yaml.safe_load(texts["secrets"])
    key = loaded["tls_certificate"]["private_key"]["inline_bytes"]
    assert key.startswith("<redacted sha256:")


def test_fleet_dir_name() -> None:
    assert fleet_dir_name("default/web") == "default_web"
