"""Hostile bytes on the FastAGI port of the real IVR app (flows, store, backends).

After each: the server is still up, a well-formed call (PERIKSA, an IDPEL, then 0) is
answered and queued with its answers and its pop, no connection is left behind
(the server's connection set is empty once the peers are gone), and nothing is logged
with a traceback. Header blocks that parse but carry absurd or invalid UTF-8 values are
answered as Asterisk would (every command gets ``200``), so their calls run: each ends
with an outcome in the store.

``PLN123_IDLE_CONNECTIONS`` (default 500) sets how many idle connections are opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import resource
from collections.abc import Callable

import pytest

from ivr.tools.testing.fake_asterisk import CallScript, header_lines
from tests.fault.harness import HEADER_TIMEOUT, HOST, OUTCOMES, WAIT, Served, env_int

IDLE = env_int("PLN123_IDLE_CONNECTIONS", 500)
SEED = env_int("PLN123_FUZZ_SEED", 20260302)


async def send_and_close(port: int, data: bytes, linger: float = 0.2) -> bytes:
    """Write ``data``, read what comes back for ``linger`` seconds, close."""
    reader, writer = await asyncio.open_connection(HOST, port)
    got = b""
    try:
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            got = await asyncio.wait_for(reader.read(65536), linger)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return got


async def converse(port: int, block: bytes) -> list[str]:
    """Send a header block, then answer every command as a live channel would, until
    the server closes the connection; the commands received."""
    reader, writer = await asyncio.open_connection(HOST, port)
    commands: list[str] = []
    try:
        writer.write(block)
        while True:
            line = await asyncio.wait_for(reader.readline(), WAIT)
            if not line.endswith(b"\n"):
                return commands
            command = line.decode("utf-8", "replace").strip()
            commands.append(command)
            if command.upper().startswith("HANGUP"):
                writer.write(b"200 result=1\n")
                return commands
            reply = b"200 result=1\n" if command.startswith("SET VARIABLE") else b"200 result=0\n"
            writer.write(reply)
            await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


def good_block(**changes: str) -> list[str]:
    lines = header_lines(CallScript(), HOST, 4573)
    return [
        f"{key}: {changes.pop(key)}" if (key := line.split(":", 1)[0]) in changes else line
        for line in lines
    ] + [f"{key}: {value}" for key, value in changes.items()]


def block(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n\n").encode("utf-8", "surrogateescape")


def randbytes(name: str, count: int) -> bytes:
    """``count`` random bytes of their own seed (``PLN123_FUZZ_SEED`` and ``name``)."""
    return random.Random(f"{SEED}-{name}").randbytes(count)


#: Bytes that are no AGI at all, or a header block the server must cut.
JUNK: dict[str, Callable[[], bytes]] = {
    "random_bytes": lambda: randbytes("random", 256 * 1024),
    "random_bytes_with_blank_lines": lambda: (
        randbytes("before", 4096) + b"\n\n" + randbytes("after", 4096)
    ),
    "one_megabyte_line": lambda: b"agi_network_script: " + b"m" * (1024 * 1024) + b"\n\n",
    "one_megabyte_no_newline": lambda: b"x" * (1024 * 1024),
    "nul_bytes": lambda: b"\0" * 65536 + b"\n\n",
    "nul_in_headers": lambda: block(good_block(agi_network_script="ma\0in")).replace(
        b"agi_channel", b"agi_\0channel"
    ),
    "header_block_never_ends": lambda: b"".join(
        f"agi_var_{i}: {'v' * 40}\n".encode() for i in range(5000)
    ),
    "too_many_header_lines": lambda: block(good_block() + [f"agi_x{i}: y" for i in range(400)]),
    "http_request": lambda: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "crlf_only": lambda: b"\r\n" * 100_000,
}


@pytest.mark.parametrize("name", list(JUNK))
async def test_junk_on_the_agi_port_leaves_the_server_serving(
    name: str, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    print(f"PLN123_FUZZ_SEED={SEED}")  # shown when the test fails
    await send_and_close(served.port, JUNK[name]())
    await served.good_call()
    await served.settled()
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


async def test_a_header_block_that_never_ends_is_cut_in_time(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """A peer that sends a header line now and then, and never the blank line."""
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection(HOST, served.port)
    closed_after = None
    try:
        for i in range(40):
            writer.write(f"agi_line_{i}: still coming\n".encode())
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                    closed_after = i
                    break
    finally:
        writer.close()
    assert closed_after is not None, "the server never cut a header block that never ends"
    assert closed_after * 0.1 < HEADER_TIMEOUT + 1.0
    assert any("no complete header block in time" in r.getMessage() for r in caplog.records)
    await served.good_call()
    await served.settled()


#: Header blocks that parse as AGI but carry values no Asterisk sends.
ABSURD: dict[str, list[str]] = {
    "invalid_utf8_everywhere": good_block(
        agi_callerid="08\udcff\udcfe1234",
        agi_calleridname="\udcc3(",
        agi_uniqueid="\udce2\udc82",
        agi_network_script="main",
    ),
    "invalid_utf8_script": good_block(
        agi_network_script="ma\udcffin", agi_request="agi://x/\udcfe"
    ),
    "huge_caller_id": good_block(agi_callerid="9" * 30_000),
    "script_path_tricks": good_block(
        agi_network_script="../../../etc/passwd?x=%00", agi_request="agi://h:99999999/%2e%2e/"
    ),
    "unknown_flow": good_block(agi_network_script="tidak_ada"),
    "subflow_as_entry": good_block(agi_network_script="periksa"),
    "callback_flow_with_absurd_args": good_block(
        agi_network_script="panggilan_balik",
        agi_arg_1="'; DROP TABLE calls; --",
        agi_arg_2="x" * 5000,
        agi_arg_3="{caller}{idpel}",
    ),
    "many_args": good_block(**{f"agi_arg_{i}": str(i) for i in range(1, 150)}),
    "empty_values": [f"{line.split(':', 1)[0]}:" for line in good_block()],
    "negative_and_huge_numbers": good_block(
        agi_priority="-99999999999999999999", agi_threadid="1e400", agi_callingpres="NaN"
    ),
    "duplicate_headers": [*good_block(), "agi_network_script: tambah_daya", "agi_callerid: 0"],
}


@pytest.mark.parametrize("name", list(ABSURD))
async def test_absurd_header_values_end_as_a_call_with_an_outcome(
    name: str, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = len(served.bench.calls())
    commands = await converse(served.port, block(ABSURD[name]))
    await served.settled()
    calls = served.bench.calls()[before:]
    if commands:  # the call ran: it has a record with an outcome
        assert len(calls) == 1, commands[:5]
        ((call_id, outcome),) = calls
        assert outcome in OUTCOMES
        if outcome == "queued":
            assert served.bench.has_pop(call_id)
    else:  # refused as no AGI
        assert calls == []
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    await served.good_call()


def room_for(connections: int) -> int:
    """``connections`` idle peers (two sockets each in this process), or as many as the
    open-file limit allows after raising it to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * connections + 256
    if soft < wanted and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return min(connections, (soft - 256) // 2)


async def open_idle(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    for _ in range(count):
        _reader, writer = await asyncio.open_connection(HOST, port)
        writers.append(writer)
    return writers


async def close_all(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


async def test_idle_connections_do_not_stop_calls_and_are_all_let_go(
    served: Served,
) -> None:
    count = room_for(IDLE)
    assert count >= 100, "too few file descriptors for this test"
    #: The server's connection cap ([agi] max_connections), if it has one.
    cap = getattr(served.server, "max_connections", 1 << 30)
    # Idle peers that say nothing, with a call in between; the peers close first.
    served.server.header_timeout = 60.0
    idle = await open_idle(served.port, count)
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while len(served.server._connections) < min(count, cap):  # still accepting
            assert asyncio.get_running_loop().time() < deadline, len(served.server._connections)
            await asyncio.sleep(0.01)
        assert len(served.server._connections) == min(count, cap)
        if count < cap:  # at the cap a call is refused, on purpose
            await served.good_call()
    finally:
        await close_all(idle)
    await served.settled()
    await served.good_call()
    # Idle peers that never close: the header time limit lets them go.
    served.server.header_timeout = HEADER_TIMEOUT
    idle = await open_idle(served.port, count)
    try:
        await served.settled()
    finally:
        await close_all(idle)
    await served.good_call()
    await served.settled()
