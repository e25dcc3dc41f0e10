"""Where the CustomResourceDefinitions that files are validated against come from.

Ours (HTTPProxy, TLSCertificateDelegation, ContourDeployment) are Python data in
gateway_contour.api, always at hand. The Gateway API CRDs are upstream's, pinned at
GATEWAY_API_VERSION (the version conformance/go.mod requires), experimental channel (a superset
of standard, the channel the k8s tier installs), and never copied into this repository. They
are looked for, first found wins:

1. `$GATEWAY_CONTOUR_GATEWAY_API_CRDS`: a directory of CRD YAML (the module's
   `config/crd/experimental`) or one YAML file (the release's `experimental-install.yaml`).
2. The package's own `gateway_contour/validation/crds/` directory (git-ignored), filled at build
   time by `hack/package-gateway-api-crds.sh` from the Go module, so that a wheel or image
   carries them to a machine with no Go module cache.
3. A checkout's `.cache/control-plane/gateway-api-<version>/experimental`, which
   hack/build-control-plane.sh fills for the k8s tier.
4. The Go module cache (`$GOMODCACHE`, `$GOPATH/pkg/mod`, `~/go/pkg/mod`):
   `sigs.k8s.io/gateway-api@<version>/config/crd/experimental`.

With none of them, Gateway API objects get the checks that need no CRD (metadata) and one
warning says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gateway_contour.manifests.crds import api_crds

log = logging.getLogger(__name__)

GATEWAY_API_VERSION = "v1.6.1"
CHANNEL = "experimental"
ENV_VAR = "GATEWAY_CONTOUR_GATEWAY_API_CRDS"
PACKAGED = Path(__file__).resolve().parent / "crds"
_CHECKOUT = Path(__file__).resolve().parents[2]
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def module_caches() -> Iterator[Path]:
    if os.environ.get("GOMODCACHE"):
        yield Path(os.environ["GOMODCACHE"])
    for gopath in filter(None, os.environ.get("GOPATH", "").split(os.pathsep)):
        yield Path(gopath) / "pkg" / "mod"
    yield Path.home() / "go" / "pkg" / "mod"


def candidates() -> Iterator[Path]:
    """Every place the Gateway API CRDs may be, in the order they are looked for."""
    if os.environ.get(ENV_VAR):
        yield Path(os.environ[ENV_VAR])
    yield PACKAGED
    yield _CHECKOUT / ".cache" / "control-plane" / f"gateway-api-{GATEWAY_API_VERSION}" / CHANNEL
    for cache in module_caches():
        yield (
            cache
            / "sigs.k8s.io"
            / f"gateway-api@{GATEWAY_API_VERSION}"
            / "config"
            / "crd"
            / CHANNEL
        )


def _yaml_files(place: Path) -> list[Path]:
    if place.is_file():
        return [place]
    if place.is_dir():
        return sorted(p for p in place.iterdir() if p.suffix in (".yaml", ".yml"))
    return []


def read_crds(place: Path) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions in a file or directory of YAML (other documents skipped)."""
    out = []
    for path in _yaml_files(place):
        for doc in yaml.load_all(path.read_text(), Loader=_LOADER):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                out.append(doc)
    return out


def gateway_api_crds() -> tuple[list[dict[str, Any]], Path | None]:
    """The Gateway API CRDs and where they were read, or ([], None) when none was found."""
    for place in candidates():
        crds = read_crds(place)
        if crds:
            log.debug("Gateway API CRDs from %s", place)
            return crds, place
    log.warning(
        "no Gateway API %s CRDs found (set %s, or run hack/package-gateway-api-crds.sh): "
        "Gateway API objects read from files are not checked against their schemas",
        GATEWAY_API_VERSION,
        ENV_VAR,
    )
    return [], None


def all_crds() -> list[dict[str, Any]]:
    """Gateway API's CRDs (when found) and ours."""
    return gateway_api_crds()[0] + api_crds()
