"""A call worker's private endpoint: its metrics and health for the web process.

A unix socket in the supervisor's private folder (see
:func:`ivr.web.worker_peers.socket_path`), served by aiohttp on the worker's own event
loop: ``GET /metrics`` is :func:`prometheus_client.generate_latest` of the worker's
registry (read on the loop that updates it, so the hot path's plain numbers need no
lock), ``GET /healthz`` its pid and its call store's health.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr import metrics


class WorkerEndpoint:
    """Serves ``/metrics`` and ``/healthz`` on the unix socket ``path``."""

    def __init__(self, path: Path, store_health: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._store_health = store_health
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        body, content_type = metrics.METRICS.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def _health(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"pid": os.getpid(), "store": self._store_health()})

    async def start(self) -> None:
        """Listen (a socket left by this worker's dead predecessor is replaced)."""
        await self._runner.setup()
        await web.UnixSite(self._runner, str(self.path)).start()

    async def stop(self) -> None:
        """Stop listening and remove the socket."""
        await self._runner.cleanup()
        self.path.unlink(missing_ok=True)
