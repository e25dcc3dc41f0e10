"""Which Ingresses are ours: ingress class selection.

An Ingress names its class with an annotation (`projectcontour.io/ingress.class` or the
legacy `kubernetes.io/ingress.class`; an annotation wins over the field, as in Contour) or
with `spec.ingressClassName`. An Ingress naming none takes the configured default class
(`TranslateOptions.ingress_default_class`), else the IngressClass annotated
`ingressclass.kubernetes.io/is-default-class: "true"`, else it has no class.

With class names configured (`ingress_class_names`, Contour's --ingress-class-name) exactly
those classes are ours and an Ingress without a class is not. With none configured, ours are
the class "contour" (Contour's default), every IngressClass whose `spec.controller` is our
controller, and Ingresses without a class.
"""

from __future__ import annotations

from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import mapping, text
from gateway_contour.translate.options import TranslateOptions

CLASS_ANNOTATIONS = ("projectcontour.io/ingress.class", "kubernetes.io/ingress.class")
DEFAULT_CLASS = "contour"
IS_DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"


def class_of(obj: KubeObject) -> str:
    """The class an object names ("" for none)."""
    annotations = mapping(mapping(obj.get("metadata")).get("annotations"))
    for key in CLASS_ANNOTATIONS:
        value = text(annotations.get(key)).strip()
        if value:
            return value
    return text(mapping(obj.get("spec")).get("ingressClassName")).strip()


class IngressClasses:
    __slots__ = ("configured", "default", "ours")

    def __init__(self, snapshot: Snapshot, options: TranslateOptions) -> None:
        self.configured = tuple(n for n in options.ingress_class_names if n)
        if self.configured:
            self.ours = frozenset(self.configured)
        else:
            controlled = {
                ic["metadata"]["name"]
                for ic in snapshot.objects("IngressClass")
                if text(mapping(ic.get("spec")).get("controller")) == options.ingress_controller
            }
            self.ours = frozenset({DEFAULT_CLASS, *controlled})
        self.default = options.ingress_default_class or _cluster_default(snapshot)

    def effective_class(self, obj: KubeObject) -> str:
        return class_of(obj) or self.default or ""

    def selects(self, obj: KubeObject) -> bool:
        name = self.effective_class(obj)
        if not name:
            return not self.configured
        return name in self.ours


def _cluster_default(snapshot: Snapshot) -> str | None:
    """The IngressClass marked as the cluster's default (the first by name if several are:
    the API server's admission would refuse to pick, but files are not admitted)."""
    for ic in snapshot.objects("IngressClass"):
        annotations = mapping(mapping(ic.get("metadata")).get("annotations"))
        if text(annotations.get(IS_DEFAULT_CLASS)).lower() == "true":
            return str(ic["metadata"]["name"])
    return None
