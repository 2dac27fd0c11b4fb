"""The web process's view of the call workers of ``pln123 serve --workers N``.

Each call worker answers on a unix socket of its own, ``<folder>/<name>.sock`` in a
private folder the supervisor makes (:mod:`ivr.workers.endpoint`): ``GET /metrics``
(its registry in Prometheus text format) and ``GET /healthz`` (its pid and its call
store's health). The answers come from the worker's event loop, the one its calls run
on, so a hung loop does not answer: the worker counts as down, as a dead one does.

A worker that stops answering is logged once, and once again when it answers again;
``/metrics`` and ``/healthz`` are served without it meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

#: Seconds a worker has to answer ``/healthz``: a worker slower than this is "down".
HEALTH_TIMEOUT = 1.5
#: Seconds a worker has to answer ``/metrics`` (under the scraper's own timeout, 5 s).
METRICS_TIMEOUT = 3.0


def socket_path(folder: Path, name: str) -> Path:
    """Where call worker ``name`` answers."""
    return folder / f"{name}.sock"


@dataclass
class _Seen:
    """What the web process knows of one worker."""

    up: bool | None = None  # None: not asked yet
    #: Epoch seconds since it has not answered (None: it answers).
    down_since: float | None = None
    reason: str = ""
    #: Its pid when it last answered.
    pid: int | None = None


class WorkerPeers:
    """Asks the call workers ``names`` for their metrics and health, concurrently."""

    def __init__(
        self,
        folder: Path,
        names: Sequence[str],
        *,
        health_timeout: float = HEALTH_TIMEOUT,
        metrics_timeout: float = METRICS_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = folder
        self.names = list(names)
        self.health_timeout = health_timeout
        self.metrics_timeout = metrics_timeout
        self._clock = clock
        self._seen = {name: _Seen() for name in self.names}

    async def metrics(self) -> dict[str, str | None]:
        """Each worker's exposition text, None for one that did not answer."""
        answers = await self._ask_all("/metrics", self.metrics_timeout)
        return {name: None if body is None else body.decode() for name, body in answers.items()}

    async def health(self) -> dict[str, dict[str, Any]]:
        """Each worker's health: ``up``, its ``pid`` and ``store`` (``as_json()`` of its
        call store's health), or ``up`` false with ``reason``, ``since`` and the ``pid``
        it last answered with."""
        answers = await self._ask_all("/healthz", self.health_timeout)
        report: dict[str, dict[str, Any]] = {}
        for name, body in answers.items():
            seen = self._seen[name]
            data = _json_object(body) if body is not None else None
            if data is not None:
                pid = data.get("pid")
                seen.pid = pid if isinstance(pid, int) else seen.pid
                store = data.get("store")
                report[name] = {
                    "up": True,
                    "pid": seen.pid,
                    "store": store if isinstance(store, dict) else {"ok": False},
                }
            else:
                report[name] = {
                    "up": False,
                    "pid": seen.pid,
                    "reason": seen.reason or "not a health answer",
                    "since": seen.down_since,
                }
        return report

    async def _ask_all(self, path: str, timeout: float) -> dict[str, bytes | None]:
        bodies = await asyncio.gather(*(self._ask(name, path, timeout) for name in self.names))
        return dict(zip(self.names, bodies, strict=True))

    async def _ask(self, name: str, path: str, timeout: float) -> bytes | None:
        """``GET path`` of worker ``name``; None (and the worker down) when it does not
        answer within ``timeout`` seconds."""
        connector = aiohttp.UnixConnector(path=str(socket_path(self.folder, name)))
        try:
            async with (
                aiohttp.ClientSession(
                    connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
                ) as session,
                session.get(f"http://{name}{path}") as response,
            ):
                response.raise_for_status()
                body = await response.read()
        except TimeoutError:
            self._down(name, f"no answer within {timeout:g} s")
            return None
        except aiohttp.ClientConnectorError as exc:  # dead: no socket, or no one on it
            self._down(name, f"cannot connect: {exc.os_error.strerror or exc.os_error}")
            return None
        except (aiohttp.ClientError, OSError) as exc:
            self._down(name, f"{type(exc).__name__}: {exc}")
            return None
        self._answered(name)
        return body

    def _down(self, name: str, reason: str) -> None:
        seen = self._seen[name]
        seen.reason = reason
        if seen.up is False:
            return
        seen.up = False
        seen.down_since = self._clock()
        log.warning(
            "call worker %s does not answer (%s): left out of /metrics and degraded on"
            " /healthz until it does",
            name,
            reason,
        )

    def _answered(self, name: str) -> None:
        seen = self._seen[name]
        if seen.up is False:
            down = self._clock() - (seen.down_since or self._clock())
            log.warning("call worker %s answers again after %.1f s", name, down)
        seen.up, seen.down_since, seen.reason = True, None, ""


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
