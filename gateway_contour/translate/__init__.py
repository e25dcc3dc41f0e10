"""Translation: the snapshot of source objects -> one IR and the status every object should
have. Pure and synchronous; invalid input becomes status conditions, never an exception.

Each source API has its own subpackage (`gatewayapi`, `ingress`, `httpproxy`); they all add
into one `IRBuilder`, which merges shared clusters and sorts. Ingress and HTTPProxy name no
Gateway: they share one implicit fleet (`legacy.LegacyFleet`), Ingress first, so an
HTTPProxy cannot take a hostname Ingresses already serve (it is told who holds it). Objects
a provider rejected are not translated; their placeholders become statuses (`rejected`).

Its names are loaded on first use (PEP 562), so that a module of it (`migrate` reads
a few) can be imported without the rest of the translator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway_contour.lazy import lazy_exports

if TYPE_CHECKING:
    from gateway_contour.translate.cache import TranslationCache
    from gateway_contour.translate.options import DEFAULT_CONTROLLER_NAME, TranslateOptions
    from gateway_contour.translate.translation import translate

__all__ = ["DEFAULT_CONTROLLER_NAME", "TranslateOptions", "TranslationCache", "translate"]
_HOME = {
    "DEFAULT_CONTROLLER_NAME": "options",
    "TranslateOptions": "options",
    "TranslationCache": "cache",
    "translate": "translation",
}

__getattr__ = lazy_exports(__name__, _HOME)
