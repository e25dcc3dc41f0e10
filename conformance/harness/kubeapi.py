"""A small synchronous Kubernetes API client for the harness (stdlib HTTP + a kubeconfig).

The node agent runs in threads and needs only plain JSON calls and watch streams; the
controller's async client would drag an event loop into it. Supports the kubeconfig shapes
we meet: bearer token or client certificate, CA as data or file, insecure-skip-tls-verify.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def _file_or_data(entry: dict[str, Any], key: str, tmpdir: Path) -> str | None:
    """The path of a kubeconfig credential given as `key` (a file) or `key-data` (base64)."""
    if entry.get(key):
        return str(entry[key])
    data = entry.get(f"{key}-data")
    if not data:
        return None
    path = tmpdir / key
    path.write_bytes(base64.b64decode(data))
    return str(path)


class KubeApi:
    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        current = config.get("current-context")
        context = next(c["context"] for c in config["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        self.server = cluster["server"].rstrip("/")
        self._tmp = tempfile.TemporaryDirectory(prefix="kubeapi-")
        tmp = Path(self._tmp.name)
        self.ssl = ssl.create_default_context(
            cafile=_file_or_data(cluster, "certificate-authority", tmp)
        )
        if cluster.get("insecure-skip-tls-verify"):
            self.ssl.check_hostname = False
            self.ssl.verify_mode = ssl.CERT_NONE
        cert = _file_or_data(user, "client-certificate", tmp)
        if cert:
            self.ssl.load_cert_chain(cert, _file_or_data(user, "client-key", tmp))
        self.headers = {"Accept": "application/json"}
        if user.get("token"):
            self.headers["Authorization"] = f"Bearer {user['token']}"

    def _open(self, method: str, path: str, body: Any, content_type: str, timeout: float) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers, **({"Content-Type": content_type} if data else {}))
        req = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(req, context=self.ssl, timeout=timeout)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                detail: Any = json.loads(raw)
            except ValueError:
                detail = raw.decode(errors="replace")
            raise ApiError(error.code, detail) from None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> Any:
        with self._open(method, path, body, content_type, timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def patch(self, path: str, body: Any, kind: str = "strategic-merge-patch") -> Any:
        return self.request("PATCH", path, body, f"application/{kind}+json")

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int = 300
    ) -> Iterator[dict[str, Any]]:
        """Events of one watch request; ends when the server closes it. An ERROR event (410
        Gone included) is yielded like any other: the caller relists."""
        query = urllib.parse.urlencode(
            {
                "watch": "1",
                "resourceVersion": resource_version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": str(timeout_seconds),
            }
        )
        sep = "&" if "?" in path else "?"
        with self._open("GET", f"{path}{sep}{query}", None, "", timeout_seconds + 30) as stream:
            for line in stream:
                if line.strip():
                    yield json.loads(line)
