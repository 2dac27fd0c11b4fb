"""Helpers shared by the tests that run real processes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from ivr.agi.channel import AgiChannel
from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.backends.ports import Backends
from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.store.dbapi import Location, is_postgres
from ivr.store.open import open_call_store
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.result import ScenarioResult
from ivr.tools.scenario.sim import run_scenario_sim

REPO = Path(__file__).resolve().parents[1]
#: A Monday at 10:00 WIB: every CSO queue is open (``flows/data/jam_layanan.yaml``). A
#: test call that must reach an office-hours queue runs at it (a scenario's ``at:``).
OFFICE_HOURS = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


class IvrProcess:
    """``pln123 serve`` as a child process, its log lines readable with a time limit."""

    def __init__(self, env: dict[str, str], cwd: Path, args: tuple[str, ...] = ()) -> None:
        self.lines: Queue[str] = Queue()
        self.log: list[str] = []
        self._env, self._cwd, self._args = env, cwd, args
        self.start()

    def start(self) -> None:
        """Launch ``pln123 serve`` and wait until it listens."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli.main", "serve", *self._args],
            cwd=self._cwd,
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        self.wait_for_line("pln123 serving FastAGI")

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.append(line)
            self.lines.put(line)

    def wait_for_line(self, text: str, timeout: float = 15.0) -> str:
        """The first new log line containing ``text``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except Empty:
                break
            if text in line:
                return line
        raise AssertionError(f"no log line with {text!r} in {timeout}s; log:\n{''.join(self.log)}")

    def wait_for_log(self, text: str, timeout: float = 15.0) -> str:
        """A log line containing ``text``, printed already or within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.log):
                if text in line:
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no log line with {text!r} in {timeout}s; log:\n{''.join(self.log)}"
                )
            with contextlib.suppress(Empty):
                self.lines.get(timeout=remaining)  # woken by the next line

    def stop(self) -> None:
        """SIGTERM, then kill if it does not go."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def run_in_simulator(
    scenario: Scenario,
    tmp_path: Path,
    adapt: Callable[[Backends], Backends] | None = None,
    location: Location | None = None,
) -> ScenarioResult:
    """A scenario in the simulator on a fresh store with the demo data (a SQLite file
    under ``tmp_path``, or ``location``), over the embedded backends (changed by
    ``adapt`` when given, to break one on purpose)."""
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    if location is not None and is_postgres(location):
        settings = Settings(db_path=settings.db_path, store={"url": location})
    seed(settings.store_location)
    library = load_library(REPO / "flows", REPO / "audio", KIT)
    store = open_call_store(settings)
    database = EmbeddedDatabase(
        settings.store_location, conn=store.connection, outage_poll_seconds=0.0
    )
    backends = database.backends()
    try:
        chosen = adapt(backends) if adapt is not None else backends
        return await run_scenario_sim(scenario, settings, library, store, chosen)
    finally:
        await store.drain()
        database.close()
        store.close()


def numbers_from_threads(
    db_path: Location,
    make: Callable[[Backends], Awaitable[str]],
    threads: int = 4,
    each: int = 20,
) -> list[str]:
    """The numbers ``make`` returns when ``threads`` threads, each on a connection of
    its own to ``db_path``, call it ``each`` times: how two IVR processes (or a CSO tool)
    share one SQLite file."""
    numbers: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        database = EmbeddedDatabase(db_path)
        try:

            async def run() -> list[str]:
                backends = database.backends()
                return [await make(backends) for _ in range(each)]

            made = asyncio.run(run())
        finally:
            database.close()
        with lock:
            numbers.extend(made)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return numbers


#: What a handler ended with: its value, or the exception it raised.
Outcome = tuple[Any, BaseException | None]


def handing_handler(
    drive: Callable[[AgiChannel], Awaitable[Any]],
) -> tuple[Callable[[AgiChannel], Awaitable[None]], asyncio.Future[Outcome]]:
    """A FastAGI handler that runs ``drive`` and hands its outcome to the future.

    The server logs and swallows what a handler raises, so tests assert on the future,
    in the test body, never inside the handler.
    """
    handed: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    async def handler(channel: AgiChannel) -> None:
        try:
            value = await drive(channel)
        except BaseException as exc:
            handed.set_result((None, exc))
            raise
        handed.set_result((value, None))

    return handler, handed
