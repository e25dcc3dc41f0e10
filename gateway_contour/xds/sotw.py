"""State of the World ADS (StreamAggregatedResources).

Subscriptions: a type whose requests never named a resource is a wildcard subscription
(Envoy does this for listeners and clusters); "*" subscribes to the wildcard explicitly;
otherwise the request's `resource_names` is the full set the client wants.

Responses:
- wildcard types carry every resource of the fleet (absence means deletion); they are
  sent when the type's version differs from the last one sent, including an empty set;
- other types (routes, endpoints, secrets) carry only the subscribed resources that the
  client does not hold at their current version; newly requested names are always sent.

Nonces: a request whose nonce is not the latest one sent for its type is stale and
ignored (the client will send a fresh request after it handles our latest response). The
request carrying the latest nonce ACKs it, or NACKs it when `error_detail` is set. After a
NACK the rejected version still counts as sent, so it is not sent again; the next change is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway_contour.xds import wire
from gateway_contour.xds.cache import CachedResource, TypeSnapshot, type_version
from gateway_contour.xds.stream import AdsStream, TypeState


class SotwStream(AdsStream):
    protocol = "sotw"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_nonce: dict[str, str] = {}  # type_url -> latest nonce sent

    def new_nonce(self, state: TypeState, version: str) -> str:
        nonce = super().new_nonce(state, version)
        self._last_nonce[state.type_url] = nonce
        return nonce

    def handle_request(self, request: Any) -> None:
        first = request.type_url not in self.types
        state = self.type_state(request.type_url)
        nonce = request.response_nonce
        latest = self._last_nonce.get(state.type_url)
        if nonce and latest is not None and nonce != latest:
            return  # stale: superseded by a response the client has not processed yet
        if nonce and nonce == state.pending_nonce:
            self.settle(state, request)
        self._subscribe(state, list(request.resource_names))
        if first and request.version_info and state.wildcard:
            state.resume_version = request.version_info

    def request_names(self, request: Any) -> Sequence[Sequence[str]]:
        return (request.resource_names,)

    def _subscribe(self, state: TypeState, requested: list[str]) -> None:
        if not requested and not state.explicit:
            if not state.wildcard:
                state.wildcard = True
                state.state_changed()
            return
        state.explicit = True
        names = set(requested)
        wildcard = "*" in names
        names.discard("*")
        if wildcard == state.wildcard and names == state.names:
            return  # an ACK or a repeat: same subscription
        # Newly requested names must be sent even if sent before; dropped ones are forgotten.
        for name in names.symmetric_difference(state.names):
            state.sent.pop(name, None)
        state.wildcard = wildcard
        state.names = names
        state.state_changed()

    def next_response(
        self, state: TypeState, snapshot: TypeSnapshot, hold_removals: bool
    ) -> bytes | None:
        if state.wildcard:
            return self._wildcard_response(state, snapshot, hold_removals)
        if state.synced is snapshot:
            return None
        state.synced = snapshot
        resources = snapshot.resources
        changed = []
        for name in sorted(state.names):
            record = resources.get(name)
            if record is not None and state.sent.get(name) != record.version:
                changed.append(record)
        if not changed:
            return None
        for record in changed:
            state.sent[record.name] = record.version
        return wire.sotw_response(
            version_info=snapshot.version,
            type_url=state.type_url,
            nonce=self.new_nonce(state, snapshot.version),
            resource_fields=[record.sotw_field() for record in changed],
        )

    def _wildcard_response(
        self, state: TypeState, snapshot: TypeSnapshot, hold_removals: bool
    ) -> bytes | None:
        view: Mapping[str, CachedResource] = snapshot.resources
        version = snapshot.version
        held = [n for n in state.records if n not in view] if hold_removals else []
        if held:  # keep what the client holds and the snapshot dropped, for now
            view = {**view, **{name: state.records[name] for name in held}}
            version = type_version(view)
        else:
            state.synced = snapshot
        if state.resume_version is not None:
            resumed, state.resume_version = state.resume_version, None
            if resumed == version:  # a reconnecting client already has exactly this
                state.sent_version = state.accepted_version = version
                state.records = dict(view)
        if state.sent_version == version:
            return None
        state.sent_version = version
        state.records = {name: view[name] for name in sorted(view)}
        return wire.sotw_response(
            version_info=version,
            type_url=state.type_url,
            nonce=self.new_nonce(state, version),
            resource_fields=[record.sotw_field() for record in state.records.values()],
        )
