"""xds: the versioned snapshot cache and the ADS server (SotW and Delta) Envoy connects to.

Public API: `SnapshotCache` (cache.py), `XdsServer` (server.py), `XdsStats` / `NackEvent`
(stats.py) and the type URL constants (types.py).
"""

from gateway_contour.xds.cache import CachedResource, FleetSnapshot, SnapshotCache, TypeSnapshot
from gateway_contour.xds.server import XdsServer
from gateway_contour.xds.stats import NackEvent, XdsStats

__all__ = [
    "CachedResource",
    "FleetSnapshot",
    "NackEvent",
    "SnapshotCache",
    "TypeSnapshot",
    "XdsServer",
    "XdsStats",
]
