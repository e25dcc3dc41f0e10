"""A gRPC echo backend for demos and end-to-end tests: a real grpcio server (HTTP/2 in clear
text) that answers every unary method of every service.

No generated code: requests and responses are raw bytes. The reply is a JSON document with
the backend's name, the full method name the call arrived on (`/service/method`), the
request metadata it saw and the request body; the backend's name also goes back in the
initial metadata (`x-backend`). A method named `Fail` answers with the status named by the
request body (e.g. b"NOT_FOUND").
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

BACKEND_HEADER = "x-backend"


@dataclass
class GrpcEchoBackend:
    """A running gRPC echo server; `stop()` shuts it down."""

    name: str
    host: str
    port: int
    _server: grpc.Server

    def stop(self) -> None:
        self._server.stop(grace=None).wait(5)

    def wait(self) -> None:
        """Serve until the server is stopped (or the process killed)."""
        self._server.wait_for_termination()


class _EchoHandler(grpc.GenericRpcHandler):
    def __init__(self, name: str) -> None:
        self._name = name

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = str(details.method)
        return grpc.unary_unary_rpc_method_handler(self._answer(method))

    def _answer(self, method: str) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            context.send_initial_metadata(((BACKEND_HEADER, self._name),))
            if method.rsplit("/", 1)[-1] == "Fail":
                code = getattr(grpc.StatusCode, request.decode(errors="replace"), None)
                context.abort(code or grpc.StatusCode.UNKNOWN, f"{self._name} fails on purpose")
            metadata: dict[str, Any] = {}
            for key, value in context.invocation_metadata():
                metadata.setdefault(key, value)
            reply = {
                "backend": self._name,
                "method": method,
                "metadata": metadata,
                "body": request.decode(errors="replace"),
            }
            return json.dumps(reply).encode()

        return answer


def start_grpc_echo(name: str, host: str = "127.0.0.1", port: int = 0) -> GrpcEchoBackend:
    """Start a gRPC echo backend on a thread pool; port 0 picks a free port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((_EchoHandler(name),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    server.start()
    return GrpcEchoBackend(name, host, bound, server)


def main() -> None:
    """`python -m gateway_contour.demo.grpc_echo --name N --host H --port P`: serve until
    killed."""
    parser = argparse.ArgumentParser(description="a gRPC echo backend")
    parser.add_argument("--name", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=50051)
    args = parser.parse_args()
    backend = start_grpc_echo(args.name, args.host, args.port)
    print(f"gRPC echo backend {args.name} on {backend.host}:{backend.port}", flush=True)
    backend.wait()


if __name__ == "__main__":
    main()
