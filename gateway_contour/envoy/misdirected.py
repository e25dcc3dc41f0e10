"""The 421 Misdirected Request check of wildcard TLS hosts (Contour's, for Ingress and
HTTPProxy): on a filter chain matched by a wildcard server name, a request whose Host (port
aside, case ignored) is not the connection's SNI is answered 421, so a client that reused a
connection for another name of the same wildcard certificate retries on a new one.

Exact server names need no check: their route configuration already answers 421 for the
hosts of other chains. Envoy's route matching cannot compare a header with the SNI, so the
check is a small Lua HTTP filter, installed only on the connection managers of chains whose
TLS asks for it (`TLSServer.host_must_match_sni`).
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.lua.v3 import lua_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from gateway_contour.envoy.common import pack
from gateway_contour.ir.model import VirtualHost

LUA_FILTER = "envoy.filters.http.lua"

_SOURCE = """\
function envoy_on_request(handle)
  local sni = handle:streamInfo():requestedServerName()
  if sni == nil or sni == "" then
    return
  end
  local host = string.lower(handle:headers():get(":authority") or "")
  host = string.gsub(host, ":[0-9]+$", "")
  if host ~= string.lower(sni) then
    handle:respond({[":status"] = "421"}, "misdirected request: " .. host .. " is not " .. sni)
  end
end
"""


def checks_sni(virtual_hosts: Iterable[VirtualHost]) -> bool:
    return any(vh.tls is not None and vh.tls.host_must_match_sni for vh in virtual_hosts)


def sni_host_filter() -> hcm_pb2.HttpFilter:
    config = lua_pb2.Lua(default_source_code=base_pb2.DataSource(inline_string=_SOURCE))
    return hcm_pb2.HttpFilter(name=LUA_FILTER, typed_config=pack(config))
