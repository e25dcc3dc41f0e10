"""Values the command line shows as defaults and the bootstrap needs, in a module that imports
nothing: `gateway-contour bootstrap` (every Envoy Pod's init container) and `--help` read
these without importing the packages they belong to (cryptography, protobuf, aiohttp), which
would add a second or more to each Envoy Pod's start on a busy node. Their owners re-export
them; change them here."""

from __future__ import annotations

CERT_FILE = "tls.crt"  # the kubernetes.io/tls Secret's keys, also the TLS directories' files
KEY_FILE = "tls.key"
CA_FILE = "ca.crt"
CA_ROTATION_GRACE = 300.0  # seconds the previous CA is still trusted after a rotation
MAX_STREAMS = 16_384  # ADS streams held at once (xds/limits.py)
LEGACY_FLEET = "projectcontour/contour"  # the fleet serving Ingress and HTTPProxy
