"""FastAgiServer against a fake Asterisk over real sockets: cuts, refusals, shutdown, a call.

Handlers hand what they saw to the test body through futures; every assertion is in
the test body (the server logs and swallows what a handler raises).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ivr.agi import variables as var
from ivr.agi.channel import AgiChannel
from ivr.agi.errors import CallerHungUp
from ivr.agi.server import CallHandler, FastAgiServer
from ivr.app import IvrApp
from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine.library import LibraryHolder
from ivr.kit import KIT
from ivr.store.calls import CallStore
from ivr.tools.testing.fake_asterisk import CallScript, End, Fault, place_call

HOST = "127.0.0.1"
WAIT = 5.0
REPO = Path(__file__).resolve().parents[2]

StartServer = Callable[..., Awaitable[FastAgiServer]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Start a FastAgiServer on a free port; every one is shut down after the test."""
    servers: list[FastAgiServer] = []

    async def start(handler: CallHandler, **options: Any) -> FastAgiServer:
        server = FastAgiServer(handler, host=HOST, port=0, **options)
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.shutdown(0)


class Calls:
    """A handler that answers one command and hands each call's result to a queue."""

    def __init__(self) -> None:
        self.results: asyncio.Queue[tuple[str, BaseException | None]] = asyncio.Queue()
        self.count = 0

    async def handler(self, channel: AgiChannel) -> None:
        self.count += 1
        uniqueid = channel.headers.get("agi_uniqueid", "?")
        try:
            await channel.set_variable("SEEN", uniqueid)
            await channel.set_variable("AGAIN", uniqueid)
        except BaseException as exc:
            self.results.put_nowait((uniqueid, exc))
            raise
        self.results.put_nowait((uniqueid, None))

    async def next_result(self) -> tuple[str, BaseException | None]:
        return await asyncio.wait_for(self.results.get(), WAIT)


async def test_a_cut_in_the_middle_of_a_command_is_a_hangup_and_the_server_goes_on(
    start_server: StartServer,
) -> None:
    calls = Calls()
    server = await start_server(calls.handler)

    cut = await asyncio.wait_for(
        place_call(HOST, server.port, CallScript(uniqueid="cut.1", faults={2: Fault.CLOSE})), WAIT
    )
    uniqueid, error = await calls.next_result()
    assert cut.ended is End.CUT
    assert len(cut.commands) == 2
    assert uniqueid == "cut.1"
    assert isinstance(error, CallerHungUp)

    fine = await asyncio.wait_for(place_call(HOST, server.port, CallScript(uniqueid="ok.2")), WAIT)
    assert await calls.next_result() == ("ok.2", None)
    assert fine.variables == {"SEEN": "ok.2", "AGAIN": "ok.2"}
    assert fine.ended is End.SERVER_CLOSED


@pytest.mark.parametrize("lines_sent", [0, 3])
async def test_a_cut_in_the_header_block_never_reaches_the_handler(
    start_server: StartServer, caplog: pytest.LogCaptureFixture, lines_sent: int
) -> None:
    caplog.set_level(logging.DEBUG)
    calls = Calls()
    server = await start_server(calls.handler)

    cut = await asyncio.wait_for(
        place_call(HOST, server.port, CallScript(cut_header_after=lines_sent)), WAIT
    )
    fine = await asyncio.wait_for(place_call(HOST, server.port, CallScript(uniqueid="ok.1")), WAIT)
    assert await calls.next_result() == ("ok.1", None)
    await asyncio.wait_for(server.shutdown(WAIT), WAIT)  # every connection task has ended

    assert cut.ended is End.CUT
    assert cut.commands == []
    assert fine.variables["SEEN"] == "ok.1"
    assert calls.count == 1
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert any("closed before the header block ended" in r.getMessage() for r in caplog.records)


async def test_a_peer_outside_the_allowlist_is_refused_with_a_log_line(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr.agi.server")
    calls = Calls()
    server = await start_server(calls.handler, allow=["10.0.0.1"])

    record = await asyncio.wait_for(place_call(HOST, server.port), WAIT)
    await asyncio.wait_for(server.shutdown(WAIT), WAIT)

    assert record.commands == []
    assert record.ended is End.SERVER_CLOSED
    assert calls.count == 0
    refusals = [r for r in caplog.records if "refused FastAGI connection" in r.getMessage()]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.WARNING
    assert "127.0.0.1" in refusals[0].getMessage()


class Blocking:
    """A handler that blocks after its first command, reporting how it ended.

    It blocks on ``release``, or (``in_command``) in a command Asterisk never answers.
    """

    def __init__(self, in_command: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.in_command = in_command
        self.waiting: asyncio.Future[asyncio.Task[Any] | None] = loop.create_future()
        self.ended: asyncio.Future[str] = loop.create_future()
        self.release = asyncio.Event()

    async def handler(self, channel: AgiChannel) -> None:
        try:
            await channel.set_variable("STATE", "busy")
            self.waiting.set_result(asyncio.current_task())
            if self.in_command:
                await channel.wait_for_digit(30)
            else:
                await self.release.wait()
            await channel.set_variable("STATE", "done")
        except BaseException as exc:
            self.ended.set_result(type(exc).__name__)
            raise
        self.ended.set_result("finished")


@pytest.mark.parametrize("in_command", [False, True], ids=["in-handler", "in-agi-command"])
async def test_shutdown_cancels_a_call_still_running_after_the_grace_period(
    start_server: StartServer, in_command: bool
) -> None:
    grace = 0.3
    blocking = Blocking(in_command)
    server = await start_server(blocking.handler)
    script = CallScript(faults={2: Fault.SILENT}) if in_command else CallScript()
    caller = asyncio.create_task(place_call(HOST, server.port, script))
    task = await asyncio.wait_for(blocking.waiting, WAIT)

    started = time.monotonic()
    await asyncio.wait_for(server.shutdown(grace), WAIT)
    elapsed = time.monotonic() - started
    record = await asyncio.wait_for(caller, WAIT)

    assert grace <= elapsed < grace + 1.0
    assert blocking.ended.result() == "CancelledError"
    assert task is not None
    assert task.done()
    assert task.cancelled()  # CancelledError went all the way up, not swallowed
    assert record.variables == {"STATE": "busy"}
    assert record.ended is End.SERVER_CLOSED
    assert server.active_calls == 0


async def test_shutdown_lets_a_call_finish_within_the_grace_period(
    start_server: StartServer,
) -> None:
    blocking = Blocking()
    server = await start_server(blocking.handler)
    caller = asyncio.create_task(place_call(HOST, server.port))
    task = await asyncio.wait_for(blocking.waiting, WAIT)

    shutdown = asyncio.create_task(server.shutdown(WAIT))
    await asyncio.sleep(0)  # one turn: shutdown has stopped listening and waits for the call
    assert not shutdown.done()
    with pytest.raises(OSError):
        await asyncio.wait_for(place_call(HOST, server.port), WAIT)
    blocking.release.set()
    await asyncio.wait_for(shutdown, WAIT)
    record = await asyncio.wait_for(caller, WAIT)

    assert blocking.ended.result() == "finished"
    assert task is not None
    assert task.done() and not task.cancelled()
    assert record.variables == {"STATE": "done"}


async def test_the_main_flow_queues_a_caller_who_gives_an_idpel(
    start_server: StartServer, tmp_path: Path
) -> None:
    """PERIKSA: menyala, not reported before, an IDPEL, then 0 at the address question."""
    settings = Settings(db_path=tmp_path / "x.db")
    seed(settings.db_path)
    store = CallStore(settings.db_path)
    database = EmbeddedDatabase(settings.db_path)
    try:
        library = LibraryHolder(REPO / "flows", REPO / "audio", KIT)
        app = IvrApp(settings, library, store, database.backends())
        handed: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

        async def handler(channel: AgiChannel) -> None:
            try:
                await app.handle_call(channel)
            except BaseException as exc:
                handed.set_result(exc)
                raise
            handed.set_result(None)

        server = await start_server(handler)
        record = await asyncio.wait_for(
            place_call(HOST, server.port, CallScript(keys="122" + "532110987654" + "0")), WAIT
        )
        assert await asyncio.wait_for(handed, WAIT) is None

        assert record.ended is End.SERVER_CLOSED
        assert record.keys_left == ""
        assert record.variables[var.ACTION] == var.ACTION_QUEUE
        assert record.variables[var.QUEUE] == "periksa"
        call_id = record.variables[var.CALL_ID]
        assert record.variables[var.POP_ID]
        summary = store.summary(call_id)
        assert summary is not None
        assert summary.outcome == "queued"
        assert summary.queue == "periksa"
        assert [(a["ask"], a["value"]) for a in summary.answers] == [
            ("menu", "periksa"),
            ("power_state", "menyala"),
            ("reported_before", "tidak"),
            ("idpel", "532110987654"),
        ]
        assert summary.screenpop is not None
        assert summary.screenpop["apkt"]["address"].startswith("Jl.")
        # The action is the commit: it is the last variable the IVR sets.
        sets = [c for c in record.commands if c.startswith("SET VARIABLE")]
        assert sets[-1] == f'SET VARIABLE "{var.ACTION}" "{var.ACTION_QUEUE}"'
    finally:
        database.close()
        store.close()
