"""An HTTP client for the API server, authenticated from a kubeconfig (or in-cluster).

lightkube reads the kubeconfig and builds the authenticated httpx client; we speak raw JSON
over it, because the store keeps objects as the plain dicts the API serves and decoding every
watch event into model classes would cost more than the rest of the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from lightkube.config.client_adapter import AsyncClient as _adapter_client
from lightkube.config.client_adapter import ConnectionParams
from lightkube.config.kubeconfig import KubeConfig

try:  # lightkube >= 1.0 ships its fork under this name
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"{status}: {message}")


def load_config(kubeconfig: Path | None, context: str | None = None) -> Any:
    conf = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
    single = conf.get(context)
    if single is None:
        raise ValueError(f"kubeconfig has no context {context!r}")
    return single


class KubeClient:
    """Raw JSON requests against the API server."""

    def __init__(self, kubeconfig: Path | None = None, context: str | None = None) -> None:
        config = load_config(kubeconfig, context)
        self._http = _adapter_client(
            config, ConnectionParams(timeout=httpx.Timeout(30, connect=5), trust_env=False)
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else None
        resp = await self._http.request(
            method,
            path,
            params={k: v for k, v in (params or {}).items() if v is not None},
            content=content,
            headers=headers,
        )
        if resp.status_code >= 400:
            try:
                detail = resp.json()
            except ValueError:
                detail = resp.text
            raise ApiError(resp.status_code, detail)
        return resp.json() if resp.content else None

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params)

    async def stream_lines(
        self, path: str, params: dict[str, Any], timeout: float
    ) -> AsyncIterator[dict[str, Any]]:
        """A watch: one decoded JSON event per line until the server closes the stream."""
        request = self._http.build_request(
            "GET",
            path,
            params={k: v for k, v in params.items() if v is not None},
            timeout=httpx.Timeout(timeout + 30, connect=5),
        )
        resp = await self._http.send(request, stream=True)
        try:
            if resp.status_code >= 400:
                await resp.aread()
                try:
                    detail = resp.json()
                except ValueError:
                    detail = resp.text
                raise ApiError(resp.status_code, detail)
            async for line in resp.aiter_lines():
                if line:
                    yield json.loads(line)
        finally:
            await resp.aclose()
