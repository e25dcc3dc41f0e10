"""Host mode's memory of its Envoys across a controller restart: one small file per fleet.

An Envoy started by host mode outlives a controller that crashes (host_launch.py) and keeps
serving its last configuration while it retries the ADS connection. For the restarted
controller to take it over instead of starting a second one (which could not bind the same
ports), the state directory (the work directory, beside the bootstraps and logs) holds per
fleet `<fleet>.state.json`, owner-only: the Envoy's pid and start time, its admin port,
its bootstrap path, the digest of what it was launched with (bootstrap document and
command line) and the fleet's token, which a reconnecting stream must show.

Without a work directory, host mode keeps its files in `default_work_dir`, named after the
xDS address and port: the controller that comes back on the same port finds them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SUFFIX = ".state.json"


def fleet_slug(fleet: str) -> str:
    """The file-name form of a fleet name ("default/web" -> "default_web")."""
    return fleet.replace("/", "_")


def default_work_dir(xds_address: str, xds_port: int) -> Path:
    """Where host mode keeps its files when told nowhere: stable for an xDS address and port."""
    root = Path(tempfile.gettempdir()) / f"gateway-contour-{os.getuid()}"
    return root / f"{xds_address.replace(':', '_')}-{xds_port}"


def launch_digest(bootstrap: dict[str, Any], argv: list[str]) -> str:
    """What an Envoy is launched with, as one digest: equal digests, same Envoy."""
    text = json.dumps({"bootstrap": bootstrap, "argv": argv}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EnvoyRecord:
    fleet: str
    pid: int
    started: int  # the process's start time (host_launch.start_time)
    admin_port: int
    bootstrap: str  # path of its bootstrap file
    digest: str  # launch_digest of its bootstrap and command line
    token: str | None  # the fleet's xDS token (xds/fleet_tokens.py)


class StateDir:
    """The records of one host-mode work directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, fleet: str) -> Path:
        return self.directory / f"{fleet_slug(fleet)}{_SUFFIX}"

    def save(self, record: EnvoyRecord) -> None:
        """Write the record by a rename of an owner-only file (it holds the token)."""
        path = self._path(record.fleet)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(record), out, indent=2)
        tmp.replace(path)

    def remove(self, fleet: str) -> None:
        self._path(fleet).unlink(missing_ok=True)

    def load(self) -> list[EnvoyRecord]:
        """Every readable record; an unreadable one is logged and dropped."""
        records = []
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            try:
                records.append(EnvoyRecord(**json.loads(path.read_text())))
            except (OSError, ValueError, TypeError) as err:
                log.warning("ignoring unreadable host-mode state %s: %s", path, err)
                path.unlink(missing_ok=True)
        return records
