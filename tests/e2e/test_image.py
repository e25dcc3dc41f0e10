"""The images `make image` builds (hack/image/build.py), built into a temp dir and run.

Each layer is unpacked and its commands run in a chroot as 65532:65532, in a private mount
namespace where the root is a read-only bind mount and /tmp a tmpfs (as a Pod with
readOnlyRootFilesystem and an emptyDir): `gateway-contour --help`, `bootstrap` writing a
bootstrap that the image's own Envoy then validates, and the Envoy image's `envoy --version`.
The node images (from hack/build-node-extras.sh, built first if not cached): `pause` runs as
PID 1 of a new PID namespace, reaps an orphan and exits 0 on SIGTERM or SIGINT; `coredns
-plugins` lists what a cluster Corefile needs.
The unpacked trees must be unchanged afterwards, rebuilding must give the same digests, and
the layer must hold none of the venv's dev tools. Needs root (chroot, mount).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "hack" / "image" / "build.py"
CONTROLLER_VERSION = "0.1.0"
ENVOY_VERSION = "1.40.0"
NODE_EXTRAS = REPO / "hack" / "build-node-extras.sh"


@dataclass
class Image:
    archive: Path
    manifest: dict[str, object]
    config: dict[str, object]
    layer: Path
    root: Path

    @property
    def run_config(self) -> dict[str, object]:
        config = self.config["config"]
        assert isinstance(config, dict)
        return config


@dataclass
class Built:
    output_dir: Path
    stdout: str
    controller: Image
    envoy: Image


def _build(output_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BUILD), "--output-dir", str(output_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _unpack(archive: Path, into: Path) -> Image:
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        (manifest,) = json.load(manifest_file)
        config_file = tar.extractfile(manifest["Config"])
        assert config_file is not None
        config = json.load(config_file)
        (layer_name,) = manifest["Layers"]
        tar.extract(layer_name, into / "archive", filter="fully_trusted")
    assert set(names) >= {"manifest.json", manifest["Config"], layer_name}
    layer = into / "archive" / layer_name
    root = into / "root"
    root.mkdir()
    with tarfile.open(layer) as tar:
        tar.extractall(root, filter="fully_trusted")
    return Image(archive, manifest, config, layer, root)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    output_dir = tmp_path_factory.mktemp("images")
    stdout = _build(output_dir, "--image", "controller", "--image", "envoy")
    controller = _unpack(
        output_dir / f"gateway-contour-{CONTROLLER_VERSION}.tar",
        tmp_path_factory.mktemp("controller"),
    )
    envoy = _unpack(output_dir / f"envoy-{ENVOY_VERSION}.tar", tmp_path_factory.mktemp("envoy"))
    yield Built(output_dir, stdout, controller, envoy)


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        found[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


def _run_read_only(image: Image, *commands: list[str]) -> str:
    """Run each command in `image`'s tree as its configured user, its root mounted read-only."""
    root = shlex.quote(str(image.root))
    env = " ".join(shlex.quote(e) for e in image.run_config.get("Env", []))  # type: ignore[attr-defined]
    chroot = shutil.which("chroot", path="/usr/sbin:/usr/bin:/sbin:/bin")
    assert chroot, "chroot (coreutils) is needed"
    lines = [
        "set -e",
        f"mount --bind {root} {root}",
        f"mount -o remount,bind,ro {root} {root}",
        f"mount -t tmpfs -o size=64m,mode=1777 tmpfs {root}/tmp",
    ]
    for command in commands:
        argv = " ".join(shlex.quote(a) for a in command)
        user = image.run_config["User"]
        lines.append(f"env -i {env} {chroot} --userspec={user} {root} {argv}")
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_controller_image_config(built: Built) -> None:
    image = built.controller
    assert image.manifest["RepoTags"] == [
        f"ghcr.io/gateway-contour/gateway-contour:{CONTROLLER_VERSION}",
        "ghcr.io/gateway-contour/gateway-contour:latest",
    ]
    config = image.run_config
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["/usr/local/bin/gateway-contour"]
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"]  # type: ignore[operator]
    assert "nonroot:x:65532:65532:" in (image.root / "etc" / "passwd").read_text()
    assert (image.root / "tmp").stat().st_mode & 0o1777 == 0o1777
    assert (image.root / "lib64" / "ld-linux-x86-64.so.2").exists()


def test_controller_layer_is_the_runtime_closure(built: Built) -> None:
    site = built.controller.root / "usr/local/lib/python3.11/site-packages"
    names = {p.name.split("-")[0].lower() for p in site.iterdir()}
    assert {"gateway_contour", "grpc", "aiohttp", "cryptography", "lightkube", "yaml"} <= names
    dev_tools = {"pip", "setuptools", "pytest", "_pytest", "mypy", "ruff", "hypothesis"}
    assert not names & dev_tools
    assert not [p for p in site.iterdir() if p.name.startswith("__editable__")]
    assert (site / "gateway_contour" / "cli.py").is_file()
    stdlib = site.parent
    assert not (stdlib / "test").exists() and not (stdlib / "tkinter").exists()


def test_layer_entries_are_deterministic(built: Built) -> None:
    with tarfile.open(built.controller.layer) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {(m.mtime, m.uid, m.gid) for m in members} == {(0, 0, 0)}
    python = next(m for m in members if m.name == "usr/local/bin/python3.11")
    assert python.mode == 0o755


def test_controller_runs_read_only_as_nonroot(built: Built) -> None:
    image = built.controller
    before = _snapshot(image.root)
    out = _run_read_only(
        image,
        ["/usr/local/bin/gateway-contour", "--help"],
        ["/usr/local/bin/gateway-contour", "bootstrap", "--help"],
        [
            "/usr/local/bin/gateway-contour",
            "bootstrap",
            "--fleet",
            "default/edge",
            "--xds-address",
            "10.96.0.10",
            "/tmp/bootstrap/envoy.json",
        ],
        ["/usr/local/bin/envoy", "--mode", "validate", "-c", "/tmp/bootstrap/envoy.json"],
        [
            "/usr/local/bin/python3",
            "-c",
            "import os, ssl; print('uid', os.getuid(), os.getgid()); ssl.create_default_context()",
        ],
    )
    assert "usage: gateway-contour" in out
    assert "usage: gateway-contour bootstrap" in out
    assert "configuration '/tmp/bootstrap/envoy.json' OK" in out
    assert "uid 65532 65532" in out
    assert _snapshot(image.root) == before


DUPLICATE_LISTENERS = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: contour
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: http, port: 8080, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{port: 80, targetPrt: 8080}]
"""
TRANSLATE_IN_IMAGE = f"""
import pathlib, subprocess
pathlib.Path('/tmp/config').mkdir()
pathlib.Path('/tmp/config/gateway.yaml').write_text({DUPLICATE_LISTENERS!r})
done = subprocess.run(
    ['/usr/local/bin/gateway-contour', 'translate', '/tmp/config', '--output', 'status'],
    capture_output=True, text=True,
)
print('exit', done.returncode)
print(done.stdout, done.stderr)
"""


def test_controller_image_validates_files_against_the_gateway_api_crds(built: Built) -> None:
    """The image carries the pinned Gateway API CRDs and Kubernetes' OpenAPI documents (no Go
    module cache or checkout inside it): `translate` refuses a Gateway whose listener names
    repeat with the API server's words, from both the schema's list-map key and the CRD's CEL
    rule, and a Service with a misspelt port field as strict decoding does."""
    crds = built.controller.root / "usr/local/lib/python3.11/site-packages/gateway_contour"
    names = {p.name for p in (crds / "validation" / "crds").iterdir()}
    assert "gateway.networking.k8s.io_gateways.yaml" in names
    out = _run_read_only(built.controller, ["/usr/local/bin/python3", "-c", TRANSLATE_IN_IMAGE])
    assert "exit 1" in out
    assert "spec.listeners[1]: Duplicate value" in out
    assert "Listener name must be unique within the Gateway" in out
    assert "no Gateway API" not in out  # the warning when no CRDs are found
    assert 'strict decoding error: unknown field "spec.ports[0].targetPrt"' in out
    assert "no Kubernetes" not in out  # nor the OpenAPI documents


def test_envoy_image_runs_read_only_as_nonroot(built: Built) -> None:
    image = built.envoy
    assert image.manifest["RepoTags"] == [f"gateway-contour/envoy:{ENVOY_VERSION}"]
    assert image.run_config["Entrypoint"] == ["/usr/local/bin/envoy"]
    assert image.run_config["User"] == "65532:65532"
    before = _snapshot(image.root)
    out = _run_read_only(image, ["/usr/local/bin/envoy", "--version"])
    assert f"/{ENVOY_VERSION}/" in out
    assert _snapshot(image.root) == before


def test_rebuild_skips_unchanged_and_is_reproducible(built: Built) -> None:
    stamp = built.output_dir / f"envoy-{ENVOY_VERSION}.tar.inputs"
    first = json.loads(stamp.read_text())
    assert "unchanged" in _build(built.output_dir, "--image", "envoy")
    _build(built.output_dir, "--image", "envoy", "--force")
    again = json.loads(stamp.read_text())
    assert (again["layer"], again["config"]) == (first["layer"], first["config"])
    assert built.envoy.config["rootfs"] == {"type": "layers", "diff_ids": [first["layer"]]}


@dataclass
class NodeImages:
    extras: dict[str, str]
    pause: Image
    coredns: Image


@pytest.fixture(scope="module")
def node_images(tmp_path_factory: pytest.TempPathFactory) -> NodeImages:
    # Cached after the first run (cold: ~2.5 min on 2 cores, CoreDNS's build).
    done = subprocess.run([str(NODE_EXTRAS)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    cache = Path(os.environ.get("CONTROL_PLANE_CACHE", REPO / ".cache" / "control-plane"))
    env_file = cache / "node-extras.env"
    extras = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    output_dir = tmp_path_factory.mktemp("node-images")
    _build(output_dir, "--node-extras", str(env_file), "--image", "pause", "--image", "coredns")
    pause = _unpack(
        output_dir / f"pause-{extras['PAUSE_VERSION']}.tar", tmp_path_factory.mktemp("pause")
    )
    coredns = _unpack(
        output_dir / f"coredns-{extras['COREDNS_VERSION']}.tar",
        tmp_path_factory.mktemp("coredns"),
    )
    return NodeImages(extras, pause, coredns)


def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(fields.get("PPid", "0")) == pid:
            found.add(int(status.parent.name))
    return found


def _wait_for(what: str, check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_pause_is_pid1_reaps_and_exits_0(node_images: NodeImages, sig: signal.Signals) -> None:
    image = node_images.pause
    assert image.manifest["RepoTags"] == [
        f"gateway-contour/pause:{node_images.extras['PAUSE_VERSION']}"
    ]
    assert image.run_config["Entrypoint"] == ["/pause"]
    assert image.run_config["User"] == "65535:65535"
    chroot = shutil.which("chroot", path="/usr/sbin:/usr/bin:/sbin:/bin")
    assert chroot
    # unshare forks: its child is PID 1 of the new namespace and execs (chroot, then) /pause.
    sandbox = subprocess.Popen(
        ["unshare", "--pid", "--fork", chroot, "--userspec=65535:65535", str(image.root), "/pause"]
    )
    try:
        _wait_for("pause to start", lambda: len(_children(sandbox.pid)) == 1)
        (pause,) = _children(sandbox.pid)
        status = Path(f"/proc/{pause}/status")
        # PID 1 gets only the signals it handles: wait until the Go runtime handles SIGTERM.
        _wait_for(
            "pause's signal handlers",
            lambda: (
                int(dict(x.split(":\t", 1) for x in status.read_text().splitlines())["SigCgt"], 16)
                & (1 << (signal.SIGTERM - 1))
            ),
        )
        assert os.readlink(f"/proc/{pause}/exe").endswith("/pause")
        # An orphan in the sandbox is re-parented to its PID 1, which must reap it on exit.
        subprocess.run(
            ["nsenter", "--target", str(pause), "--pid", "--", "sh", "-c", "sleep 0.3 & exit 0"],
            check=True,
            timeout=10,
        )
        assert len(_children(pause)) == 1  # the sleep, now pause's child
        _wait_for("pause to reap the orphan", lambda: not _children(pause))
        os.kill(pause, sig)
        assert sandbox.wait(timeout=10) == 0
    finally:
        if sandbox.poll() is None:
            sandbox.kill()
            sandbox.wait()


def test_coredns_image_lists_cluster_plugins(node_images: NodeImages) -> None:
    image = node_images.coredns
    version = node_images.extras["COREDNS_VERSION"]
    assert image.manifest["RepoTags"] == [f"gateway-contour/coredns:{version}"]
    assert image.run_config["Entrypoint"] == ["/coredns"]
    assert image.run_config["User"] == "65532:65532"
    assert not (image.root / "etc" / "coredns").exists()  # the Corefile is a ConfigMap volume
    before = _snapshot(image.root)
    out = _run_read_only(image, ["/coredns", "-plugins"], ["/coredns", "-version"])
    wanted = {"kubernetes", "forward", "cache", "errors", "health", "ready", "loop", "reload"}
    assert wanted | {"loadbalance", "log", "prometheus"} <= set(out.split())
    assert f"CoreDNS-{version}" in out
    assert _snapshot(image.root) == before
