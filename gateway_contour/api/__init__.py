"""Our own API types as Python data: the CustomResourceDefinitions gateway-contour serves.

Each module defines one group of kinds and a function returning its CRD (a plain dict in the
API's own shape); `python -m gateway_contour.manifests` renders every CRD found here into
manifests/, so the CRDs installed in a cluster cannot drift from the code that reads them.
"""
