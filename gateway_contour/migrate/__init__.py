"""`gateway-contour migrate`: Ingress and HTTPProxy objects -> an equivalent Gateway,
HTTPRoutes, TLSRoutes and ReferenceGrants, with a note for every construct that could not be
expressed exactly (`model.Note`; never dropped silently).

`migrate(objects, options)` is pure: the objects come from files or a cluster (`sources`),
and Services, Secrets, IngressClasses and TLSCertificateDelegations among them are read to
resolve port names, classes and what the controller would serve.
`render` gives the YAML to apply, headed by the notes as comments, and the notes as data.
Converters per source API live beside this module (`ingress`, `httpproxy`); each adds to
one `Migration`.

The names are loaded on first use (PEP 562): the command line builds its parser, in every
Envoy Pod's `bootstrap` too, without importing the converters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway_contour.lazy import lazy_exports

if TYPE_CHECKING:
    from gateway_contour.migrate.convert import migrate, render, render_notes
    from gateway_contour.migrate.model import MigrateOptions, Migration, Note

__all__ = ["MigrateOptions", "Migration", "Note", "migrate", "render", "render_notes"]
_HOME = {
    "MigrateOptions": "model",
    "Migration": "model",
    "Note": "model",
    "migrate": "convert",
    "render": "convert",
    "render_notes": "convert",
}

__getattr__ = lazy_exports(__name__, _HOME)
