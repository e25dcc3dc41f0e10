"""The images `make image` builds (hack/image/build.py), built into a temp dir and run.

Each layer is unpacked and its commands run in a chroot as 65532:65532, in a private mount
namespace where the root is a read-only bind mount and /tmp a tmpfs (as a Pod with
readOnlyRootFilesystem and an emptyDir): `gateway-contour --help`, `bootstrap` writing a
bootstrap that the image's own Envoy then validates, and the Envoy image's `envoy --version`.
The unpacked trees must be unchanged afterwards, rebuilding must give the same digests, and
the layer must hold none of the venv's dev tools. Needs root (chroot, mount).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "hack" / "image" / "build.py"
CONTROLLER_VERSION = "0.1.0"
ENVOY_VERSION = "1.40.0"


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
    stdout = _build(output_dir)
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
    """Run each command in `image`'s tree as 65532:65532, its root mounted read-only."""
    root = shlex.quote(str(image.root))
    env = " ".join(shlex.quote(e) for e in image.run_config["Env"])  # type: ignore[attr-defined]
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
        lines.append(f"env -i {env} {chroot} --userspec=65532:65532 {root} {argv}")
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
