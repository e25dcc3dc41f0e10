"""Gateway API -> IR: GatewayClasses select our Gateways, Gateways give listeners, HTTPRoutes
attach to them. Every problem with an object becomes a condition in its status; an
unexpected error while translating one object is reported as a problem and does not stop
the others.

Module map: `defaults` (CRD defaults), `gatewayclass`, `gateway` + `listeners` (+ `selectors`,
`hostnames`, `certificates`, `frontend_tls`), `attach` (parentRefs to listeners, Accepted
reasons, parent status: every route kind), `httproute` (HTTP attachment) + `rules`
(compilation, with `matches`, `filters`, `backends`), `grpcroute` (GRPCRoute through the
same attachment, with `grpc_matches`; `kind_conflicts`: the two kinds sharing a hostname),
`l4routes` (TLSRoute, TCPRoute, UDPRoute) + `l4table` (their listeners), `listenersets`
(ListenerSet),
`backend_tls` (BackendTLSPolicy), `conditions` (names).

Its names are loaded on first use (PEP 562), so that a module of it (`migrate` reads
a few) can be imported without the rest of the translator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway_contour.lazy import lazy_exports

if TYPE_CHECKING:
    from gateway_contour.translate.gatewayapi.translator import translate_gateway_api

__all__ = ["translate_gateway_api"]
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "translator"))
