"""Statuses for objects a provider rejected (the placeholders of store/rejected.py).

A rejected object is not translated (what of it the store still serves is its last good
version, translated as usual); its placeholder becomes the status of the version that was
rejected, replacing whatever status the last good version would get, so the object's
status answers for its newest generation.

Only HTTPProxy is reported so far, as Contour reports an invalid proxy: currentStatus
"invalid", the reason as description, Valid False with one SpecError sub-condition. An
HTTPProxy of another ingress class gets no status (it is another controller's). In a
cluster no other kind can be nested that deep: HTTPProxy is the only CRD here with
`x-kubernetes-preserve-unknown-fields` (the pinned Gateway API CRDs have none, so the API
server prunes every field their schemas do not name, and those schemas are a few levels
deep), and the built-in kinds we read have fixed shapes. In standalone mode a file may hold
anything; a deep object there is skipped with a log line and the metric, and gets no status
(a route's status is per parent, and its parentRefs are what may have been cut).
"""

from __future__ import annotations

import logging

from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot, key_of
from gateway_contour.store.rejected import REJECTED_KIND, Rejection, rejection
from gateway_contour.translate.httpproxy import status as st
from gateway_contour.translate.ingress.classes import IngressClasses
from gateway_contour.translate.options import TranslateOptions

log = logging.getLogger(__name__)

REASON = "NestedTooDeep"  # the sub-condition reason of an HTTPProxy over the bound


def report_rejected(snapshot: Snapshot, options: TranslateOptions, report: StatusReport) -> None:
    """Set the status of every rejected object that has one and is ours."""
    placeholders = snapshot.objects(REJECTED_KIND)
    if not placeholders:
        return
    classes = IngressClasses(snapshot, options)
    for stored in placeholders:
        rejected = rejection(stored)
        if rejected is None:
            report.problem(str(key_of(stored)), "not a placeholder this controller makes")
        elif rejected.key.kind == "HTTPProxy" and classes.selects(rejected.obj):
            report.set(rejected.key, _proxy_status(snapshot, rejected))


def _proxy_status(snapshot: Snapshot, rejected: Rejection) -> dict[str, object]:
    generation = rejected.obj["metadata"].get("generation")
    status = st.ProxyStatus(generation if isinstance(generation, int) else 0)
    kept = snapshot.get(*rejected.key)
    served = "the last accepted version keeps serving" if kept else "it is not served"
    status.error(st.SPEC_ERROR, REASON, f"HTTPProxy {rejected.message}: {served}")
    log.info("HTTPProxy %s/%s rejected: %s", rejected.key.namespace, rejected.key.name, served)
    return status.to_api()
