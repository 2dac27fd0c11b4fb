"""AgiChannel against a fake Asterisk over a real socket, served by the real FastAgiServer.

The handler only drives the channel and hands what it got (a value or an exception)
to the test body through a future; every assertion is in the test body.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ivr.agi.channel import AgiChannel, StreamResult
from ivr.agi.errors import (
    AgiCommandFailed,
    AgiInvalidCommand,
    AgiTimeout,
    CallerHungUp,
)
from ivr.agi.server import FastAgiServer
from ivr.tools.testing.fake_asterisk import CallRecord, CallScript, End, Fault, place_call
from tests.support import Outcome, handing_handler

HOST = "127.0.0.1"
#: Upper bound for anything that should happen at once.
WAIT = 5.0

Drive = Callable[[AgiChannel], Awaitable[Any]]


@pytest.fixture
async def call() -> AsyncIterator[Callable[..., Awaitable[tuple[Outcome, CallRecord]]]]:
    """Run one fake call whose server-side handler is ``drive``.

    Returns ``((value, None) | (None, exception), record)``.
    """
    servers: list[FastAgiServer] = []

    async def run(
        drive: Drive, script: CallScript | None = None, command_timeout: float = 2.0
    ) -> tuple[Outcome, CallRecord]:
        handler, handed = handing_handler(drive)
        server = FastAgiServer(handler, host=HOST, port=0, command_timeout=command_timeout)
        servers.append(server)
        await server.start()
        record = await asyncio.wait_for(place_call(HOST, server.port, script), WAIT)
        outcome = await asyncio.wait_for(handed, WAIT)
        return outcome, record

    yield run
    for server in servers:
        await server.shutdown(0)


# -- each command's typed result ------------------------------------------------------

ALL = "0123456789*#"

CASES: list[tuple[str, Drive, str, Any, str]] = [
    # id, what the handler does, keys the caller presses, result, command line sent
    ("answer", lambda ch: ch.answer(), "", None, "ANSWER"),
    (
        "stream_file-interrupted",
        lambda ch: ch.stream_file("pln123/menu_utama", ALL),
        "7",
        StreamResult(key="7", endpos=1234),
        f'STREAM FILE "pln123/menu_utama" "{ALL}"',
    ),
    (
        "stream_file-played-through",
        lambda ch: ch.stream_file("pln123/mohon_tunggu_cso"),
        "7",
        StreamResult(key=None, endpos=8000),
        'STREAM FILE "pln123/mohon_tunggu_cso" ""',
    ),
    (
        "stream_file-key-not-an-escape",
        lambda ch: ch.stream_file("pln123/menu_utama", "12"),
        "7",
        StreamResult(key=None, endpos=8000),
        'STREAM FILE "pln123/menu_utama" "12"',
    ),
    ("wait_for_digit-key", lambda ch: ch.wait_for_digit(2.5), "#", "#", "WAIT FOR DIGIT 2500"),
    ("wait_for_digit-timeout", lambda ch: ch.wait_for_digit(5), "", None, "WAIT FOR DIGIT 5000"),
    (
        "get_data-max-digits",
        lambda ch: ch.get_data("pln123/minta_idpel", 3, 12),
        "123456789012",
        ("123456789012", False),
        'GET DATA "pln123/minta_idpel" 3000 12',
    ),
    (
        "get_data-ended-by-hash",
        lambda ch: ch.get_data("pln123/minta_idpel", 3, 12),
        "5512#",
        ("5512", False),
        'GET DATA "pln123/minta_idpel" 3000 12',
    ),
    (
        # Asterisk answers "200 result= (timeout)"
        "get_data-nothing",
        lambda ch: ch.get_data("beep", 2, 4),
        "",
        ("", True),
        'GET DATA "beep" 2000 4',
    ),
    (
        "get_data-some-then-timeout",
        lambda ch: ch.get_data("beep", 2, 4),
        "12",
        ("12", True),
        'GET DATA "beep" 2000 4',
    ),
    ("say_digits", lambda ch: ch.say_digits("0123"), "", None, 'SAY DIGITS 0123 ""'),
    ("say_number", lambda ch: ch.say_number(42, "#"), "", None, 'SAY NUMBER 42 "#"'),
    (
        "set_variable",
        lambda ch: ch.set_variable("PLN123_QUEUE", "periksa"),
        "",
        None,
        'SET VARIABLE "PLN123_QUEUE" "periksa"',
    ),
    ("get_variable-unset", lambda ch: ch.get_variable("NOPE"), "", None, 'GET VARIABLE "NOPE"'),
    (
        "exec",
        lambda ch: ch.exec("UserEvent", "PLN123Listen,Ask: menu"),
        "",
        0,
        'EXEC UserEvent "PLN123Listen,Ask: menu"',
    ),
    ("verbose", lambda ch: ch.verbose("hai", 3), "", None, 'VERBOSE "hai" 3'),
]


@pytest.mark.parametrize(
    ("drive", "keys", "expected", "line"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_command_returns_its_typed_result(
    call: Any, drive: Drive, keys: str, expected: Any, line: str
) -> None:
    (value, error), record = await call(drive, CallScript(keys=keys))
    assert error is None
    assert value == expected
    assert type(value) is type(expected)
    assert record.commands == [line]


async def test_get_variable_reads_back_what_was_set(call: Any) -> None:
    tricky = 'Jl. "Merdeka" 5\\B'

    async def drive(ch: AgiChannel) -> tuple[str | None, str | None]:
        await ch.set_variable("ALAMAT", tricky)
        await ch.set_variable("EMPTY", "")
        return await ch.get_variable("ALAMAT"), await ch.get_variable("EMPTY")

    (value, error), record = await call(drive)
    assert error is None
    assert record.variables["ALAMAT"] == tricky
    assert value == (tricky, "")


async def test_hangup_sends_hangup_once(call: Any) -> None:
    async def drive(ch: AgiChannel) -> bool:
        await ch.hangup()
        await ch.hangup()  # already gone: nothing more is sent
        return ch.hung_up

    (value, error), record = await call(drive)
    assert error is None
    assert value is True
    assert record.commands == ["HANGUP"]
    assert record.ended is End.HANGUP


# -- the call going away --------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [Fault.HANGUP_LINE, Fault.DEAD_CHANNEL, Fault.FAILED_DEAD], ids=lambda f: f.name
)
async def test_every_kind_of_hangup_raises_caller_hung_up(call: Any, fault: Fault) -> None:
    state: dict[str, bool] = {}

    async def drive(ch: AgiChannel) -> None:
        try:
            await ch.stream_file("pln123/menu_utama", ALL)
        finally:
            state["hung_up"] = ch.hung_up

    (_value, error), record = await call(drive, CallScript(faults={1: fault}))
    assert isinstance(error, CallerHungUp)
    assert state["hung_up"] is True
    if fault is Fault.FAILED_DEAD:
        # result=-1 is ambiguous: the channel asks Asterisk whether the call is still up.
        assert record.commands[1:] == ["CHANNEL STATUS"]
    else:
        assert len(record.commands) == 1


async def test_no_command_is_sent_after_a_hangup(call: Any) -> None:
    async def drive(ch: AgiChannel) -> BaseException | None:
        with contextlib.suppress(CallerHungUp):
            await ch.answer()
        try:
            await ch.set_variable("A", "1")
        except CallerHungUp as exc:
            return exc
        return None

    (value, error), record = await call(drive, CallScript(faults={1: Fault.HANGUP_LINE}))
    assert error is None
    assert isinstance(value, CallerHungUp)
    assert record.commands == ["ANSWER"]


async def test_result_minus_one_on_a_live_channel_is_a_failed_command(call: Any) -> None:
    async def drive(ch: AgiChannel) -> tuple[BaseException | None, int]:
        failure: BaseException | None = None
        try:
            await ch.stream_file("pln123/tidak_ada", ALL)
        except AgiCommandFailed as exc:
            failure = exc
        return failure, await ch.exec("NoOp", "still here")

    (value, error), record = await call(drive, CallScript(faults={1: Fault.FAILED}))
    assert error is None
    failure, exec_result = value
    assert isinstance(failure, AgiCommandFailed)
    assert exec_result == 0
    assert record.commands[1:] == ["CHANNEL STATUS", 'EXEC NoOp "still here"']


# -- refused commands -----------------------------------------------------------------


async def test_unknown_command_is_invalid_and_the_channel_goes_on(call: Any) -> None:
    async def drive(ch: AgiChannel) -> tuple[BaseException | None, str | None]:
        refused: BaseException | None = None
        try:
            await ch.send("FROB NICATE")
        except AgiInvalidCommand as exc:
            refused = exc
        await ch.set_variable("A", "after")
        return refused, await ch.get_variable("A")

    (value, error), _record = await call(drive)
    assert error is None
    refused, after = value
    assert isinstance(refused, AgiInvalidCommand)
    assert "510" in str(refused) or "Invalid" in str(refused)
    assert after == "after"


async def test_usage_error_is_drained_and_the_stream_stays_in_sync(call: Any) -> None:
    """A ``520-`` answer spans several lines; the next answers must still line up."""

    async def drive(ch: AgiChannel) -> tuple[BaseException | None, str | None, str | None]:
        refused: BaseException | None = None
        try:
            await ch.set_variable("A", "before")
        except AgiInvalidCommand as exc:
            refused = exc
        await ch.set_variable("A", "after")
        digit = await ch.wait_for_digit(1)
        return refused, await ch.get_variable("A"), digit

    (value, error), record = await call(drive, CallScript(keys="4", faults={1: Fault.USAGE}))
    assert error is None
    refused, after, digit = value
    assert isinstance(refused, AgiInvalidCommand)
    assert after == "after"
    assert digit == "4"
    assert len(record.commands) == 4


async def test_one_line_usage_error_is_invalid_and_the_stream_stays_in_sync(call: Any) -> None:
    async def drive(ch: AgiChannel) -> tuple[BaseException | None, str | None]:
        refused: BaseException | None = None
        try:
            await ch.set_variable("A", "before")
        except AgiInvalidCommand as exc:
            refused = exc
        await ch.set_variable("A", "after")
        return refused, await ch.get_variable("A")

    (value, error), _record = await call(
        drive, CallScript(faults={1: Fault.USAGE_BRIEF}), command_timeout=0.3
    )
    assert error is None
    refused, after = value
    assert isinstance(refused, AgiInvalidCommand)
    assert after == "after"


# -- time limits ----------------------------------------------------------------------


async def test_an_unanswered_command_times_out(call: Any) -> None:
    limit = 0.3

    async def drive(ch: AgiChannel) -> float:
        started = time.monotonic()
        try:
            await ch.set_variable("A", "1")
        finally:
            elapsed = time.monotonic() - started
            took.set_result(elapsed)
        return elapsed

    took: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    (_value, error), record = await call(
        drive, CallScript(faults={1: Fault.SILENT}), command_timeout=limit
    )
    assert isinstance(error, AgiTimeout)
    assert limit <= took.result() < limit + 1.0
    assert record.commands == ['SET VARIABLE "A" "1"']
    assert record.ended is End.SERVER_CLOSED
