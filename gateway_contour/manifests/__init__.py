"""The install manifests, rendered from the code's own definitions (`make manifests`).

`crds` collects the CustomResourceDefinitions of gateway_contour.api, `rbac` derives the
controller's permissions from the kinds it watches, writes status to and provisions,
`install` assembles the whole installation (namespace, RBAC, the controller Deployment and
Service, a GatewayClass), and `python -m gateway_contour.manifests` writes them to
manifests/ (or, with --check, fails when the files there differ from what it would write).
"""
