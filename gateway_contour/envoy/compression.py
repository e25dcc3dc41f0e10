"""Response compression (Contour's default: gzip when the client accepts it).

One `envoy.filters.http.compressor` filter per HTTP connection manager, with the compressor
library the operator chose (gzip, brotli or zstd; `disabled` installs none). Envoy's
defaults decide the rest: responses of 30 bytes or more, of the usual text, JSON, JavaScript
and XML content types, without Cache-Control no-transform or a Content-Encoding already.
"""

from __future__ import annotations

from envoy.config.core.v3 import extension_pb2
from envoy.extensions.compression.brotli.compressor.v3 import brotli_pb2
from envoy.extensions.compression.gzip.compressor.v3 import gzip_pb2
from envoy.extensions.compression.zstd.compressor.v3 import zstd_pb2
from envoy.extensions.filters.http.compressor.v3 import compressor_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf.message import Message

from gateway_contour.envoy.common import pack
from gateway_contour.ir.model import Compression

COMPRESSOR_FILTER = "envoy.filters.http.compressor"

_LIBRARIES: dict[Compression, tuple[str, type[Message]]] = {
    Compression.GZIP: ("envoy.compression.gzip.compressor", gzip_pb2.Gzip),
    Compression.BROTLI: ("envoy.compression.brotli.compressor", brotli_pb2.Brotli),
    Compression.ZSTD: ("envoy.compression.zstd.compressor", zstd_pb2.Zstd),
}


def compressor_filter(algorithm: Compression) -> hcm_pb2.HttpFilter | None:
    """The compressor filter for `algorithm`; None when compression is disabled."""
    library = _LIBRARIES.get(algorithm)
    if library is None:
        return None
    name, config = library
    compressor = compressor_pb2.Compressor(
        compressor_library=extension_pb2.TypedExtensionConfig(
            name=name, typed_config=pack(config())
        )
    )
    return hcm_pb2.HttpFilter(name=COMPRESSOR_FILTER, typed_config=pack(compressor))
