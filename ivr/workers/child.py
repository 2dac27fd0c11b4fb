"""What a forked worker process runs: a call worker or the web process.

Each opens its own connection to the store (nothing of the supervisor's is used after
the fork), and runs :class:`ivr.app.IvrApp` in its role until SIGTERM; a call worker
also answers the web process on its private endpoint (:mod:`ivr.workers.endpoint`).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import signal
from collections.abc import Sequence
from pathlib import Path

from ivr.app import IvrApp, Role
from ivr.backends.embedded import EmbeddedDatabase
from ivr.backends.guarded import guarded
from ivr.config import Settings
from ivr.engine.library import LibraryHolder
from ivr.store.open import open_call_store
from ivr.web.worker_peers import WorkerPeers, socket_path
from ivr.workers.endpoint import WorkerEndpoint

log = logging.getLogger(__name__)

#: The signals the supervisor takes (and blocks around a fork, see ivr.workers.run).
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when the supervisor dies (killed with SIGKILL), so
    no orphan keeps serving on the shared port."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def _forget_parent_signals() -> None:
    """The supervisor's signal handling is not this process's: default handlers (the
    app sets its own) and no wakeup fd (the supervisor's would be told our signals)."""
    signal.set_wakeup_fd(-1)
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def run_worker(
    name: str,
    settings: Settings,
    library: LibraryHolder,
    runtime: Path,
    call_workers: Sequence[str],
) -> None:
    """The body of worker ``name``: ``web``, or a call worker (``agi-<n>``).

    ``runtime`` is the supervisor's private folder: a call worker answers for its
    metrics and health on its socket there, the web process asks every one of
    ``call_workers`` (:mod:`ivr.web.worker_peers`)."""
    _forget_parent_signals()
    _die_with_parent()
    role = Role.WEB if name == "web" else Role.AGI
    store = open_call_store(settings)
    database: EmbeddedDatabase | None = None
    backends = None
    if role is Role.AGI:
        database = EmbeddedDatabase(settings.store_location, conn=store.connection)
        backends = guarded(database.backends(), settings.backend_timeout)
    try:
        if role is Role.WEB:
            peers = WorkerPeers(runtime, call_workers)
            asyncio.run(IvrApp(settings, library, store, backends, role=role, workers=peers).run())
        else:
            app = IvrApp(settings, library, store, backends, role=role)
            endpoint = WorkerEndpoint(socket_path(runtime, name), store.health.as_json)
            asyncio.run(_serve_calls(app, endpoint))
    finally:
        if database is not None:
            database.close()
        store.close()


async def _serve_calls(app: IvrApp, endpoint: WorkerEndpoint) -> None:
    """A call worker: its calls, and its endpoint on the same event loop. Calls come
    first: without its endpoint the worker still serves them (and shows as down)."""
    try:
        await endpoint.start()
    except OSError as exc:
        log.error(
            "cannot answer the web process on %s (%s): /metrics and /healthz leave this worker out",
            endpoint.path,
            exc,
        )
    try:
        await app.run()
    finally:
        await endpoint.stop()
