"""The `gateway-contour` command line: each command's runner (the parser is cli_parser.py)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

# Only what the parser needs is imported here (see cli_parser.py): each command imports what
# it runs.
from gateway_contour.cli_parser import parse_args
from gateway_contour.ir.model import Compression, HTTPSettings
from gateway_contour.migrate import command as migrate_command

if TYPE_CHECKING:
    from gateway_contour.app import HostModeConfig


def _http_settings(args: argparse.Namespace) -> HTTPSettings:
    return HTTPSettings(
        merge_slashes=not args.disable_merge_slashes, compression=Compression(args.compression)
    )


def _ingress_classes(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(c.strip() for c in args.ingress_class_name.split(",") if c.strip())


def _certgen(args: argparse.Namespace) -> int:
    from gateway_contour.certs import (
        envoy_ca_secret,
        generate_xds_certificates,
        write_envoy_ca_dir,
        write_xds_dirs,
        xds_secrets,
    )
    from gateway_contour.ir.serialize import dump_yaml

    if args.fleet is not None:
        return _certgen_fleet(args)
    if args.output_dir is None and args.secrets is None:
        print("gateway-contour certgen: give --output-dir and/or --secrets", file=sys.stderr)
        return 2
    certs = generate_xds_certificates(args.dns_name, days=args.days)
    if args.output_dir is not None:
        for directory in (
            *write_xds_dirs(certs, args.output_dir),
            write_envoy_ca_dir(certs, args.output_dir),
        ):
            logging.info("wrote %s", directory)
    if args.secrets is not None:
        secrets = [*xds_secrets(certs, args.namespace), envoy_ca_secret(certs, args.namespace)]
        args.secrets.write_text("".join("---\n" + dump_yaml(s) for s in secrets))
        args.secrets.chmod(0o600)
        logging.info("wrote %s", args.secrets)
    return 0


def _certgen_fleet(args: argparse.Namespace) -> int:
    from gateway_contour.certs.fleet import write_fleet_dir

    namespace, _, name = args.fleet.partition("/")
    if not namespace or not name or "/" in name or not args.envoy_ca_dir or not args.output_dir:
        print(
            "gateway-contour certgen --fleet NAMESPACE/NAME: give --envoy-ca-dir and --output-dir",
            file=sys.stderr,
        )
        return 2
    try:
        written = write_fleet_dir(args.envoy_ca_dir, args.fleet, args.output_dir, args.days)
    except (OSError, ValueError) as err:
        print(f"gateway-contour certgen: {err}", file=sys.stderr)
        return 2
    logging.info("wrote %s", written)
    return 0


def _translation_config(args: argparse.Namespace) -> HostModeConfig:
    """The host mode configuration of `_add_translation_args`' flags (the rest: defaults)."""
    from gateway_contour.app import HostModeConfig

    config = HostModeConfig(
        address=args.address,
        ingress_class_names=_ingress_classes(args),
        ingress_default_class=args.ingress_default_class,
        fallback_certificate=args.fallback_certificate,
        http=_http_settings(args),
    )
    if args.ingress_http_port is not None:
        config.legacy_http_port = args.ingress_http_port
    if args.ingress_https_port is not None:
        config.legacy_https_port = args.ingress_https_port
    if args.controller_name:
        config.controller_name = args.controller_name
    return config


def _translate(args: argparse.Namespace) -> int:
    from gateway_contour import translate_command

    if not args.verbose:  # each problem is printed once, by the command, not also logged
        logging.getLogger("gateway_contour.providers").setLevel(logging.ERROR)
    options = _translation_config(args).translate_options()
    return translate_command.run(args.paths, options, args.output)


def _run_host_mode(args: argparse.Namespace, demo_backends: bool) -> int:
    from gateway_contour.app import HostMode
    from gateway_contour.demo.backends import start_demo_backends
    from gateway_contour.providers.files import load_directory

    if not args.config_dir.is_dir():
        print(f"gateway-contour: {args.config_dir} is not a directory", file=sys.stderr)
        return 2
    config = dataclasses.replace(
        _translation_config(args),
        config_dir=args.config_dir,
        xds_address=args.xds_address,
        xds_port=args.xds_port,
        delta=not args.sotw,
        status_file=args.status_file,
        envoy_log_level=args.envoy_log_level,
        xds_certs=args.xds_certs,
        metrics_address=args.metrics_address,
        debug_address=args.debug_address,
        work_dir=args.state_dir,
    )
    from gateway_contour.listen import ListenError

    try:
        objects = load_directory(args.config_dir).objects if demo_backends else []
        backends = start_demo_backends(objects)
    except ListenError as err:
        print(f"gateway-contour {args.command}: {err}", file=sys.stderr)
        return 1
    for b in backends:
        logging.info("demo backend %s on http://%s:%d", b.name, b.host, b.port)

    try:
        return _run_until_signalled(args.command, HostMode(config).run)
    finally:
        for b in backends:
            b.stop()


def _run_until_signalled(command: str, main: Callable[[], Awaitable[None]]) -> int:
    """Run a mode until it returns or is signalled: 0, or 1 with the message on stderr when
    one of its servers cannot listen."""
    import anyio

    from gateway_contour.listen import ListenError

    failed: list[BaseException] = []
    try:
        anyio.run(_until_signalled, main)
    except* ListenError as group:
        failed = _leaves(group)
    for err in failed:
        print(f"gateway-contour {command}: {err}", file=sys.stderr)
    return 1 if failed else 0


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    return [
        leaf
        for err in group.exceptions
        for leaf in (_leaves(err) if isinstance(err, BaseExceptionGroup) else [err])
    ]


async def _until_signalled(main: Callable[[], Awaitable[None]]) -> None:
    """Run `main` until it returns or SIGTERM/Ctrl-C arrives, then let it clean up."""
    import anyio

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

    if args.envoy_ca_dir is not None and (args.xds_cert_dir is None or args.provision == "host"):
        print(
            "gateway-contour serve: --envoy-ca-dir needs --xds-cert-dir (mutual TLS), and "
            "not --provision host (whose Envoys prove their fleet with tokens)",
            file=sys.stderr,
        )
        return 2
    config = ServeConfig(
        kubeconfig=args.kubeconfig,
        context=args.context,
        xds_address=args.xds_address,
        xds_port=args.xds_port,
        envoy_address=args.envoy_address,
        leader_namespace=args.leader_namespace,
        leader_election=not args.no_leader_election,
        provision=args.provision,
        envoy_cert_dir=args.envoy_cert_dir,
        xds_service_host=args.xds_service_host,
        xds_cert_dir=args.xds_cert_dir,
        xds_ca=args.xds_ca,
        envoy_ca_dir=args.envoy_ca_dir,
        ca_rotation_grace=args.ca_rotation_grace,
        xds_max_streams=args.xds_max_streams,
        metrics_address=args.metrics_address or None,
        debug_address=args.debug_address or None,
        ingress_class_names=_ingress_classes(args),
        ingress_default_class=args.ingress_default_class,
        ingress_status_address=args.ingress_status_address,
        fallback_certificate=args.fallback_certificate,
        legacy_fleet_parameters=args.legacy_fleet_parameters,
        legacy_fleet=args.legacy_fleet,
        load_balancer_ranges=tuple(args.load_balancer_address_range),
        http=_http_settings(args),
    )
    if args.bootstrap_image:
        config.bootstrap_image = args.bootstrap_image
    if args.controller_name:
        config.controller_name = args.controller_name
    return _run_until_signalled("serve", ServeMode(config).run)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # the libraries' own chatter (connection details, retries) is not the controller's
    for noisy in ("grpc", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.verbose:
        from gateway_contour.gcpolicy import GCWatch

        GCWatch().install()  # collector pauses over 5 ms, logged
    if args.command == "bootstrap":
        from gateway_contour.envoy.bootstrap import BootstrapOptions, XdsClientTLS, write_bootstrap

        opts = BootstrapOptions(
            node_id=args.node_id or f"{args.fleet}@bootstrap",
            fleet=args.fleet,
            xds_address=args.xds_address,
            xds_port=args.xds_port,
            admin_address=args.admin_address,
            admin_port=args.admin_port,
            delta=not args.sotw,
            tls=XdsClientTLS(args.xds_cert_dir, args.xds_server_name)
            if args.xds_cert_dir
            else None,
            ready_port=args.ready_port,
        )
        write_bootstrap(opts, args.output)
        return 0
    if args.command == "envoy-drain":
        import asyncio

        from gateway_contour import envoy_drain

        drain_opts = envoy_drain.DrainOptions(
            admin_url=args.admin_url, timeout=args.timeout, min_drain=args.min_drain
        )
        asyncio.run(envoy_drain.serve(drain_opts, args.address, args.port))
        return 0
    if args.command == "certgen":
        return _certgen(args)
    if args.command == "migrate":
        return migrate_command.run(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "run":
        return _run_host_mode(args, args.demo_backends)
    if args.command == "quickstart":
        return _run_host_mode(args, True)
    if args.command == "translate":
        return _translate(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
