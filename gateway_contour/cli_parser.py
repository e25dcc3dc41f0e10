"""The `gateway-contour` command line's parser: every command's arguments, defaults and
checks of the whole line (`parse_args`). cli.py runs what it parses.

Only what building the parser needs is imported here: every Envoy Pod's init container runs
`bootstrap`, which must not pay for the controller's imports (a second or more on a busy
node); tests/unit/test_cli_imports.py holds that.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
from pathlib import Path

from gateway_contour.defaults import CA_ROTATION_GRACE, LEGACY_FLEET, MAX_STREAMS
from gateway_contour.ir.model import Compression
from gateway_contour.migrate import command as migrate_command

QUICKSTART_DIR = Path("manifests/examples/quickstart")
TRANSLATE_EXIT = (
    "Exit status 1 when anything would be refused or is unhealthy: a document that is not a "
    "valid object (YAML, shape, schema), an object defined twice, any other problem in the "
    "status output (a part of an object Envoy would refuse, a missing reference of an "
    "Ingress), or a condition in its bad state (Accepted, Programmed, ResolvedRefs, "
    "SupportedVersion or Valid not True, Conflicted True) on any object, listener or route "
    "parent; each is printed on stderr. Else 0. Objects of another controller's GatewayClass "
    "are not counted: a hint on stderr names the class."
)


def _add_host_mode_args(p: argparse.ArgumentParser, config_dir_default: Path | None) -> None:
    p.add_argument(
        "--config-dir",
        type=Path,
        required=config_dir_default is None,
        default=config_dir_default,
        help="directory of Kubernetes YAML (Gateway API objects, Services, EndpointSlices, ...)",
    )
    _add_translation_args(p)
    p.add_argument("--xds-address", default="127.0.0.1")
    p.add_argument("--xds-port", type=int, default=18000, help="0 picks a free port")
    p.add_argument("--sotw", action="store_true", help="State-of-the-World ADS instead of Delta")
    p.add_argument("--status-file", type=Path, help="also write every object's status here")
    p.add_argument("--envoy-log-level", default="warn")
    p.add_argument(
        "--xds-certs",
        type=Path,
        help="mutual TLS between the ADS server and its Envoys: a `certgen --output-dir`",
    )
    p.add_argument("--metrics-address", help="host:port of /metrics, /healthz, /readyz")
    p.add_argument("--debug-address", help="host:port of /debug/ir and /debug/xds")
    p.add_argument(
        "--state-dir",
        type=Path,
        help="the Envoys' bootstraps, logs and state (pid, launch digest, admin port, fleet "
        "token): a run restarted on it adopts the Envoys a killed run left serving "
        "(default: $TMPDIR/gateway-contour-UID/XDS_ADDRESS-XDS_PORT)",
    )


def _add_translation_args(p: argparse.ArgumentParser) -> None:
    """What `run` translates with (and `translate` too, so that both make the same of a
    directory)."""
    p.add_argument("--address", default="127.0.0.1", help="address the Gateways' listeners bind")
    p.add_argument(
        "--controller-name", default=None, help="GatewayClass controllerName we answer to"
    )
    _add_ingress_args(p)
    _add_http_args(p)
    p.add_argument(
        "--ingress-http-port",
        type=int,
        default=None,
        help="port of the Ingress/HTTPProxy fleet's plain HTTP listener (default 8080)",
    )
    p.add_argument(
        "--ingress-https-port",
        type=int,
        default=None,
        help="port of the Ingress/HTTPProxy fleet's HTTPS listener (default 8443)",
    )


def _add_ingress_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ingress-class-name",
        default="",
        help="comma-separated Ingress classes to serve (default: 'contour', IngressClasses "
        "of our controller, and Ingresses without a class)",
    )
    p.add_argument(
        "--ingress-default-class",
        default=None,
        help="the class of Ingresses naming none (default: the IngressClass annotated as the "
        "cluster default, if any)",
    )
    p.add_argument(
        "--fallback-certificate",
        default=None,
        metavar="NAMESPACE/NAME",
        help="the Secret presented to TLS clients sending no SNI, for HTTPProxies with "
        "enableFallbackCertificate",
    )


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_http_args(p: argparse.ArgumentParser) -> None:
    """Contour's global settings of every HTTP listener (its configuration file's)."""
    p.add_argument(
        "--disable-merge-slashes",
        action="store_true",
        help="route and forward request paths with adjacent slashes as sent, not merged "
        "(Contour's disableMergeSlashes)",
    )
    p.add_argument(
        "--compression",
        choices=[c.value for c in Compression],
        default=Compression.GZIP.value,
        help="compress responses with this when the client accepts it (default: %(default)s)",
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

    tr = sub.add_parser(
        "translate",
        help="print what `run` makes of YAML files (IR, xDS per fleet, status); serves nothing",
        epilog=TRANSLATE_EXIT,
    )
    tr.add_argument("paths", nargs="+", type=Path, metavar="DIR|FILE")
    tr.add_argument(
        "--output",
        choices=("ir", "xds", "status", "all"),
        default="all",
        help="the stages printed, each YAML document after a `--- # NAME` line (default: all)",
    )
    _add_translation_args(tr)

    serve = sub.add_parser("serve", help="the Kubernetes controller: watch, serve xDS, status")
    serve.add_argument("--kubeconfig", type=Path, help="default: $KUBECONFIG or in-cluster")
    serve.add_argument("--context")
    serve.add_argument("--gateway-class-controller", dest="controller_name", default=None)
    serve.add_argument("--xds-address", default="0.0.0.0")
    serve.add_argument("--xds-port", type=int, default=8001)
    serve.add_argument("--envoy-address", default="0.0.0.0", help="where Envoy listeners bind")
    serve.add_argument("--leader-namespace", default="gateway-contour")
    serve.add_argument("--no-leader-election", action="store_true")
    _add_ingress_args(serve)
    _add_http_args(serve)
    serve.add_argument(
        "--ingress-status-address",
        default=None,
        help="address written into Ingress status when the Ingress fleet has no assigned one",
    )
    serve.add_argument(
        "--provision",
        choices=("none", "host", "kubernetes"),
        default="none",
        help="host: run a local Envoy per Gateway on its own loopback address; kubernetes: "
        "an Envoy DaemonSet/Deployment, Service and Secrets per Gateway",
    )
    serve.add_argument(
        "--envoy-cert-dir",
        type=Path,
        help="--provision kubernetes: the Envoys' xDS client certificate (tls.crt, tls.key, "
        "ca.crt), copied into each Gateway's namespace",
    )
    serve.add_argument(
        "--xds-service-host",
        default="gateway-contour.gateway-contour.svc",
        help="--provision kubernetes: the name Envoys dial the ADS server by",
    )
    serve.add_argument(
        "--bootstrap-image",
        default=None,
        help="--provision kubernetes: the image whose `gateway-contour bootstrap` writes "
        "the Envoy bootstrap (default: this release's)",
    )
    serve.add_argument(
        "--legacy-fleet-parameters",
        default=None,
        metavar="NAMESPACE/NAME",
        help="--provision kubernetes: the ContourDeployment shaping the Envoys that serve "
        "Ingress and HTTPProxy (default: the defaults)",
    )
    serve.add_argument(
        "--load-balancer-address-range",
        action="append",
        type=_network,
        default=[],
        metavar="CIDR",
        help="--provision kubernetes: addresses the cluster's load balancer can give a Service "
        "(repeatable); a Gateway asking for another static address is not Programmed "
        "(AddressNotUsable). Default: any IP address is asked for",
    )
    serve.add_argument(
        "--legacy-fleet",
        default=LEGACY_FLEET,
        metavar="NAMESPACE/NAME",
        help="the Envoy fleet serving Ingress and HTTPProxy: its xDS node cluster, and with "
        "--provision kubernetes the namespace its Envoys go to (default: %(default)s)",
    )

    serve.add_argument(
        "--xds-cert-dir",
        type=Path,
        help="mutual TLS on the ADS server: tls.crt, tls.key, ca.crt (reloaded on rotation); "
        "without it serve refuses to start unless --insecure-xds is given",
    )
    serve.add_argument(
        "--insecure-xds",
        action="store_true",
        help="serve xDS in plaintext (no --xds-cert-dir): a client that reaches the port "
        "gets any fleet it names in node.cluster, unless that fleet needs a token "
        "(--provision host)",
    )
    serve.add_argument("--xds-ca", type=Path, help="CA of client certificates (default: ca.crt)")
    serve.add_argument(
        "--envoy-ca-dir",
        type=Path,
        help="per-fleet client certificates (with --xds-cert-dir): the Envoy client CA "
        "(certgen's envoy-ca: tls.crt, tls.key, ca.crt); a stream is served only the fleet "
        "its client certificate names, and --provision kubernetes signs one per fleet "
        "(instead of copying --envoy-cert-dir)",
    )
    serve.add_argument(
        "--ca-rotation-grace",
        type=float,
        default=CA_ROTATION_GRACE,
        metavar="SECONDS",
        help="a rotated client CA (ca.crt, the Envoy CA) stays trusted this long (default: "
        "%(default)s: the kubelet's Secret sync and Envoy's reconnects, several times over)",
    )
    serve.add_argument(
        "--xds-max-streams",
        type=int,
        default=MAX_STREAMS,
        help="ADS streams held at once; more are refused (RESOURCE_EXHAUSTED). N Envoys "
        "hold N, 2N while rolling (default: %(default)s)",
    )
    serve.add_argument(
        "--metrics-address", default="0.0.0.0:8000", help="/metrics, /healthz, /readyz"
    )
    serve.add_argument(
        "--debug-address", default="127.0.0.1:6060", help="/debug/ir, /debug/xds ('' disables)"
    )
    serve.set_defaults(check_args=functools.partial(_require_one_xds_transport, serve))

    boot = sub.add_parser("bootstrap", help="write an Envoy bootstrap pointing at the ADS server")
    boot.add_argument("output", type=Path)
    boot.add_argument("--fleet", required=True, help="the Gateway this Envoy serves (ns/name)")
    boot.add_argument("--node-id", default=None)
    boot.add_argument("--xds-address", default="127.0.0.1")
    boot.add_argument("--xds-port", type=int, default=18000)
    boot.add_argument("--admin-address", default="127.0.0.1")
    boot.add_argument("--admin-port", type=int, default=9901)
    boot.add_argument("--sotw", action="store_true")
    boot.add_argument(
        "--xds-cert-dir",
        type=Path,
        help="mutual TLS to the ADS server: a directory of tls.crt, tls.key, ca.crt",
    )
    boot.add_argument(
        "--xds-server-name",
        default="gateway-contour",
        help="SNI, and the name the server certificate must carry (with --xds-cert-dir)",
    )
    boot.add_argument(
        "--ready-port",
        type=int,
        default=None,
        help="a listener on 0.0.0.0:PORT serving only GET /ready and /stats/prometheus of "
        "the admin (the Pod's readiness probe; Contour uses 8002)",
    )

    drain = sub.add_parser(
        "envoy-drain",
        help="the Envoy Pod's drain sidecar: /shutdown waits for the drain, /healthz "
        "says whether Envoy's admin answers",
    )
    drain.add_argument("--address", default="0.0.0.0", help="where /shutdown is served")
    drain.add_argument("--port", type=int, default=8090)
    drain.add_argument("--admin-url", default="http://127.0.0.1:9001", help="Envoy's admin")
    drain.add_argument(
        "--timeout",
        type=float,
        default=270.0,
        help="seconds to wait for Envoy's connections to close (default: %(default)s)",
    )
    drain.add_argument(
        "--min-drain",
        type=float,
        default=10.0,
        help="seconds Envoy keeps accepting new connections once draining, while the Pod's "
        "endpoint is taken out of every load balancer (default: %(default)s)",
    )

    cg = sub.add_parser("certgen", help="generate the CA and certificates for secure xDS")
    cg.add_argument(
        "--output-dir",
        type=Path,
        help="write DIR/controller/, DIR/envoy/ and DIR/envoy-ca/ (tls.crt, ...)",
    )
    cg.add_argument(
        "--secrets", type=Path, help="write the three kubernetes.io/tls Secrets as YAML here"
    )
    cg.add_argument("--namespace", default="gateway-contour", help="namespace of the Secrets")
    cg.add_argument(
        "--dns-name",
        action="append",
        default=[],
        help="a name Envoys dial the controller by (repeatable; e.g. its Service DNS name)",
    )
    cg.add_argument("--days", type=int, default=365, help="validity of the certificates")
    cg.add_argument(
        "--fleet",
        metavar="NAMESPACE/NAME",
        help="instead: sign the client certificate of this fleet with the Envoy client CA of "
        "--envoy-ca-dir into --output-dir (for Envoys deployed by others, `serve "
        "--provision none --envoy-ca-dir`)",
    )
    cg.add_argument("--envoy-ca-dir", type=Path, help="with --fleet: certgen's envoy-ca")
    migrate_command.add_parser(sub)
    return parser


def _require_one_xds_transport(serve: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`serve` states how xDS is carried: mutual TLS (--xds-cert-dir) or, knowingly,
    plaintext (--insecure-xds). Neither or both ends the command (status 2) before any
    socket is opened or the API server is contacted."""
    if args.xds_cert_dir is None and not args.insecure_xds:
        serve.error(
            "xDS needs --xds-cert-dir (mutual TLS), or --insecure-xds to serve it in "
            "plaintext, where node.cluster alone names a stream's fleet"
        )
    if args.xds_cert_dir is not None and args.insecure_xds:
        serve.error("--insecure-xds contradicts --xds-cert-dir (mutual TLS): give one of them")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line parsed, and checked as a whole where the command asks for it."""
    args = _parser().parse_args(argv)
    check = getattr(args, "check_args", None)
    if check is not None:
        check(args)
    return args
