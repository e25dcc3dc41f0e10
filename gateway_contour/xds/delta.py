"""Incremental (Delta) ADS (DeltaAggregatedResources).

Per stream and type the server tracks the version of each resource the client holds
(`TypeState.sent`): seeded from `initial_resource_versions` on the first request of the
type (a reconnecting Envoy is not sent what it already has), updated when a response is
sent. A response carries only resources whose content hash differs from what the client
holds, and `removed_resources` for names it holds that are gone.

Subscriptions:
- a type whose requests never subscribed to a name is a wildcard subscription (Envoy's
  listeners and clusters); "*" subscribes/unsubscribes the wildcard explicitly;
- a subscribed name is always answered, even if the client seemed to hold it: with the
  resource, or in `removed_resources` when it does not exist (so Envoy need not wait for
  its timeout);
- unsubscribing needs no answer, except a name also covered by the wildcard, which is
  re-sent (or removed) so the client knows whether to keep it.

Subscription changes are honoured whatever the nonce. A request whose nonce is the one in
flight ACKs it, or NACKs it when `error_detail` is set; versions sent count as held either
way, so a rejected resource is not re-sent until its content changes again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway_contour.xds import wire
from gateway_contour.xds.cache import CachedResource, TypeSnapshot
from gateway_contour.xds.stream import AdsStream, TypeState

ABSENT = ""  # `sent` value: the client was told this subscribed name does not exist
RESEND = "\0resend"  # `sent` value: the client must be told the name's current state


class DeltaStream(AdsStream):
    protocol = "delta"

    def handle_request(self, request: Any) -> None:
        first = request.type_url not in self.types
        state = self.type_state(request.type_url)
        if request.response_nonce and request.response_nonce == state.pending_nonce:
            self.settle(state, request)
        initial = dict(request.initial_resource_versions) if first else {}
        state.sent.update(initial)
        subscribe = list(request.resource_names_subscribe)
        unsubscribe = list(request.resource_names_unsubscribe)
        if not state.explicit and not subscribe:
            state.wildcard = True  # legacy wildcard: no name subscribed yet
        if subscribe:
            state.explicit = True
        for name in subscribe:
            if name == "*":
                state.wildcard = True
                continue
            state.names.add(name)
            if name not in initial:
                state.sent.pop(name, None)
        for name in unsubscribe:
            if name == "*":
                state.wildcard = False
                continue
            state.names.discard(name)
            if state.wildcard:
                state.sent[name] = RESEND
            else:
                state.sent.pop(name, None)
        if first or subscribe or unsubscribe:
            state.state_changed()

    def request_names(self, request: Any) -> Sequence[Sequence[str]]:
        return (
            request.resource_names_subscribe,
            request.resource_names_unsubscribe,
            list(request.initial_resource_versions),
        )

    def seeded_names(self, request: Any) -> int:
        return len(request.initial_resource_versions)

    def next_response(
        self, state: TypeState, snapshot: TypeSnapshot, hold_removals: bool
    ) -> bytes | None:
        if state.synced is snapshot:
            return None  # nothing changed since this snapshot was diffed
        resources = snapshot.resources
        sent = state.sent
        updates: dict[str, CachedResource] = {}
        removed: list[str] = []
        held = False
        if state.wildcard:
            for name, record in resources.items():
                if sent.get(name) != record.version:
                    updates[name] = record
        for name in state.names:
            found = resources.get(name)
            if found is None:
                version = sent.get(name)
                if version == ABSENT:
                    continue
                if hold_removals and version not in (None, RESEND):
                    held = True  # the client holds it and may still use it
                else:
                    removed.append(name)
            elif sent.get(name) != found.version:
                updates[name] = found
        for name, version in sent.items():
            if version != ABSENT and name not in resources and name not in state.names:
                if hold_removals and version != RESEND:
                    held = True
                else:
                    removed.append(name)
        if not held:
            state.synced = snapshot
        first_wildcard_answer = state.wildcard and not state.answered
        if not updates and not removed and not first_wildcard_answer:
            return None
        for name, record in updates.items():
            sent[name] = record.version
        for name in removed:
            if name in state.names:
                sent[name] = ABSENT
            else:
                del sent[name]
        ordered = [updates[name] for name in sorted(updates)]
        return wire.delta_response(
            system_version_info=snapshot.version,
            type_url=state.type_url,
            nonce=self.new_nonce(state, snapshot.version),
            resource_fields=[record.delta_field() for record in ordered],
            removed=sorted(removed),
        )
