"""The `gateway-contour` command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from gateway_contour.envoy.bootstrap import BootstrapOptions, write_bootstrap

QUICKSTART_DIR = Path("manifests/examples/quickstart")


def _add_host_mode_args(p: argparse.ArgumentParser, config_dir_default: Path | None) -> None:
    p.add_argument(
        "--config-dir",
        type=Path,
        required=config_dir_default is None,
        default=config_dir_default,
        help="directory of Kubernetes YAML (Gateway API objects, Services, EndpointSlices, ...)",
    )
    p.add_argument("--address", default="127.0.0.1", help="address the Gateways' listeners bind")
    p.add_argument("--xds-address", default="127.0.0.1")
    p.add_argument("--xds-port", type=int, default=18000, help="0 picks a free port")
    p.add_argument("--sotw", action="store_true", help="State-of-the-World ADS instead of Delta")
    p.add_argument("--status-file", type=Path, help="also write every object's status here")
    p.add_argument("--envoy-log-level", default="warn")
    p.add_argument(
        "--controller-name", default=None, help="GatewayClass controllerName we answer to"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway-contour")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="host mode: serve a directory of YAML through local Envoys")
    _add_host_mode_args(run, None)
    run.add_argument(
        "--demo-backends",
        action="store_true",
        help="start an echo backend on every loopback endpoint the EndpointSlices name",
    )

    quick = sub.add_parser("quickstart", help="run the quickstart with its demo backends")
    _add_host_mode_args(quick, QUICKSTART_DIR)

    serve = sub.add_parser("serve", help="the Kubernetes controller: watch, serve xDS, status")
    serve.add_argument("--kubeconfig", type=Path, help="default: $KUBECONFIG or in-cluster")
    serve.add_argument("--context")
    serve.add_argument("--gateway-class-controller", dest="controller_name", default=None)
    serve.add_argument("--xds-address", default="0.0.0.0")
    serve.add_argument("--xds-port", type=int, default=8001)
    serve.add_argument("--envoy-address", default="0.0.0.0", help="where Envoy listeners bind")
    serve.add_argument("--leader-namespace", default="gateway-contour")
    serve.add_argument("--no-leader-election", action="store_true")
    serve.add_argument(
        "--provision",
        choices=("none", "host"),
        default="none",
        help="host: run a local Envoy per Gateway on its own loopback address",
    )

    boot = sub.add_parser("bootstrap", help="write an Envoy bootstrap pointing at the ADS server")
    boot.add_argument("output", type=Path)
    boot.add_argument("--fleet", required=True, help="the Gateway this Envoy serves (ns/name)")
    boot.add_argument("--node-id", default=None)
    boot.add_argument("--xds-address", default="127.0.0.1")
    boot.add_argument("--xds-port", type=int, default=18000)
    boot.add_argument("--admin-address", default="127.0.0.1")
    boot.add_argument("--admin-port", type=int, default=9901)
    boot.add_argument("--sotw", action="store_true")
    return parser


def _run_host_mode(args: argparse.Namespace, demo_backends: bool) -> int:
    from gateway_contour.app import HostMode, HostModeConfig
    from gateway_contour.demo.backends import start_demo_backends
    from gateway_contour.providers.files import load_directory

    if not args.config_dir.is_dir():
        print(f"gateway-contour: {args.config_dir} is not a directory", file=sys.stderr)
        return 2
    config = HostModeConfig(
        config_dir=args.config_dir,
        address=args.address,
        xds_address=args.xds_address,
        xds_port=args.xds_port,
        delta=not args.sotw,
        status_file=args.status_file,
        envoy_log_level=args.envoy_log_level,
    )
    if args.controller_name:
        config.controller_name = args.controller_name
    backends = start_demo_backends(load_directory(args.config_dir).objects) if demo_backends else []
    for b in backends:
        logging.info("demo backend %s on http://%s:%d", b.name, b.host, b.port)

    try:
        anyio.run(_until_signalled, HostMode(config).run)
    finally:
        for b in backends:
            b.stop()
    return 0


async def _until_signalled(main: Callable[[], Awaitable[None]]) -> None:
    """Run `main` until it returns or SIGTERM/Ctrl-C arrives, then let it clean up."""
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with anyio.create_task_group() as tg:

            async def stop_on_signal() -> None:
                async for _ in signals:
                    tg.cancel_scope.cancel()

            tg.start_soon(stop_on_signal)
            await main()
            tg.cancel_scope.cancel()


def _serve(args: argparse.Namespace) -> int:
    from gateway_contour.serve import ServeConfig, ServeMode

    config = ServeConfig(
        kubeconfig=args.kubeconfig,
        context=args.context,
        xds_address=args.xds_address,
        xds_port=args.xds_port,
        envoy_address=args.envoy_address,
        leader_namespace=args.leader_namespace,
        leader_election=not args.no_leader_election,
        provision=args.provision,
    )
    if args.controller_name:
        config.controller_name = args.controller_name
    anyio.run(_until_signalled, ServeMode(config).run)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # the HTTP client logs every API request at INFO: a line per status write and watch
    for noisy in ("grpc", "httpx", "httpx2", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "bootstrap":
        opts = BootstrapOptions(
            node_id=args.node_id or f"{args.fleet}@bootstrap",
            fleet=args.fleet,
            xds_address=args.xds_address,
            xds_port=args.xds_port,
            admin_address=args.admin_address,
            admin_port=args.admin_port,
            delta=not args.sotw,
        )
        write_bootstrap(opts, args.output)
        return 0
    if args.command == "serve":
        return _serve(args)
    if args.command == "run":
        return _run_host_mode(args, args.demo_backends)
    if args.command == "quickstart":
        return _run_host_mode(args, True)
    return 2


if __name__ == "__main__":
    sys.exit(main())
