"""Options that steer translation (which controller we are, which addresses listeners bind)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEFAULT_CONTROLLER_NAME = "gateway-contour.dev/gateway-controller"


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

    def address_of(self, gateway: str) -> str:
        return self.gateway_addresses.get(gateway, self.default_address)
