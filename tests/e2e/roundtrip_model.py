"""The pieces of the migration round trip (tests/e2e/test_migrate_roundtrip.py): a
`Scenario` is source YAML and the `Probe`s that exercise it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probe:
    path: str
    host: str
    expect: str | int  # the echo backend that must answer, or a status code
    tls: bool = False
    # asked exactly once per world, after the others answer as expected: its answer depends
    # on what the backend saw before (the "tricky" backend fails each path's first request)
    once: bool = False
    headers: tuple[tuple[str, str], ...] = ()  # request headers, (name, value)


@dataclass(frozen=True)
class Scenario:
    name: str
    objects: str
    probes: tuple[Probe, ...] = field(default_factory=tuple)


def P(
    path: str,
    host: str,
    expect: str | int,
    tls: bool = False,
    once: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> Probe:
    return Probe(path, host, expect, tls, once, headers)
