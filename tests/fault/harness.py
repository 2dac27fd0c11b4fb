"""What the fault tests share: a seeded store copied fresh per call, a simulator port
that counts (and can break at) every operation, and the checks that nothing was lost.

The flow library is loaded once per session (about 0.1 s); a simulated call then
costs a millisecond or two, so the sweeps can run thousands of calls within CI's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import ivr.logs
import ivr.sim.runner
from ivr.agi import variables as var
from ivr.app import IvrApp
from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.backends.ports import Backends
from ivr.config import Settings
from ivr.engine.library import FlowLibrary, LibraryHolder
from ivr.engine.model import InputNode
from ivr.engine.port import CallerHungUp, Outcome, Segment, SpeechTurn
from ivr.language.grammars import InputGrammar
from ivr.sim.port import Answerer, Echo, SimPort
from ivr.store.calls import CallStore
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.result import ScenarioResult
from ivr.tools.scenario.sim import run_scenario_sim
from ivr.tools.testing.fake_asterisk import CallScript, End, place_call
from tests.support import REPO

SCENARIOS = REPO / "tests" / "scenarios"
OUTCOMES = {outcome.value for outcome in Outcome}
HOST = "127.0.0.1"
#: Seconds a fake Asterisk call may take.
WAIT = 10.0
#: Seconds a FastAGI peer has for its header block in these tests (5 s in production).
HEADER_TIMEOUT = 0.5
IDPEL = "532110987654"


def env_int(name: str, default: int) -> int:
    """An integer from the environment (a larger run on demand), else ``default``."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def scenario_files() -> list[Path]:
    """Every scenario of ``tests/scenarios``, in name order."""
    return sorted(SCENARIOS.glob("*.yaml"))


# --- stores ----------------------------------------------------------------------------


class SeededTemplate:
    """A store file with the demo data, seeded once; :meth:`fresh` copies it."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "template.sqlite3"
        seed(self.path)
        # Everything in the main file: a copy needs no WAL beside it.
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._count = 0

    def fresh(self, folder: Path) -> Path:
        """A new copy of the seeded file under ``folder``."""
        self._count += 1
        target = folder / f"calls-{self._count}.sqlite3"
        shutil.copyfile(self.path, target)
        return target


@dataclass
class Bench:
    """One open store and its embedded backends."""

    settings: Settings
    store: CallStore
    database: EmbeddedDatabase

    def backends(self) -> Backends:
        return self.database.backends()

    def close(self) -> None:
        self.database.close()
        self.store.close()

    def calls(self) -> list[tuple[str, str | None]]:
        """(id, outcome) of every call in the file, in the order they started."""
        return list(self.store.connection.execute("SELECT id, outcome FROM calls ORDER BY rowid"))

    def answers(self, call_id: str) -> list[tuple[str, str]]:
        """(ask, value) of a call's stored answers, in order."""
        return list(
            self.store.connection.execute(
                "SELECT ask, value FROM answers WHERE call_id = ? ORDER BY seq", (call_id,)
            )
        )

    def has_pop(self, call_id: str) -> bool:
        row = self.store.connection.execute(
            "SELECT 1 FROM screenpops WHERE call_id = ?", (call_id,)
        ).fetchone()
        return row is not None


@contextlib.contextmanager
def open_bench(db_path: Path, **settings: Any) -> Iterator[Bench]:
    """A store on ``db_path`` (seeded already) with its backends, closed afterwards."""
    bench = Bench(
        Settings(db_path=db_path, **settings),
        CallStore(db_path),
        EmbeddedDatabase(db_path, outage_poll_seconds=0.0),
    )
    try:
        yield bench
    finally:
        bench.close()


# --- the simulator port, counted -------------------------------------------------------


#: Called with the operation's name before each port operation.
OnOperation = Callable[[str], None]


class CountingPort(SimPort):
    """The simulator's port, with a hook before every operation (a hangup raised there
    is the caller leaving at that operation), and speech turns when ``speech`` is set."""

    def __init__(
        self,
        answerer: Answerer,
        echo: Echo | None,
        on_operation: OnOperation,
        speech: Callable[[InputGrammar], SpeechTurn | None] | None = None,
    ) -> None:
        super().__init__(answerer, echo)
        self._on = on_operation
        self._speech = speech

    async def play(self, segments: Sequence[Segment], escape: str) -> str | None:
        self._on("play")
        return await super().play(segments, escape)

    async def wait_digit(self, timeout: float) -> str | None:
        self._on("wait_digit")
        return await super().wait_digit(timeout)

    async def listen_speech(
        self, segments: Sequence[Segment], grammar: InputGrammar, timeout: float
    ) -> SpeechTurn | None:
        self._on("listen_speech")
        if self._speech is None:
            return None
        # A turn with words leaves the answerer unasked; None falls back to keys, and
        # the answerer is asked as the prompt plays.
        return self._speech(grammar)

    async def listening(self, flow: str, node: InputNode, ask: str, attempt: int) -> None:
        self._on("listening")
        await super().listening(flow, node, ask, attempt)

    async def event(self, name: str, fields: dict[str, str]) -> None:
        self._on(f"event:{name}")
        await super().event(name, fields)

    async def hand_over(self, queue: str, pop_id: str) -> None:
        self._on("hand_over")
        await super().hand_over(queue, pop_id)

    async def finish(self) -> None:
        self._on("finish")
        await super().finish()


@dataclass
class Operations:
    """The operations a run made, and a hangup to inject at one of them."""

    hang_up_at: int | None = None
    names: list[str] = field(default_factory=list)
    #: (flow, node) the call was at for each operation ("" before the first node).
    nodes: list[tuple[str, str]] = field(default_factory=list)
    #: Called before each operation (after it is counted), e.g. to snapshot the store.
    watch: Callable[[int], None] | None = None

    def __call__(self, name: str) -> None:
        index = len(self.names)
        self.names.append(name)
        _call_id, flow, node = ivr.logs._CALL.get()
        self.nodes.append((flow, node))
        if self.watch is not None:
            self.watch(index)
        if index == self.hang_up_at:
            raise CallerHungUp(f"fault test: the caller hangs up at operation {index} ({name})")


@contextlib.contextmanager
def counted_ports(
    monkeypatch: pytest.MonkeyPatch,
    operations: OnOperation,
    speech: Callable[[InputGrammar], SpeechTurn | None] | None = None,
) -> Iterator[None]:
    """Every simulated call in the block runs on a :class:`CountingPort`."""

    def port(answerer: Answerer, echo: Echo | None = None) -> SimPort:
        return CountingPort(answerer, echo, operations, speech)

    with monkeypatch.context() as patch:
        patch.setattr(ivr.sim.runner, "SimPort", port)
        yield


async def run_scenario(
    scenario: Scenario, bench: Bench, library: FlowLibrary, backends: Backends | None = None
) -> ScenarioResult:
    """A scenario in the simulator on ``bench`` (its own backends unless given)."""
    chosen = backends if backends is not None else bench.backends()
    return await run_scenario_sim(scenario, bench.settings, library, bench.store, chosen)


# --- what must not be logged -------------------------------------------------------------


def errors_logged(records: Sequence[logging.LogRecord], allowed: Sequence[str] = ()) -> list[str]:
    """ERROR (and worse) records, or any record with a traceback, as text; a record whose
    message contains one of ``allowed`` is left out (unless it has a traceback)."""
    found = []
    for record in records:
        message = record.getMessage()
        if record.exc_info:
            found.append(f"{record.levelname} {record.name}: {message} (with a traceback)")
        elif record.levelno >= logging.ERROR and not any(a in message for a in allowed):
            found.append(f"{record.levelname} {record.name}: {message}")
    return found


# --- the real IVR app behind a FastAGI server ----------------------------------------


class SharedLibrary(LibraryHolder):
    """The session's loaded flows, as the app's library holder."""

    def __init__(self, library: FlowLibrary) -> None:
        self.current = library


class Served:
    """The IVR app behind its FastAGI server on a free port (the server logs what a
    call raises: a traceback in the log is a failure)."""

    def __init__(self, app: IvrApp, bench: Bench) -> None:
        self.app, self.bench = app, bench
        self.server = app.server

    @property
    def port(self) -> int:
        return self.server.port

    async def settled(self) -> None:
        """Wait until no connection and no call is left on the server side."""
        for _ in range(200):
            if not self.server._connections and self.server.active_calls == 0:
                return
            await asyncio.sleep(0.025)
        raise AssertionError(
            f"{len(self.server._connections)} connection(s) and {self.server.active_calls}"
            " call(s) still open on the server"
        )

    async def good_call(self) -> None:
        """PERIKSA, menyala, not reported before, an IDPEL, then 0: queued, all kept."""
        record = await asyncio.wait_for(
            place_call(HOST, self.port, CallScript(keys="122" + IDPEL + "0")), WAIT
        )
        assert record.ended is End.SERVER_CLOSED
        assert record.variables.get(var.ACTION) == var.ACTION_QUEUE, record.commands[-5:]
        assert record.variables[var.QUEUE] == "periksa"
        summary = self.bench.store.summary(record.variables[var.CALL_ID])
        assert summary is not None and summary.outcome == "queued"
        assert [a["ask"] for a in summary.answers] == [
            "menu",
            "power_state",
            "reported_before",
            "idpel",
        ]
        assert summary.screenpop is not None
