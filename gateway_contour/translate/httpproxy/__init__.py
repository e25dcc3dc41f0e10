"""HTTPProxy (projectcontour.io/v1) and TLSCertificateDelegation -> IR, served by the
implicit legacy fleet (translate/legacy.py).

A root HTTPProxy (one with `spec.virtualhost`) is one virtual host named by its `fqdn`:
on the HTTP listener, and with `virtualhost.tls` also on the HTTPS listener, where the
HTTP side then redirects to HTTPS (301) except for routes with `permitInsecure`. TLS
passthrough and `tcpproxy` give the HTTPS virtual host a TCP proxy instead of routes.
Included proxies contribute routes (see `inclusion`); proxies no root reaches are
"orphaned". Valid roots get `status.loadBalancer` with the fleet's address (when known),
as Ingresses do. A wildcard fqdn covers one label, as in Contour (`translate/wildcard_host`).
An fqdn claimed by two roots makes both invalid (DuplicateVhost); an fqdn already served by
an Ingress stays with it. Ours are the proxies whose ingress class
(`spec.ingressClassName` or the class annotations) the Ingress class selection picks
(translate/ingress/classes.py); the others are another controller's.

Module map: `inclusion` (roots and delegation), `conditions` (matching), `routes` (one
route), `services` (weights, mirrors, cluster settings), `policies`, `tls`, `tcpproxy`,
`status`.

Its names are loaded on first use (PEP 562), so that a module of it (`migrate` reads
a few) can be imported without the rest of the translator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway_contour.lazy import lazy_exports

if TYPE_CHECKING:
    from gateway_contour.translate.httpproxy.translator import translate_httpproxy

__all__ = ["translate_httpproxy"]
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "translator"))
