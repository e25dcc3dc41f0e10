"""A root filesystem as data, and its docker-archive tarball (what `ctr images import` reads).

`Tree` maps image paths to entries (a host file to copy, bytes, a directory, a symlink);
`write_docker_archive` turns one tree into a single-layer image: `manifest.json`, the config
JSON named by its digest, and `<diff_id>/layer.tar`. Layer entries are sorted, owned by 0:0,
dated `MTIME` and keep their host modes, so the same inputs always give the same digests.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MTIME = 0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    kind: str  # "file", "dir" or "symlink"
    mode: int = 0o644
    source: Path | None = None  # a host file to copy ("file")
    data: bytes | None = None  # literal contents ("file")
    target: str = ""  # "symlink"


@dataclass
class Tree:
    entries: dict[str, Entry] = field(default_factory=dict)

    def _key(self, path: str) -> str:
        key = str(PurePosixPath("/", path))[1:]
        if not key or ".." in PurePosixPath(key).parts:
            raise ValueError(f"bad image path {path!r}")
        return key

    def _parents(self, key: str) -> None:
        for parent in PurePosixPath(key).parents:
            name = str(parent)
            if name != "." and name not in self.entries:
                self.entries[name] = Entry("dir", 0o755)

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        key = self._key(path)
        self._parents(key)
        self.entries[key] = Entry("dir", mode)

    def add_file(self, path: str, source: Path, mode: int | None = None) -> None:
        key = self._key(path)
        self._parents(key)
        if mode is None:
            mode = stat.S_IMODE(source.stat().st_mode)
        self.entries[key] = Entry("file", mode, source=source)

    def add_bytes(self, path: str, data: bytes, mode: int = 0o644) -> None:
        key = self._key(path)
        self._parents(key)
        self.entries[key] = Entry("file", mode, data=data)

    def add_symlink(self, path: str, target: str) -> None:
        key = self._key(path)
        self._parents(key)
        self.entries[key] = Entry("symlink", 0o777, target=target)

    def fingerprint(self) -> str:
        """A digest of every entry and the stat of every host file: cheap change detection."""
        h = hashlib.sha256()
        for key in sorted(self.entries):
            e = self.entries[key]
            h.update(f"{key}\0{e.kind}\0{e.mode}\0{e.target}\0".encode())
            if e.source is not None:
                st = e.source.stat()
                h.update(f"{e.source}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
            if e.data is not None:
                h.update(hashlib.sha256(e.data).digest())
        return h.hexdigest()


def _tarinfo(name: str, entry: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.mode = entry.mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif entry.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry.target
    return info


def write_layer(tree: Tree, out: Path) -> str:
    """Write `tree` as an uncompressed layer tar; return its sha256 (the diff_id)."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for key in sorted(tree.entries):
            entry = tree.entries[key]
            info = _tarinfo(key, entry)
            if entry.kind != "file":
                tar.addfile(info)
            elif entry.data is not None:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                assert entry.source is not None
                with entry.source.open("rb") as f:
                    info.size = os.fstat(f.fileno()).st_size
                    tar.addfile(info, f)
    return _sha256(out)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_docker_archive(
    tree: Tree, out: Path, tags: list[str], config: dict[str, object]
) -> dict[str, str]:
    """Write a one-layer docker-archive of `tree` to `out`; return its digests."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-") as tmp:
        layer = Path(tmp) / "layer.tar"
        diff_id = write_layer(tree, layer)
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "hack/image/build.py"}],
        }
        config_bytes = json.dumps(image_config, sort_keys=True, separators=(",", ":")).encode()
        config_id = hashlib.sha256(config_bytes).hexdigest()
        manifest = [
            {
                "Config": f"{config_id}.json",
                "RepoTags": tags,
                "Layers": [f"{diff_id}/layer.tar"],
            }
        ]
        members: list[tuple[str, bytes | Path]] = [
            (f"{config_id}.json", config_bytes),
            (f"{diff_id}/layer.tar", layer),
            ("manifest.json", json.dumps(manifest, indent=2).encode()),
        ]
        partial = Path(tmp) / "image.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            info = _tarinfo(diff_id, Entry("dir", 0o755))
            tar.addfile(info)
            for name, content in members:
                info = _tarinfo(name, Entry("file", 0o644))
                if isinstance(content, bytes):
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
                else:
                    info.size = content.stat().st_size
                    with content.open("rb") as f:
                        tar.addfile(info, f)
        partial.replace(out)
    return {"config": f"sha256:{config_id}", "layer": f"sha256:{diff_id}"}
