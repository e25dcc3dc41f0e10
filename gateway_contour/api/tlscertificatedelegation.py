"""The TLSCertificateDelegation (projectcontour.io/v1) CustomResourceDefinition: lets
HTTPProxies and Ingresses of other namespaces use a TLS Secret of this one."""

from __future__ import annotations

from typing import Any

from gateway_contour.api.schema import array, crd, obj, string


def tls_certificate_delegation_crd() -> dict[str, Any]:
    """The TLSCertificateDelegation CustomResourceDefinition."""
    delegation = obj(
        "Lets proxies in other namespaces use a Secret of this namespace.",
        {
            "secretName": string("A Secret of this namespace.", minLength=1),
            "targetNamespaces": array(
                'Namespaces allowed to use it ("*": all).', string("A name.")
            ),
        },
        required=["secretName", "targetNamespaces"],
    )
    spec = obj(
        "Delegations.", {"delegations": array("Delegations.", delegation)}, required=["delegations"]
    )
    columns = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    return crd(
        "TLSCertificateDelegation", "tlscertificatedelegations", spec, None, columns, ["tlscerts"]
    )
