"""Every CustomResourceDefinition defined in gateway_contour.api.

A module of that package defines a CRD by a module-level function whose name ends in `crd`
and that takes no arguments (e.g. `contour_deployment_crd()`), returning the CRD as a dict.
Modules are found by walking the package, so a new API module needs no registration here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import gateway_contour.api


def api_crds() -> list[dict[str, Any]]:
    """The CRDs of gateway_contour.api, sorted by name (one per name)."""
    found: dict[str, dict[str, Any]] = {}
    package = gateway_contour.api
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for attr in sorted(vars(module)):
            value = getattr(module, attr)
            if not (attr.lower().endswith("crd") and callable(value)):
                continue
            if getattr(value, "__module__", None) != module.__name__:
                continue  # imported from elsewhere: found where it is defined
            if not inspect.isfunction(value) or any(
                p.default is p.empty for p in inspect.signature(value).parameters.values()
            ):
                continue
            crd = value()
            if isinstance(crd, dict) and crd.get("kind") == "CustomResourceDefinition":
                found[crd["metadata"]["name"]] = crd
    return [found[name] for name in sorted(found)]
