"""Debug dumps: the current IR and the xDS resources being served, as YAML.

The IR dump is `ir.serialize.ir_to_yaml` of the last good rebuild. The xDS dump reads the
snapshots the cache serves (what Envoys get, endpoint-only updates included), per fleet and
kind. Secret material never appears: the IR serializer replaces every Secret's bytes with a
digest, and so does `envoy.dump` for every SDS Secret; those are the only places key
material lives (listeners and clusters name Secrets, they never inline them), and a type
this module does not know has all its inline data redacted too.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.envoy.dump import KIND_NAMES, message_to_data
from gateway_contour.ir.serialize import dump_yaml
from gateway_contour.xds import types
from gateway_contour.xds.cache import FleetSnapshot, SnapshotCache


def fleet_snapshots(cache: SnapshotCache, fleet: str | None = None) -> list[FleetSnapshot]:
    """The snapshots being served now (of one fleet, or all): immutable, so they can be
    rendered off the event loop while the cache moves on."""
    found = [cache.snapshot(name) for name in cache.fleets() if fleet in (None, name)]
    return [s for s in found if s is not None]


def xds_data(snapshots: list[FleetSnapshot]) -> dict[str, dict[str, Any]]:
    """fleet -> kind ("listeners", ...) -> version and resources in name order, secrets
    redacted."""
    out: dict[str, dict[str, Any]] = {}
    for snapshot in snapshots:
        kinds: dict[str, Any] = {}
        known = [t for t in KIND_NAMES if t in snapshot.types]
        for type_url in known + sorted(set(snapshot.types) - set(KIND_NAMES)):
            records = snapshot.get(type_url).resources
            # a type we do not know could carry anything: redact its inline data too
            redact = type_url == types.SECRET or type_url not in KIND_NAMES
            if records:
                kinds[KIND_NAMES.get(type_url, type_url)] = {
                    "version": snapshot.version(type_url),
                    "resources": [
                        message_to_data(records[r].any, redact=redact) for r in sorted(records)
                    ],
                }
        out[snapshot.fleet] = kinds
    return out


def xds_yaml(snapshots: list[FleetSnapshot]) -> str:
    return dump_yaml(xds_data(snapshots))
