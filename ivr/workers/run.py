"""The supervisor process of ``pln123 serve --workers N``: real processes and signals.

Workers are forked (``multiprocessing``'s fork context) from this process, which holds
no thread, no event loop and no store connection at that moment, so each starts with
the settings and the last good flows the supervisor holds (it reloads them on SIGHUP
too, so a worker started again serves what its siblings serve). Signals arrive
through a wakeup socket and are read between waits for a worker's end.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

from ivr.config import Settings
from ivr.engine.library import LibraryHolder
from ivr.web.worker_peers import socket_path
from ivr.worker_id import this_host, worker_id
from ivr.workers.child import SIGNALS, run_worker
from ivr.workers.closing import close_calls_of
from ivr.workers.supervisor import Supervisor

log = logging.getLogger(__name__)

#: Name of the web process (pages, AMI, housekeeping); call workers are ``agi-<n>``.
WEB = "web"


class PortTaken(RuntimeError):
    """The FastAGI port is in use by another program (or a stray worker)."""


class ProcessHandle:
    """A forked worker, as :class:`~ivr.workers.supervisor.Supervisor` sees it."""

    def __init__(self, process: BaseProcess) -> None:
        self.process = process
        self.pid = int(process.pid or 0)

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)


def worker_names(count: int) -> list[str]:
    """The processes to run: the web process (the pages and AMI when ``[web] enabled``,
    and the retention sweep in any case) and ``count`` call workers."""
    return [WEB] + [f"agi-{n}" for n in range(1, count + 1)]


def check_port_free(host: str, port: int) -> None:
    """Refuse to start when something listens on the FastAGI port already: the workers
    bind it with SO_REUSEPORT, which would quietly share it with a stray process."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortTaken(f"FastAGI port {host}:{port} is in use: {exc.strerror}") from exc


@contextlib.contextmanager
def runtime_folder() -> Iterator[Path]:
    """A private folder (mode 0700) for the call workers' sockets, removed with
    everything in it at the end: under systemd's ``RuntimeDirectory`` when the unit
    sets one (``$RUNTIME_DIRECTORY``), else under the temporary folder."""
    parent = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0] or None
    folder = Path(tempfile.mkdtemp(prefix="pln123-workers-", dir=parent))
    log.debug("call workers answer the web process in %s", folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Signals wait while a worker is forked: the child resets the handlers first."""
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def serve_workers(settings: Settings, library: LibraryHolder, count: int) -> int:
    """Run ``count`` call workers (and the web process) until SIGTERM or SIGINT and
    all have stopped; the exit status."""
    check_port_free(settings.agi.host, settings.agi.port)
    close_calls_of(settings, host=this_host())  # an earlier run's, on this host
    with runtime_folder() as runtime:
        return _supervise(settings, library, count, runtime)


def _supervise(settings: Settings, library: LibraryHolder, count: int, runtime: Path) -> int:
    context = multiprocessing.get_context("fork")
    names = worker_names(count)
    call_workers = tuple(name for name in names if name != WEB)

    def spawn(name: str) -> ProcessHandle:
        process = context.Process(
            target=run_worker,
            args=(name, settings, library, runtime, call_workers),
            name=f"pln123-{name}",
        )
        with _signals_blocked():
            process.start()
        return ProcessHandle(process)

    def gone(name: str, handle: ProcessHandle) -> None:
        if name != WEB:
            socket_path(runtime, name).unlink(missing_ok=True)  # it no longer answers
            close_calls_of(settings, worker=worker_id(handle.pid))

    supervisor = Supervisor(names, spawn, gone)
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    previous = {signum: signal.signal(signum, lambda *_: None) for signum in SIGNALS}
    old_fd = signal.set_wakeup_fd(wake_w.fileno())
    try:
        supervisor.start()
        while not supervisor.finished:
            _wait(supervisor, wake_r, library)
            supervisor.restart_due()
    finally:
        signal.set_wakeup_fd(old_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        wake_r.close()
        wake_w.close()
    return 0


def _wait(
    supervisor: Supervisor[ProcessHandle], wake: socket.socket, library: LibraryHolder
) -> None:
    """Wait for a signal, a worker's end or a planned restart; handle what came."""
    live = supervisor.live()
    sentinels = {handle.process.sentinel: name for name, handle in live.items()}
    ready = multiprocessing.connection.wait([wake, *sentinels], timeout=supervisor.next_restart())
    if wake in ready:
        with contextlib.suppress(BlockingIOError):
            for signum in wake.recv(64):
                if signum == signal.SIGHUP:
                    library.reload()  # a worker started later serves the new flows too
                supervisor.signal(signum)
    for sentinel, name in sentinels.items():
        if sentinel in ready:
            live[name].process.join()
            supervisor.exited(name)
            live[name].process.close()
