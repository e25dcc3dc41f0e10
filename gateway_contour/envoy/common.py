"""Small protobuf builders shared by the envoy modules: ADS config sources, SDS references,
durations, `Any` packing, SAN and glob matchers, and header mutations.

Messages are built directly with keyword arguments (never json_format on the build path):
that is what keeps a 10k-route build in the tens of milliseconds.
"""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2, config_source_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2
from envoy.type.matcher.v3 import regex_pb2, string_pb2
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.internal.containers import (
    RepeatedCompositeFieldContainer,
    RepeatedScalarFieldContainer,
)
from google.protobuf.message import Message

from gateway_contour.ir.model import HeaderModifier
from gateway_contour.ir.patterns import glob_regex

_V3 = config_source_pb2.ApiVersion.V3

# Headers Envoy refuses in request_headers_to_add / _to_remove (pseudo-headers and Host).
_UNMODIFIABLE_REQUEST_HEADERS = frozenset({"host"})

OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
APPEND = base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD


def ads_config_source() -> config_source_pb2.ConfigSource:
    """A ConfigSource pointing at the ADS stream the bootstrap configures."""
    return config_source_pb2.ConfigSource(
        ads=config_source_pb2.AggregatedConfigSource(), resource_api_version=_V3
    )


def sds_secret(name: str) -> secret_pb2.SdsSecretConfig:
    return secret_pb2.SdsSecretConfig(name=name, sds_config=ads_config_source())


def dns_san_matcher(san: str) -> common_pb2.SubjectAltNameMatcher:
    return common_pb2.SubjectAltNameMatcher(
        san_type=common_pb2.SubjectAltNameMatcher.DNS,
        matcher=string_pb2.StringMatcher(exact=san),
    )


def uri_san_matcher(uri: str) -> common_pb2.SubjectAltNameMatcher:
    return common_pb2.SubjectAltNameMatcher(
        san_type=common_pb2.SubjectAltNameMatcher.URI,
        matcher=string_pb2.StringMatcher(exact=uri),
    )


def duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    set_duration(out, seconds)
    return out


def set_duration(out: duration_pb2.Duration, seconds: float) -> None:
    whole, nanos = divmod(round(seconds * 1_000_000_000), 1_000_000_000)
    out.seconds = whole
    out.nanos = nanos


def pack(message: Message) -> any_pb2.Any:
    out = any_pb2.Any()
    out.Pack(message)
    return out


def regex(pattern: str) -> regex_pb2.RegexMatcher:
    return regex_pb2.RegexMatcher(regex=pattern)


def glob_matcher(pattern: str) -> string_pb2.StringMatcher:
    """Exact match, or a regex when the pattern holds '*' wildcards (CORS origins)."""
    if "*" not in pattern:
        return string_pb2.StringMatcher(exact=pattern)
    return string_pb2.StringMatcher(safe_regex=regex(glob_regex(pattern)))


def add_header_options(
    to_add: RepeatedCompositeFieldContainer[base_pb2.HeaderValueOption],
    to_remove: RepeatedScalarFieldContainer[str],
    modifier: HeaderModifier,
    request: bool,
) -> None:
    """Append a HeaderModifier to a *_headers_to_add / *_headers_to_remove pair (in place).

    `set` overwrites, `add` appends. On requests, pseudo-headers and Host cannot be touched
    this way (Envoy rejects the config); callers turn a Host `set` into a host rewrite.
    """
    for h in modifier.set:
        if _modifiable(h.name, request):
            option = to_add.add()
            option.header.key = h.name
            option.header.value = h.value
            option.append_action = OVERWRITE
    for h in modifier.add:
        if _modifiable(h.name, request):
            option = to_add.add()
            option.header.key = h.name
            option.header.value = h.value
            option.append_action = APPEND
    for name in modifier.remove:
        if _modifiable(name, request):
            to_remove.append(name)


def host_from_modifier(modifier: HeaderModifier | None) -> str | None:
    """The value a request HeaderModifier sets Host to, if any (becomes a host rewrite)."""
    if not modifier:
        return None
    for h in modifier.set:
        if h.name.lower() in ("host", ":authority"):
            return h.value
    return None


def _modifiable(name: str, request: bool) -> bool:
    if name.startswith(":"):
        return False
    return not (request and name.lower() in _UNMODIFIABLE_REQUEST_HEADERS)
