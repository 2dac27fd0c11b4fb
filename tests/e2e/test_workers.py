"""``pln123 serve --workers 2`` under real calls through the sandbox Asterisk.

The dialplan's first FastAGI address has nothing listening: every call here reaches
the workers at the second one. A worker killed with SIGKILL mid-call leaves its caller
to the dialplan's fallback queue with its pop (the web process, not the worker, shows
it), is started again, and has its open calls closed, while the other worker's call
goes on untouched.

This module runs an Asterisk and an IVR of its own, since it kills a worker.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from ivr.agi import variables as var
from ivr.agi.server import FastAgiServer
from ivr.asterisk.ami import AmiClient, AmiEvent, ivr_leg_id
from ivr.backends.demo import seed
from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.engine.model import InputNode
from ivr.kit import KIT
from ivr.tools.sandbox import AsteriskSandbox, free_port
from ivr.tools.sandbox_env import sandbox_from_settings, serve_env
from ivr.tools.scenario.keys import keys_for
from ivr.tools.scenario.via_asterisk import CallerBots
from ivr.worker_id import this_host
from tests.e2e.conftest import REPO, sandbox_settings
from tests.support import OFFICE_HOURS, IvrProcess

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

STEP = 20.0
CALLER = "081234567890"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    agents = {
        "cso1": {
            "name": "Agen cso1",
            "token": "t" * 20,
            "interface": "Local/cso1@pln123-test-agents/n",
            "queues": ["umum"],
        }
    }
    return sandbox_settings(tmp_path_factory.mktemp("workers"), queue_max_wait=30, agents=agents)


@pytest.fixture(scope="module")
def dead_address() -> str:
    """A loopback port nothing listens on."""
    port = free_port()
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
    return f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def sandbox(settings: Settings, dead_address: str) -> Iterator[AsteriskSandbox]:
    """The sandbox whose dialplan tries the dead address first, then the workers'."""
    box = sandbox_from_settings(settings)
    box.agi_addresses = (dead_address, f"127.0.0.1:{settings.agi.port}")
    box.provision()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="module")
def ivr(sandbox: AsteriskSandbox, settings: Settings) -> Iterator[IvrProcess]:
    seed(settings.db_path)
    server = IvrProcess(serve_env(settings), REPO, ("--workers", "2"))
    try:
        server.wait_for_log("agents are in their queues (login 1)", timeout=30)
        while sum("serving FastAGI" in line for line in server.log) < 2:
            server.wait_for_line("serving FastAGI", timeout=30)
        yield server
    finally:
        server.stop()


def query(db: Path, sql: str, *params: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute(sql, params))


async def delivered(db: Path, pop_id: str) -> None:
    """Wait until the web process has recorded the pop ringing at cso1."""
    for _ in range(100):
        if query(db, "SELECT agent FROM pop_deliveries WHERE pop_id = ?", pop_id):
            break
        await asyncio.sleep(0.1)
    assert query(db, "SELECT agent FROM pop_deliveries WHERE pop_id = ?", pop_id) == [("cso1",)]


@dataclass
class HeldCall:
    test_id: str
    call_id: str
    worker: str


class Calls:
    """Test calls placed over AMI whose caller keys what it is told."""

    def __init__(self, settings: Settings, ami: AmiClient, bots: CallerBots, bot_url: str):
        self.settings, self.ami, self.bots, self.bot_url = settings, ami, bots, bot_url
        self.library = load_library(settings.flows_dir, settings.audio_dir, KIT)
        #: Calls hung up by the test, by the worker (``host:pid``) that held them.
        self.hung_up: collections.Counter[str] = collections.Counter()

    async def event(self, test_id: str, kind: str, since: int) -> AmiEvent:
        leg = ivr_leg_id(test_id)
        return await self.ami.wait_for_event(
            lambda e: e.get("uniqueid") == leg and kind in (e.name, e.get("userevent")),
            STEP,
            since=since,
        )

    async def held_at_menu(self) -> HeldCall:
        """A call the IVR holds at the main menu."""
        since = self.ami.mark
        # In office hours, whatever the time: the CSO queues are open.
        at = {f"__{var.TEST_AT}": OFFICE_HOURS.isoformat()}
        test_id = await self.ami.originate_test_call(CALLER, self.bot_url, at)
        start = await self.event(test_id, "PLN123CallStart", since)
        await self.event(test_id, "PLN123Listen", since)
        call_id = start.get("callid")
        ((worker,),) = query(
            self.settings.db_path, "SELECT worker FROM calls WHERE id = ?", call_id
        )
        return HeldCall(test_id, call_id, str(worker))

    async def hang_up(self, call: HeldCall) -> None:
        """Hang up a held call (the caller leaves at the menu)."""
        await self.ami.hangup_call(call.test_id)
        self.hung_up[call.worker] += 1

    def press(self, call: HeldCall, ask: str, value: str) -> None:
        node = self.library.flows["main"].flow.nodes["menu"]
        assert isinstance(node, InputNode)
        self.bots.line(call.test_id).keys.put_nowait(keys_for(node, ask, value))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def calls(settings: Settings, ivr: IvrProcess) -> AsyncIterator[Calls]:
    bots = CallerBots()
    bot_server = FastAgiServer(bots.handle, port=settings.agi.callerbot_port)
    await bot_server.start()
    ami = await AmiClient.connect(
        settings.ami.host,
        settings.ami.port,
        settings.ami.user,
        settings.ami.secret.get_secret_value(),
    )
    try:
        yield Calls(settings, ami, bots, f"agi://127.0.0.1:{bot_server.port}/callerbot")
    finally:
        for line in bots.lines.values():
            line.keys.put_nowait(None)
        await ami.close()
        await bot_server.shutdown(grace=2.0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def one_on_each(calls: Calls) -> dict[str, HeldCall]:
    """A call held by each worker (the kernel picks the worker: calls are placed until
    both hold one; the extra ones are hung up)."""
    held: dict[str, HeldCall] = {}
    for _ in range(12):
        call = await calls.held_at_menu()
        if call.worker in held:
            await calls.hang_up(call)
        held.setdefault(call.worker, call)
        if len(held) == 2:
            return held
    raise AssertionError(f"every call went to one worker: {list(held)}")


async def test_two_workers_take_calls_at_the_second_address(
    one_on_each: dict[str, HeldCall], ivr: IvrProcess
) -> None:
    pids = {int(w.rsplit(":", 1)[1]) for w in one_on_each}
    assert len(pids) == 2 and ivr.proc.pid not in pids


async def test_calls_on_both_workers_show_in_metrics_by_worker(
    one_on_each: dict[str, HeldCall], calls: Calls, settings: Settings
) -> None:
    # A call ended on each worker: placed and hung up at the menu until both had one.
    for _ in range(12):
        if len(calls.hung_up) == 2:
            break
        await calls.hang_up(await calls.held_at_menu())
    assert len(calls.hung_up) == 2, f"every call went to one worker: {calls.hung_up}"
    web = Web(settings)
    names = {
        f"{this_host()}:{entry['pid']}": name
        for name, entry in (await web.health())["workers"].items()
    }
    ended = {names[worker]: count for worker, count in calls.hung_up.items()}
    held = collections.Counter(names[call.worker] for call in one_on_each.values())
    assert sorted(ended) == sorted(held) == ["agi-1", "agi-2"]

    async def counted() -> bool:
        got = await web.metrics()
        return (
            by_worker(got, "pln123_calls_total") == ended
            and by_worker(got, "pln123_active_calls") == held
        )

    await until(counted, "the calls ended on each worker are counted under its label")
    got = await web.metrics()
    assert sum(by_worker(got, "pln123_calls_total").values()) == sum(calls.hung_up.values())
    assert by_worker(got, "pln123_agi_command_seconds_count").keys() == {"agi-1", "agi-2"}
    assert by_worker(got, "pln123_workers_up") == {None: 2.0}


async def test_a_killed_worker_s_caller_reaches_the_cso_with_the_pop_and_it_comes_back(
    one_on_each: dict[str, HeldCall], calls: Calls, ivr: IvrProcess, settings: Settings
) -> None:
    cut, other = one_on_each.values()
    db = settings.db_path
    since = calls.ami.mark
    calls.press(cut, "menu", "periksa")
    await calls.event(cut.test_id, "PLN123Listen", since)  # the next question: stored
    os.kill(int(cut.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    joined = await calls.event(cut.test_id, "QueueCallerJoin", since)
    assert joined.get("queue") == "umum"
    assert joined.variables.get("PLN123_QUEUE_REASON") == "fallback"
    assert joined.variables.get("PLN123_POP_ID") == cut.call_id  # not a fresh flow run
    # The supervisor closes the dead worker's call, and only that one.
    await asyncio.to_thread(ivr.wait_for_log, f"of worker {cut.worker} were cut", 10)
    ((outcome, reason),) = query(
        db, "SELECT outcome, cso_reason FROM calls WHERE id = ?", cut.call_id
    )
    assert (outcome, reason) == ("queued", "error")
    assert query(db, "SELECT ended_at FROM calls WHERE id = ?", other.call_id) == [(None,)]
    # The other worker's call goes on: to a CSO by the caller's choice.
    since_other = calls.ami.mark
    calls.press(other, "menu", "cso")
    # The web process pops the cut call on cso1's page: the answers the dead worker
    # stored; and the other call's pop, stored by the other worker.
    for call in (cut, other):
        await calls.ami.wait_for_event(
            lambda e, pop=call.call_id: (
                e.name == "AgentCalled" and e.variables.get("PLN123_POP_ID") == pop
            ),
            STEP,
            since=since,
        )
        await delivered(db, call.call_id)
    ((pop,),) = query(db, "SELECT data FROM screenpops WHERE id = ?", cut.call_id)
    assert '"menu"' in str(pop) and "periksa" in str(pop)
    joined = await calls.event(other.test_id, "QueueCallerJoin", since_other)
    assert joined.variables.get("PLN123_QUEUE_REASON") == "ivr"
    ((outcome, reason),) = query(
        db, "SELECT outcome, cso_reason FROM calls WHERE id = ?", other.call_id
    )
    assert outcome == "queued" and reason != "error"
    # The killed worker is started again and serves.
    await asyncio.to_thread(ivr.wait_for_log, "was killed by SIGKILL", 10)
    await asyncio.to_thread(ivr.wait_for_line, "serving FastAGI", 15)


async def test_a_hung_then_killed_worker_degrades_health_until_it_is_started_again(
    ivr: IvrProcess, settings: Settings
) -> None:
    web = Web(settings)

    async def all_up() -> bool:
        health = await web.health()
        return health["status"] == "ok" and all(w["up"] for w in health["workers"].values())

    await until(all_up, "both workers answer")
    pid = (await web.health())["workers"]["agi-1"]["pid"]
    os.kill(pid, signal.SIGSTOP)  # hung: alive, its loop answers nothing
    try:

        async def degraded() -> bool:
            health = await web.health()
            agi_1 = health["workers"]["agi-1"]
            return health["status"] == "degraded" and not agi_1["up"] and agi_1["pid"] == pid

        await until(degraded, "/healthz says agi-1 is down")
        got = await web.metrics()  # the scrape goes on without it
        assert by_worker(got, "pln123_workers_up") == {None: 1.0}
        assert by_worker(got, "pln123_worker_up") == {"agi-1": 0.0, "agi-2": 1.0}
        assert "agi-1" not in by_worker(got, "pln123_active_calls")
    finally:
        os.kill(pid, signal.SIGKILL)  # the supervisor starts it again

    async def back() -> bool:
        health = await web.health()
        return health["status"] == "ok" and health["workers"]["agi-1"]["pid"] not in (pid, None)

    await until(back, "agi-1 is started again and answers")
    got = await web.metrics()
    assert by_worker(got, "pln123_workers_up") == {None: 2.0}
    assert "agi-1" in by_worker(got, "pln123_active_calls")


# --- /metrics and /healthz of the web process -----------------------------------------


class Web:
    """The web process's /metrics and /healthz."""

    def __init__(self, settings: Settings) -> None:
        self.base = f"http://127.0.0.1:{settings.web.port}"

    async def _get(self, path: str) -> str:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(self.base + path) as response,
        ):
            assert response.status == 200
            return await response.text()

    async def health(self) -> dict[str, Any]:
        data = json.loads(await self._get("/healthz"))
        assert isinstance(data, dict) and {"status", "ami", "store", "workers"} <= data.keys()
        return data

    async def metrics(self) -> list[Metric]:
        """The families of /metrics, parsed by prometheus_client."""
        return list(text_string_to_metric_families(await self._get("/metrics")))


def by_worker(families: list[Metric], sample: str) -> dict[str | None, float]:
    """The values of the samples named ``sample``, summed by their ``worker`` label."""
    sums: dict[str | None, float] = collections.defaultdict(float)
    for family in families:
        for found in family.samples:
            if found.name == sample:
                sums[found.labels.get("worker")] += found.value
    return dict(sums)


async def until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 15) -> None:
    """Wait for ``condition``, asking again every 0.2 s; fail after ``timeout`` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.2)
