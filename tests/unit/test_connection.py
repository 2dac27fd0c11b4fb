"""The FastAGI connection's bounds, over real sockets: the header block, answer lines,
lines nobody asked for, flow control; and the plain-answer parser against panoramisk's.

A raw socket plays Asterisk here, so each test can send exactly the bytes it needs.
Handlers hand what they saw to the test body through futures; every assertion is in
the test body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from panoramisk.utils import parse_agi_result

from ivr.agi.channel import AgiChannel
from ivr.agi.connection import (
    MAX_HEADER_BYTES,
    MAX_LINE_BYTES,
    MAX_PENDING_LINES,
    AgiConnection,
    parse_header_block,
)
from ivr.agi.errors import AgiProtocolError, CallerHungUp
from ivr.agi.request import plain_answer
from ivr.agi.server import FastAgiServer
from ivr.tools.testing.fake_asterisk import CallScript, header_lines
from tests.support import Outcome, handing_handler

HOST = "127.0.0.1"
WAIT = 5.0
HEADERS = ("".join(f"{line}\n" for line in header_lines(CallScript(), HOST, 4573)) + "\n").encode()


# -- the plain-answer shortcut gives panoramisk's dict ----------------------------------

PLAIN = [
    b"200 result=0",
    b"200 result=1",
    b"200 result=48",
    b"200 result=1234567890",
    b"200 result=0 endpos=0",
    b"200 result=35 endpos=81920",
    b"200 result=0\r",
    b"200 result=0 endpos=12\r",
]
NOT_PLAIN = [
    b"200 result=-1",
    b"200 result=-1 endpos=0",
    b"200 result= (timeout)",
    b"200 result=1 (PLN123)",
    b"200 result=0 endpos=",
    b"200 result=0  endpos=1",
    b"200 result=0 endpos=1 extra",
    b"200 result=12x",
    b"200 result=\xd9\xa3",  # an Arabic-Indic digit: left to panoramisk
    b"100 result=0 Trying...",
    b"510 Invalid or unknown command",
    b"520 Invalid command syntax.  Proper usage not available.",
    b"HANGUP",
    b"200 result=" + b"1" * 80,
]


@pytest.mark.parametrize("raw", PLAIN, ids=lambda raw: raw.decode(errors="replace"))
def test_a_plain_answer_is_the_dict_panoramisk_would_build(raw: bytes) -> None:
    line = raw.decode().rstrip("\r")
    expected = parse_agi_result(line) | {"raw": line}
    assert plain_answer(raw) == expected


@pytest.mark.parametrize("raw", NOT_PLAIN, ids=lambda raw: raw.decode(errors="replace")[:30])
def test_anything_else_is_left_to_panoramisk(raw: bytes) -> None:
    assert plain_answer(raw) is None


# -- the header block -------------------------------------------------------------------


def test_a_header_block_is_read_into_its_fields() -> None:
    headers = parse_header_block(HEADERS)
    assert headers["agi_network_script"] == "main"
    assert headers["agi_accountcode"] == ""
    assert parse_header_block(b"agi_request: agi://x/main\r\nagi_empty:\r\n\r\n") == {
        "agi_request": "agi://x/main",
        "agi_empty": "",
    }


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (b"GET / HTTP/1.1\nHost: x\n\n", "not an AGI header line"),
        (b"agi_channel: PJSIP/x\n\n", "without agi_request"),
        (b"agi_request: x\n" + b"agi_x: 1\n" * 200 + b"\n", "more than 200 header lines"),
    ],
    ids=["http", "no-request", "too-many-lines"],
)
def test_a_block_that_is_not_agi_is_refused(block: bytes, message: str) -> None:
    with pytest.raises(AgiProtocolError, match=message):
        parse_header_block(block)


# -- over real sockets --------------------------------------------------------------------

Handed = asyncio.Future[Outcome]
Start = Callable[..., Awaitable[tuple[FastAgiServer, Handed]]]


@pytest.fixture
async def serve() -> AsyncIterator[Start]:
    """Start a server whose handler runs ``drive`` and hands its outcome over."""
    servers: list[FastAgiServer] = []

    async def start(
        drive: Callable[[AgiChannel], Awaitable[Any]], **options: Any
    ) -> tuple[FastAgiServer, Handed]:
        handler, handed = handing_handler(drive)
        server = FastAgiServer(handler, host=HOST, port=0, **options)
        servers.append(server)
        await server.start()
        return server, handed

    yield start
    for server in servers:
        await server.shutdown(0)


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection."""
    return await asyncio.wait_for(reader.read(), WAIT)


async def test_a_peer_that_never_ends_its_header_block_is_cut_after_the_limit(
    serve: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr.agi.server")

    async def never(channel: AgiChannel) -> None:
        await channel.answer()

    server, handed = await serve(never, header_timeout=0.3)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(HEADERS[:100])
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = await _closed_by_server(reader)
    took = loop.time() - started
    writer.close()

    assert sent == b""
    assert 0.3 <= took < 0.3 + 2.0
    assert not handed.done()
    assert any(
        "sent no complete header block in time" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )


async def test_a_header_block_over_the_size_limit_is_refused(
    serve: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr.agi.server")

    async def never(channel: AgiChannel) -> None:
        await channel.answer()

    server, handed = await serve(never)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(b"agi_request: agi://x/main\n" + b"agi_x: " + b"y" * MAX_HEADER_BYTES)
    sent = await _closed_by_server(reader)
    writer.close()

    assert sent == b""
    assert not handed.done()
    assert any("header block longer than the limit" in r.getMessage() for r in caplog.records)


async def test_an_answer_in_the_same_packet_as_the_headers_is_kept(serve: Start) -> None:
    async def one(channel: AgiChannel) -> str | None:
        return await channel.wait_for_digit(1.0)

    server, handed = await serve(one)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(HEADERS + b"200 result=55\n")  # '7', before the command is even read
    command = await asyncio.wait_for(reader.readline(), WAIT)
    value, error = await asyncio.wait_for(handed, WAIT)
    await _closed_by_server(reader)
    writer.close()

    assert command == b"WAIT FOR DIGIT 1000\n"
    assert (value, error) == ("7", None)


async def test_an_answer_line_over_the_limit_is_a_protocol_error(serve: Start) -> None:
    async def one(channel: AgiChannel) -> None:
        await channel.answer()

    server, handed = await serve(one)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(HEADERS)
    assert await asyncio.wait_for(reader.readline(), WAIT) == b"ANSWER\n"
    writer.write(b"200 result=0 " + b"x" * MAX_LINE_BYTES)  # no line end yet
    _value, error = await asyncio.wait_for(handed, WAIT)
    await _closed_by_server(reader)
    writer.close()

    assert isinstance(error, AgiProtocolError)
    assert "too long" in str(error)


async def test_a_flood_of_lines_nobody_asked_for_ends_the_call(serve: Start) -> None:
    release = asyncio.Event()

    async def waits(channel: AgiChannel) -> None:
        await release.wait()  # not reading: the lines pile up
        await channel.answer()

    server, handed = await serve(waits)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(HEADERS + b"200 result=0\n" * (MAX_PENDING_LINES + 1))
    await _closed_by_server(reader)
    release.set()
    _value, error = await asyncio.wait_for(handed, WAIT)
    writer.close()

    assert isinstance(error, AgiProtocolError)
    assert "no command asked for" in str(error)


async def test_lines_received_before_the_peer_closed_are_still_read(serve: Start) -> None:
    async def two(channel: AgiChannel) -> list[str | None]:
        keys = [await channel.wait_for_digit(1.0)]
        try:
            keys.append(await channel.wait_for_digit(1.0))
        except CallerHungUp:
            keys.append(None)
        return keys

    server, handed = await serve(two)
    _reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(HEADERS + b"200 result=49\n")
    writer.close()  # the answer, then the end of the connection
    value, error = await asyncio.wait_for(handed, WAIT)

    assert error is None
    assert value == ["1", None]


# -- flow control -----------------------------------------------------------------------


class _Transport(asyncio.Transport):
    """Just enough transport to write to and pause."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return (HOST, 12345) if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True


class _Owner:
    header_timeout = 5.0

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    def allowed(self, peer: str) -> bool:
        return True

    def start_call(self, connection: AgiConnection, headers: dict[str, str]) -> None:
        self.calls.append(headers)

    def forget(self, connection: AgiConnection) -> None:
        pass


async def test_a_paused_transport_holds_the_writer_until_it_resumes() -> None:
    owner = _Owner()
    connection = AgiConnection(owner)
    transport = _Transport()
    connection.connection_made(transport)
    connection.data_received(HEADERS)
    assert len(owner.calls) == 1

    connection.pause_writing()
    assert connection.write_paused
    drained = asyncio.ensure_future(connection.drain())
    await asyncio.sleep(0)
    assert not drained.done()
    connection.resume_writing()
    await asyncio.wait_for(drained, WAIT)

    connection.pause_writing()
    drained = asyncio.ensure_future(connection.drain())
    await asyncio.sleep(0)
    connection.connection_lost(None)  # a writer never waits on a connection that is gone
    await asyncio.wait_for(drained, WAIT)
    with pytest.raises(CallerHungUp):
        await connection.next_line()
