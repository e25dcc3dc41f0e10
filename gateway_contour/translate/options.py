"""Options that steer translation (which controller we are, which addresses listeners bind)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway_contour.defaults import LEGACY_FLEET
from gateway_contour.ir.model import HTTPSettings

DEFAULT_CONTROLLER_NAME = "gateway-contour.dev/gateway-controller"
# IngressClass spec.controller values that are ours
DEFAULT_INGRESS_CONTROLLER = "projectcontour.io/ingress-controller"


# not slotted, so `TranslateOptions.controller_name` reads the default
@dataclass(frozen=True)
class TranslateOptions:
    # GatewayClasses whose spec.controllerName equals this are ours
    controller_name: str = DEFAULT_CONTROLLER_NAME
    # the address Envoy listeners bind when a Gateway has no entry in gateway_addresses
    default_address: str = "0.0.0.0"
    # "namespace/name" of a Gateway -> the address its listeners bind (host mode sets it)
    gateway_addresses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # (address type, value) -> whether the provisioner can give a Gateway that static address
    # (Gateway API spec.addresses); None: every well-formed address is taken as usable
    address_usable: Callable[[str, str], bool] | None = None
    # the implicit fleet serving Ingress and HTTPProxy (translate/legacy.py): its name (the
    # xDS node cluster its Envoys identify with) and listener ports
    legacy_fleet: str = LEGACY_FLEET
    legacy_http_port: int = 8080
    legacy_https_port: int = 8443
    # Ingress classes we serve (Contour's --ingress-class-name); empty: the class "contour",
    # the IngressClasses whose spec.controller is `ingress_controller`, and Ingresses naming
    # no class (translate/ingress/classes.py)
    ingress_class_names: tuple[str, ...] = ()
    ingress_controller: str = DEFAULT_INGRESS_CONTROLLER
    # the class an Ingress naming none is taken to have (None: the IngressClass annotated
    # as the cluster default, if any)
    ingress_default_class: str | None = None
    # the address written into Ingress status.loadBalancer when the legacy fleet has no
    # assigned address (Contour's --ingress-status-address)
    ingress_status_address: str | None = None
    # "namespace/name" of the Secret presented to TLS clients sending no SNI, serving the
    # HTTPProxies with enableFallbackCertificate (Contour's --fallback-certificate)
    fallback_certificate: str | None = None
    # how every fleet's HTTP connection managers treat requests (Contour's global settings:
    # disableMergeSlashes, ...), carried into the IR as they are
    http: HTTPSettings = field(default_factory=HTTPSettings)

    def address_of(self, gateway: str) -> str:
        return self.gateway_addresses.get(gateway, self.default_address)
