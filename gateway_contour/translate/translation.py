"""The whole translation: every source API's translator into one IRBuilder (the package
docstring says how)."""

from __future__ import annotations

from gateway_contour.ir.model import IR
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate.builder import IRBuilder
from gateway_contour.translate.cache import TranslationCache
from gateway_contour.translate.gatewayapi import translate_gateway_api
from gateway_contour.translate.httpproxy import translate_httpproxy
from gateway_contour.translate.ingress import translate_ingress
from gateway_contour.translate.legacy import LegacyFleet
from gateway_contour.translate.options import TranslateOptions
from gateway_contour.translate.rejected import report_rejected
from gateway_contour.translate.services import ServiceIndex


def translate(
    snapshot: Snapshot,
    options: TranslateOptions | None = None,
    cache: TranslationCache | None = None,
) -> tuple[IR, StatusReport]:
    """The IR and the desired statuses for `snapshot`. Pass the same `cache` to successive
    calls to reuse the work done for objects that did not change; the result is the same
    with or without it."""
    options = options if options is not None else TranslateOptions()
    builder = IRBuilder()
    report = StatusReport()
    translate_gateway_api(snapshot, options, builder, report, cache)
    # Ingress (and HTTPProxy) share one implicit fleet, added once everything is in it
    legacy = LegacyFleet(options)
    memo = cache.legacy if cache is not None else None
    if memo is not None:
        memo.begin(snapshot, options.fallback_certificate)
    services = ServiceIndex(snapshot, cache.endpoints if cache is not None else None)
    translate_ingress(snapshot, options, builder, report, legacy, services, memo)
    translate_httpproxy(snapshot, options, builder, report, legacy, services, memo)
    legacy.add_to(builder)
    # last: the status of a version a provider rejected replaces its last good one's
    report_rejected(snapshot, options, report)
    return builder.build(options.http), report
