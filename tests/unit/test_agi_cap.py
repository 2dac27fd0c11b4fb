"""The cap on concurrent FastAGI connections: one over it is closed at once (before its
header block), a burst of refusals logged once when it starts and once when it ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from ivr.agi.channel import AgiChannel
from ivr.agi.server import MAX_CONNECTIONS, FastAgiServer
from ivr.config import AgiSettings

HEADERS = b"agi_network_script: main\nagi_request: agi://127.0.0.1/main\nagi_uniqueid: 1.%d\n\n"


class Held:
    """A handler that keeps each call open until :attr:`release` is set."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.changed = asyncio.Condition()

    async def __call__(self, channel: AgiChannel) -> None:
        async with self.changed:
            self.calls.append(channel.headers.get("agi_uniqueid", ""))
            self.changed.notify_all()
        await self.release.wait()

    async def until(self, test: Callable[[], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(test), 5)


@pytest.fixture
async def held() -> Held:
    return Held()


@pytest.fixture
async def server(held: Held) -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(held, port=0, max_connections=2, refusal_window=0.05)
    await server.start()
    yield server
    held.release.set()
    await server.shutdown(1.0)


async def call(server: FastAgiServer, n: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(HEADERS % n)
    await writer.drain()
    return reader, writer


async def closed_at_once(reader: asyncio.StreamReader) -> bool:
    """True when the server closed the connection without a word."""
    try:
        return await asyncio.wait_for(reader.read(), 2) == b""
    except ConnectionResetError:
        return True


class CapLines(logging.Handler):
    """The cap's log lines as they come (the burst's end is logged from a timer)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.grew = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "cap of" in record.getMessage():
            self.lines.append(record.getMessage())
            self.grew.set()

    async def wait_for(self, count: int) -> list[str]:
        while len(self.lines) < count:
            self.grew.clear()
            await asyncio.wait_for(self.grew.wait(), 5)
        return self.lines


@pytest.fixture
async def cap_lines() -> AsyncIterator[CapLines]:
    handler = CapLines()
    logger = logging.getLogger("ivr.agi.server")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def test_connections_over_the_cap_are_closed_at_once_and_logged_per_burst(
    server: FastAgiServer, held: Held, caplog: pytest.LogCaptureFixture, cap_lines: CapLines
) -> None:
    caplog.set_level(logging.INFO, logger="ivr.agi.server")
    served = [await call(server, n) for n in (1, 2)]
    await held.until(lambda: len(held.calls) == 2)

    over = [await call(server, n) for n in (3, 4, 5)]
    assert [await closed_at_once(reader) for reader, _ in over] == [True] * 3
    assert server.refused == 3
    assert held.calls == ["1.1", "1.2"]  # the refused ones never reached the handler
    start, end = await cap_lines.wait_for(2)
    assert "at the cap of 2 connections" in start
    assert end.startswith("FastAGI: 3 connections refused over the cap of 2 in the last")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]
    # Nothing about a peer closing before its header block: the refused were never read.
    assert not [r for r in caplog.records if "before the header block" in r.getMessage()]

    # The two served calls end; new calls are served again.
    held.release.set()
    for reader, writer in served:
        assert await closed_at_once(reader)
        writer.close()
    for _, writer in over:
        writer.close()
    held.release.clear()
    await held.until(lambda: server.active_calls == 0)
    again = [await call(server, n) for n in (6, 7)]
    await held.until(lambda: held.calls[-2:] == ["1.6", "1.7"])
    held.release.set()
    for reader, writer in again:
        assert await closed_at_once(reader)
        writer.close()
    assert server.refused == 3


async def test_a_second_burst_is_logged_again(
    server: FastAgiServer, held: Held, cap_lines: CapLines
) -> None:
    served = [await call(server, n) for n in (1, 2)]
    await held.until(lambda: len(held.calls) == 2)
    for burst in (1, 2):
        reader, writer = await call(server, 10 + burst)
        assert await closed_at_once(reader)
        writer.close()
        lines = await cap_lines.wait_for(2 * burst)
        assert len(lines) == 2 * burst
        assert lines[-1].startswith("FastAGI: 1 connections refused over the cap of 2")
    for _, writer in served:
        writer.close()


def test_the_default_cap_leaves_room_for_the_hold_bench() -> None:
    assert AgiSettings().max_connections == MAX_CONNECTIONS == 2000
    assert AgiSettings().max_connections > 1000  # pln123 bench agi --hold 1000
