"""`make conformance`: run the upstream Gateway API conformance suite against gateway-contour.

With no --kubeconfig it starts everything on this machine. `--mode host` (the default):
etcd + kube-apiserver + kube-controller-manager (tests/support/kube_cluster.py, binaries from
hack/), the node agent (conformance/harness/node_agent.py) in place of kubelets, and the
controller (`gateway-contour serve --provision host`: one local Envoy per Gateway on its own
loopback address). `--mode kubernetes`: a real node and the real install, every Envoy and
backend a Pod (conformance/kube_mode.py). With --kubeconfig it uses that cluster as it is:
no local cluster, no node agent, and no controller unless --start-controller (it is assumed
to be deployed there).

Then it makes sure our GatewayClass exists and is Accepted, runs the suite binary built by
conformance/build.sh, writes the upstream-format report under conformance/reports/ and prints
a summary (conformance/summary.py).

    python -m conformance.run [--profile GATEWAY-HTTP] [--test NAME] [--mode host|kubernetes]
        [--kubeconfig FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from conformance import kube_mode  # noqa: E402
from conformance.harness.kubeapi import ApiError, KubeApi  # noqa: E402
from conformance.summary import summarize  # noqa: E402
from gateway_contour import __version__  # noqa: E402
from gateway_contour.translate.options import DEFAULT_CONTROLLER_NAME  # noqa: E402
from tests.support.kube_cluster import (  # noqa: E402
    Process,
    ensure_binaries,
    free_port,
    start_cluster,
)

CONFORMANCE = REPO / "conformance"
CACHE = Path(os.environ.get("CONFORMANCE_CACHE", REPO / ".cache" / "conformance"))
REPORTS = CONFORMANCE / "reports"
GATEWAY_API_VERSION = "v1.6"  # the folder upstream keeps reports of this release in
SUITE_TIMEOUT = "80m"


def log(message: str) -> None:
    print(f"[conformance {datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the Gateway API conformance suite.")
    parser.add_argument("--profile", default="GATEWAY-HTTP", help="comma-separated profiles")
    parser.add_argument("--test", default="", help="run this one test (its ShortName)")
    parser.add_argument(
        "--mode",
        choices=("host", "kubernetes"),
        default="host",
        help="host: Envoys and backends as local processes; kubernetes: Pods on a real node",
    )
    parser.add_argument("--kubeconfig", type=Path, help="use this cluster instead of ours")
    parser.add_argument("--start-controller", action="store_true", help="with --kubeconfig")
    parser.add_argument("--gateway-class", default="gateway-contour")
    parser.add_argument("--controller-name", default=DEFAULT_CONTROLLER_NAME)
    parser.add_argument("--report", type=Path, help="default: conformance/reports/v1.6/...")
    parser.add_argument("--workdir", type=Path, help="logs and state (default: .cache/...)")
    parser.add_argument(
        "--organization", default=os.environ.get("CONFORMANCE_ORG", "gateway-contour")
    )
    parser.add_argument("--project", default="gateway-contour")
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "CONFORMANCE_URL", "https://github.com/gateway-contour/gateway-contour"
        ),
    )
    parser.add_argument("--version", default=f"v{__version__}")
    parser.add_argument(
        "--contact", default=os.environ.get("CONFORMANCE_CONTACT", "@gateway-contour/maintainers")
    )
    parser.add_argument("suite_args", nargs="*", help="more suite flags, after --")
    return parser.parse_args(argv)


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, process: Process | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            process.check_alive()
        with contextlib.suppress(OSError, ApiError):
            if check():
                return
        time.sleep(0.2)
    tail = f"\n{process.log_tail()}" if process is not None else ""
    raise TimeoutError(f"{what} not ready after {timeout} s{tail}")


def start_node_agent(kubeconfig: Path, workdir: Path) -> Process:
    agent = Process(
        "node-agent",
        [
            sys.executable,
            "-m",
            "conformance.harness.node_agent",
            "--kubeconfig",
            str(kubeconfig),
            "--workdir",
            str(workdir / "node"),
        ],
        workdir / "node-agent.log",
    )
    wait_for("node agent", lambda: "node-agent ready" in agent.log_path.read_text(), 30, agent)
    return agent


def start_controller(args: argparse.Namespace, kubeconfig: Path, workdir: Path) -> Process:
    binary = Path(sys.executable).parent / "gateway-contour"
    command = [str(binary)] if binary.exists() else [sys.executable, "-m", "gateway_contour.cli"]
    return Process(
        "gateway-contour",
        [
            *command,
            "serve",
            "--kubeconfig",
            str(kubeconfig),
            "--gateway-class-controller",
            args.controller_name,
            "--provision",
            "host",
            "--insecure-xds",  # loopback only, and every host Envoy shows its fleet's token
            "--no-leader-election",
            "--xds-address",
            "127.0.0.1",
            "--xds-port",
            str(free_port()),
        ],
        workdir / "gateway-contour.log",
    )


def ensure_gateway_class(
    api: KubeApi, args: argparse.Namespace, controller: Process | None
) -> list[str]:
    """Create our GatewayClass (if missing), wait until Accepted; return its supportedFeatures."""
    path = f"/apis/gateway.networking.k8s.io/v1/gatewayclasses/{args.gateway_class}"
    try:
        api.get(path)
    except ApiError as error:
        if error.status != 404:
            raise
        api.request(
            "POST",
            "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "GatewayClass",
                "metadata": {"name": args.gateway_class},
                "spec": {"controllerName": args.controller_name},
            },
        )

    def accepted() -> bool:
        conditions = (api.get(path).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Accepted" and c["status"] == "True" for c in conditions)

    wait_for(f"GatewayClass {args.gateway_class} Accepted", accepted, 60, controller)
    return [f["name"] for f in (api.get(path).get("status") or {}).get("supportedFeatures") or []]


def report_path(args: argparse.Namespace, workdir: Path) -> Path:
    if args.report:
        return args.report.resolve()
    if args.test:
        return workdir / "report.yaml"  # a one-test run is a development aid, not a claim
    # Upstream's naming: reports/<release>/<project>/<channel>-<version>-<mode>-report.yaml;
    # runs of other profiles than GATEWAY-HTTP get the profiles in the name.
    profiles = (
        "" if args.profile == "GATEWAY-HTTP" else "-" + args.profile.lower().replace(",", "-")
    )
    mode = "default" if args.mode == "host" else kube_mode.MODE
    name = f"experimental-{args.version}-{mode}{profiles}-report.yaml"
    return REPORTS / GATEWAY_API_VERSION / args.project / name


def run_suite(
    args: argparse.Namespace,
    kubeconfig: Path,
    features: list[str],
    local: bool,
    report: Path,
    test_log: Path,
) -> int:
    suite = CACHE / "current" / "conformance.test"
    flags = [
        f"--gateway-class={args.gateway_class}",
        f"--conformance-profiles={args.profile}",
        f"--report-output={report}",
        f"--organization={args.organization}",
        f"--project={args.project}",
        f"--url={args.url}",
        f"--version={args.version}",
        f"--contact={args.contact}",
    ]
    if args.test:
        # The suite infers features from the GatewayClass only for whole runs.
        flags += [f"--run-test={args.test}", f"--supported-features={','.join(features)}"]
    if args.mode == "kubernetes":
        flags.append(f"--mode={kube_mode.MODE}")
    if local:
        flags.append("--cleanup-base-resources=false")  # the cluster is thrown away anyway
    if local and args.mode == "kubernetes":
        flags += kube_mode.suite_addresses()
    elif local:
        # GatewayStaticAddresses: host mode binds any loopback address, and no interface
        # here holds TEST-NET-1 (RFC 5737)
        flags += ["--usable-address=127.1.0.1", "--unusable-address=192.0.2.1"]
    command = [
        str(suite),
        "-test.run=^TestConformance$",
        "-test.v",
        f"-test.timeout={SUITE_TIMEOUT}",
        *flags,
        *args.suite_args,
    ]
    log(f"suite: {' '.join(command)}")
    report.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    with test_log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=CONFORMANCE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
            stripped = line.strip()
            # one line per test that ran (skipped and unsupported ones stay in the log)
            top = stripped.count("/") == 1
            if top and stripped.startswith(
                ("--- PASS: TestConformance/", "--- FAIL: TestConformance/")
            ):
                print("    " + stripped, flush=True)
        return process.wait()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # unwinds the ExitStack: every process and namespace is removed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    log("building the suite and echo-basic (conformance/build.sh)")
    subprocess.run([str(CONFORMANCE / "build.sh")], check=True, stdout=sys.stderr)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = (args.workdir or CACHE / "runs" / stamp).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"logs in {workdir}")
    report = report_path(args, workdir)
    test_log = workdir / "suite.log"
    report_before = report.stat().st_mtime if report.exists() else None
    with contextlib.ExitStack() as stack:
        controller = None
        if args.kubeconfig is None and args.mode == "kubernetes":
            log("starting a real node and installing manifests/install.yaml on it")
            kubeconfig = kube_mode.start(stack, workdir).cluster.kubeconfig
        elif args.kubeconfig is None:
            binaries = ensure_binaries()
            log("starting etcd, kube-apiserver, kube-controller-manager")
            (workdir / "cluster").mkdir()
            cluster = start_cluster(binaries, workdir / "cluster")
            stack.callback(cluster.stop)
            cluster.start_controller_manager()
            kubeconfig = cluster.kubeconfig
            log("starting the node agent")
            stack.callback(start_node_agent(kubeconfig, workdir).stop)
        else:
            kubeconfig = args.kubeconfig.resolve()
        if (args.kubeconfig is None and args.mode == "host") or args.start_controller:
            log("starting gateway-contour serve --provision host --insecure-xds")
            controller = start_controller(args, kubeconfig, workdir)
            stack.callback(controller.stop)
        features = ensure_gateway_class(KubeApi(kubeconfig), args, controller)
        log(f"GatewayClass {args.gateway_class} Accepted; claims {len(features)} features")
        which = f"profiles {args.profile}" + (f", test {args.test}" if args.test else "")
        log(f"running the suite ({which})")
        code = run_suite(args, kubeconfig, features, args.kubeconfig is None, report, test_log)
        log("suite finished; stopping")
    fresh = report.exists() and report.stat().st_mtime != report_before
    print()
    print(summarize(report if fresh else None, test_log))
    print()
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    log(f"report: {report if fresh else '(none)'}; suite log: {test_log}")
    log(f"total time {minutes} min {seconds} s; suite exit code {code}")
    return 0 if fresh else 1


if __name__ == "__main__":
    sys.exit(main())
