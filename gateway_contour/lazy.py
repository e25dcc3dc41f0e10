"""Names of a package loaded on first use (PEP 562): `lazy_exports(__name__, homes)` is the
package's module `__getattr__`, importing `package.<homes[name]>` when `name` is first read.

A package whose `__init__` imported all its modules makes every import of one of them pay
for the rest: `migrate` reads a few modules of `translate` and had imported the whole
translator, certificates included (issue 19).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home}"), name)

    return __getattr__
