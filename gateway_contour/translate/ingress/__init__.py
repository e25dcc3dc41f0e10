"""Ingress (networking.k8s.io/v1) -> the implicit legacy fleet (`translate/legacy.py`).

Ingresses of our class (`classes`) are compiled one by one (`routes`, with `paths`,
`backends`, `tls` and the Contour `annotations`) and merged by hostname, the routes of every
Ingress naming a host ordered by path precedence (`paths.precedence`), then by Ingress
(namespace, name), rule and path. On the plain HTTP listener a host with routes is a
virtual host holding its own routes, then those of the wildcard hosts covering it, then those
of "*" (rules without a host, then the default backend): as the Ingress spec says, the
default backend takes every request no rule matches, and a rule without a host applies to
all traffic (Contour limits both to hosts no rule names; Gateway API assembles routes the
way done here, so a migration keeps every answer). A host some Ingress gives a certificate is
also a virtual host on the HTTPS listener, with its own routes only. Several Ingresses giving
one host a certificate: the first (by namespace, name) wins.

Status: each Ingress of ours gets `status.loadBalancer.ingress` with the fleet's address
(`legacy.status_address`; none when unknown). Ingress status has no conditions, so
everything wrong with an Ingress (a bad annotation, a missing Service or Secret, an invalid
path) is a problem in the report naming the Ingress (host and serve mode log each problem
once, when it appears); the rest of it, and every other Ingress, keeps serving.

Its names are loaded on first use (PEP 562), so that a module of it (`migrate` reads
a few) can be imported without the rest of the translator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway_contour.lazy import lazy_exports

if TYPE_CHECKING:
    from gateway_contour.translate.ingress.classes import IngressClasses
    from gateway_contour.translate.ingress.translator import load_balancer_status, translate_ingress

__all__ = ["IngressClasses", "load_balancer_status", "translate_ingress"]
_HOME = {
    "IngressClasses": "classes",
    "load_balancer_status": "translator",
    "translate_ingress": "translator",
}

__getattr__ = lazy_exports(__name__, _HOME)
