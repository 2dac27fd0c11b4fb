"""A locked or broken call store never stops a call: the event loop is held at most a
short bound, the caller goes to a CSO with the pop from memory, it is logged once, and
everything kept is written when the store works again.

The lock is taken by another process, as a CSO tool or a backup would take it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.interpreter import run_call
from ivr.engine.library import FlowLibrary, load_library
from ivr.engine.model import InputNode
from ivr.engine.port import Outcome
from ivr.kit import KIT
from ivr.sim.port import SimPort
from ivr.store.calls import CallStore
from ivr.tools.scenario.answerer import ScenarioAnswerer
from ivr.tools.scenario.model import load_scenario
from tests.flows.two_calls import check_all_stored, two_calls
from tests.support import OFFICE_HOURS, REPO

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
for line in sys.stdin:
    if line.strip() == "lock":
        conn.execute("BEGIN EXCLUSIVE")
    else:
        conn.execute("COMMIT")
    print("done", flush=True)
"""
#: How long the event loop may stall while the store is locked: the store's own bound
#: (50 ms) with room for a busy CI machine.
MAX_STALL = 0.25


class Locker:
    """Another process that locks the store file on demand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def _say(self, word: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{word}\n".encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 10)
        assert line.strip() == b"done"

    async def lock(self) -> None:
        await self._say("lock")

    async def release(self) -> None:
        await self._say("release")


class StallMeter:
    """The longest time the event loop went without running a ticker task."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

        self._last = time.monotonic()

    def _tick(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self._tick()

    def stop(self) -> None:
        """Stop; the time since the last tick counts too (a loop that never came back
        to the ticker stalled all along)."""
        self._tick()
        self._task.cancel()


@pytest.fixture
async def locker(tmp_path: Path) -> AsyncIterator[Locker]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOCKER,
        str(tmp_path / "calls.sqlite3"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    yield Locker(proc)
    assert proc.stdin is not None
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 10)


@pytest.fixture
def library() -> FlowLibrary:
    return load_library(REPO / "flows", REPO / "audio", KIT)


def saved_writes(folder: Path) -> list[list[object]]:
    """The writes a store saved beside its file when it stopped without storing them."""
    (saved,) = folder.glob("calls.sqlite3.unwritten-*.jsonl")
    return [json.loads(line) for line in saved.read_text().splitlines()]


def works_again(store: CallStore) -> asyncio.Event:
    """Set when the store reports it works again."""
    event = asyncio.Event()
    store.health.listeners.append(lambda ok: event.set() if ok else None)
    return event


async def test_a_store_locked_mid_call_sends_the_caller_to_a_cso_and_loses_nothing(
    tmp_path: Path, library: FlowLibrary, locker: Locker, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    seed(settings.db_path)
    store = CallStore(settings.db_path, retry_seconds=0.05)
    database = EmbeddedDatabase(settings.db_path, conn=store.connection, outage_poll_seconds=0)
    scenario = load_scenario(REPO / "tests" / "scenarios" / "periksa_dipandu_lengkap.yaml")
    answers = ScenarioAnswerer(scenario)
    asked: list[str] = []

    async def answerer(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        asked.append(ask)
        await asyncio.sleep(0)  # the simulator never waits: let the ticker run
        if len(asked) == 3:  # two answers are in the file; the third meets the lock
            await locker.lock()
        return await answers(flow, node, ask, attempt)

    meter = StallMeter()
    try:
        with caplog.at_level(logging.INFO):
            calls = await two_calls(settings, library, store, database, scenario, answerer)
    finally:
        meter.stop()
    assert calls.outcome is Outcome.QUEUED and calls.port.queue and calls.port.pop_id
    assert calls.other_port.queue and calls.other_port.pop_id and len(asked) == 3
    assert meter.longest < MAX_STALL, f"the loop stalled {meter.longest:.3f} s"
    assert not store.ok
    # The pop the CSO sees comes from memory, with every answer given.
    pop = store.kept_pops[calls.port.pop_id]
    given = [answer["value"] for answer in calls.ctx.answers]
    assert len(given) == 3
    assert all(value in json.dumps(pop) for value in given if len(value) > 3)
    failures = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(failures) == 1, "a failing store is logged once, not once per write"

    back = works_again(store)
    await locker.release()
    await asyncio.wait_for(back.wait(), 10)
    check_all_stored(store, calls, pop)
    database.close()
    store.close()


async def test_a_store_that_cannot_be_opened_keeps_the_process_up_and_its_writes(
    tmp_path: Path, library: FlowLibrary
) -> None:
    path = tmp_path / "calls.sqlite3"
    path.write_bytes(b"this is no SQLite database, it is a broken disk block\n" * 200)
    settings = Settings(db_path=path)
    store = CallStore(path)
    assert store.broken and not store.ok
    assert "not a database" in store.health.as_json()["reason"]

    async def silent(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        raise AssertionError("a caller is asked nothing while the store is broken")

    port = SimPort(silent)
    ctx = await open_call(
        settings, library, store, port, "main", "0215551234", clock=lambda: OFFICE_HOURS
    )
    assert await run_call(ctx) is Outcome.QUEUED
    assert port.queue and port.pop_id in store.kept_pops
    store.close()
    lines = saved_writes(tmp_path)
    assert any("INSERT INTO calls" in str(sql) for sql, _params, _many in lines)
    assert any("screenpops" in str(sql) for sql, _params, _many in lines)


async def test_a_wrong_value_in_the_variables_does_not_stop_the_call_ending(
    tmp_path: Path, library: FlowLibrary
) -> None:
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    store = CallStore(settings.db_path)

    async def hang_up(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        raise AssertionError("unreachable")

    port = SimPort(hang_up)
    ctx = await open_call(settings, library, store, port, "main", "0215551234")
    ctx.variables["bad"] = object()  # type: ignore[assignment]  # a broken action's value
    ctx.queue = 42  # type: ignore[assignment]
    await store.end_call(ctx.call_id, "queued", ctx.path, ctx.asks, ctx.queue, ctx.variables)
    summary = store.summary(ctx.call_id)
    assert summary is not None and summary.outcome == "queued" and summary.queue == "42"
    assert summary.variables["bad"].startswith("<object")
    store.close()
