"""AMI reconnects: a capped exponential backoff, and one log line per change of state
(lost/unreachable, back), the attempts in between at DEBUG.

No test sleeps to wait for an event: the clock is a fake one, and the watcher's
``call_later`` is a fake that records each wait and runs the next attempt at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ivr.asterisk.ami import Backoff, Reconnects
from ivr.config import AmiSettings
from ivr.screenpop.hub import PopHub
from ivr.screenpop.watcher import AmiWatcher
from ivr.store.calls import CallStore
from ivr.store.pops import PopStore

LOGGER = "test.ami.backoff"
EXPECTED = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def records(caplog: pytest.LogCaptureFixture, level: int, name: str = LOGGER) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno == level and r.name.startswith(name)
    ]


# -- the backoff ---------------------------------------------------------------------


def test_delays_double_from_one_second_up_to_the_cap() -> None:
    backoff = Backoff(random=lambda: 0.0)  # no jitter drawn
    assert [backoff.next() for _ in EXPECTED] == EXPECTED


def test_jitter_only_shortens_a_delay_so_the_cap_holds() -> None:
    backoff = Backoff(random=lambda: 1.0)  # the most jitter
    assert [backoff.next() for _ in EXPECTED] == pytest.approx([d * 0.9 for d in EXPECTED])
    real = Backoff()
    for _ in range(20):
        for expected in EXPECTED:
            assert expected * 0.9 <= real.next() <= expected
        real.reset()


def test_reset_starts_again_at_the_first_delay() -> None:
    backoff = Backoff(random=lambda: 0.0)
    for _ in range(10):
        backoff.next()
    backoff.reset()
    assert backoff.next() == 1.0


def test_a_thousand_failures_do_not_overflow() -> None:
    backoff = Backoff(random=lambda: 0.0)
    assert [backoff.next() for _ in range(2000)][-1] == 30.0


# -- the state log -------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> Reconnects:
    return Reconnects(
        logging.getLogger(LOGGER),
        "test: AMI",
        "127.0.0.1:5038",
        backoff=Backoff(random=lambda: 0.0),
        clock=clock,
    )


def fail(state: Reconnects, clock: FakeClock, times: int) -> list[float]:
    """``times`` attempts that fail, the fake clock running on by each wait."""
    delays = []
    for _ in range(times):
        state.attempt()
        delay = state.failed(ConnectionRefusedError(111, "Connection refused"))
        delays.append(delay)
        clock.now += delay
    return delays


def test_a_hundred_failed_attempts_log_one_warning(
    state: Reconnects, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    delays = fail(state, clock, 100)
    assert delays == EXPECTED[:6] + [30.0] * 94
    (warning,) = records(caplog, logging.WARNING)
    assert warning.startswith("test: AMI at 127.0.0.1:5038: cannot connect (")
    assert "Connection refused" in warning
    assert len(records(caplog, logging.DEBUG)) == 99
    assert records(caplog, logging.INFO) == []


def test_success_logs_once_with_the_time_down_and_the_attempts_and_resets(
    state: Reconnects, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    state.attempt()
    assert state.up() is False  # up at the first attempt: nothing to report
    assert records(caplog, logging.INFO) == []

    clock.now += 500
    assert state.lost(None) == 1.0
    (warning,) = records(caplog, logging.WARNING)
    # (the end-to-end test of an Asterisk restart waits for "AMI connection lost")
    assert warning.startswith(
        "test: AMI connection lost at 127.0.0.1:5038 (closed by Asterisk); reconnecting"
    )
    down_at = clock.now
    fail(state, clock, 9)  # attempts 1-9 fail, the 10th succeeds
    state.attempt()
    assert state.up(" (login 2)") is True
    (info,) = records(caplog, logging.INFO)
    assert info == (
        "test: AMI back at 127.0.0.1:5038 (login 2)"
        f" after {clock.now - down_at:.1f} s down and 10 attempts"
    )
    assert len(records(caplog, logging.WARNING)) == 1

    # Reset: the next loss waits the first delay again and warns again, once.
    assert state.lost(OSError("reset")) == 1.0
    assert len(records(caplog, logging.WARNING)) == 2
    assert state.backoff.next() == 2.0


# -- the screen-pop watcher ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeLater:
    """``call_later`` that records each wait and runs the callback at once, until told
    to hold; a held callback waits in :attr:`held` for the test to run it."""

    def __init__(self, hold_after: int) -> None:
        self.delays: list[float] = []
        self.hold_after = hold_after
        self.held: Callable[[], None] | None = None
        self.holding = asyncio.Event()

    def __call__(self, delay: float, callback: Callable[[], None], /) -> Any:
        self.delays.append(delay)
        loop = asyncio.get_running_loop()
        if len(self.delays) >= self.hold_after:
            self.held = callback
            self.holding.set()
            return loop.call_later(3600, lambda: None)
        return loop.call_soon(callback)


class FakeAmi:
    """Enough of AMI for a login: the banner, then Success to every action."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []

    def drop_all(self) -> None:
        """Cut every connection, as an Asterisk restart does."""
        for writer in self.writers:
            writer.close()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                block = (await reader.readuntil(b"\r\n\r\n")).decode()
                headers = dict(
                    line.split(": ", 1) for line in block.strip().split("\r\n") if ": " in line
                )
                action_id = headers.get("ActionID", "")
                reply = f"Response: Success\r\nActionID: {action_id}\r\nMessage: ok\r\n\r\n"
                if headers.get("Action") == "QueueStatus":
                    reply = (
                        f"Response: Success\r\nActionID: {action_id}\r\n"
                        "EventList: start\r\n\r\n"
                        f"Event: QueueStatusComplete\r\nActionID: {action_id}\r\n"
                        "EventList: Complete\r\n\r\n"
                    )
                writer.write(reply.encode())
        writer.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Callable[[], PopHub]]:
    path = tmp_path / "calls.sqlite3"
    CallStore(path).close()
    stores: list[PopStore] = []

    def make() -> PopHub:
        store = PopStore(path)
        stores.append(store)
        return PopHub(store, {}, "Asia/Jakarta")

    yield make
    for store in stores:
        store.close()


async def test_the_watcher_backs_off_and_logs_a_long_outage_once(
    hub: Callable[[], PopHub], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there: every attempt is refused
    settings = AmiSettings(host="127.0.0.1", port=port, user="u", secret=SecretStr("s"))
    later = FakeLater(hold_after=100)
    the_hub = hub()
    watcher = AmiWatcher(settings, {}, the_hub, call_later=later)
    watcher.reconnects.backoff.random = lambda: 0.0
    try:
        watcher.start()
        await asyncio.wait_for(later.holding.wait(), 20)
        assert watcher.reconnects.attempts == 100
        assert later.delays == EXPECTED[:6] + [30.0] * 94
        warnings = records(caplog, logging.WARNING, "ivr.screenpop")
        assert len(warnings) == 1 and "cannot connect" in warnings[0], warnings
        assert records(caplog, logging.WARNING, "panoramisk") == []
        assert len(records(caplog, logging.DEBUG, "ivr.screenpop")) == 99

        # Asterisk is back: the next attempt logs in, one line says so, the backoff resets.
        ami = FakeAmi()
        server = await asyncio.start_server(ami, "127.0.0.1", port)
        try:
            assert later.held is not None
            later.holding.clear()
            later.held()
            await asyncio.wait_for(watcher.ready.wait(), 10)
            back = [m for m in records(caplog, logging.INFO, "ivr.screenpop") if " back " in m]
            assert len(back) == 1 and "101 attempts" in back[0] and "login 1" in back[0], back
            assert watcher.reconnects.attempts == 0

            # Asterisk restarts: one warning, the first wait is 1 s again, one line back.
            ami.drop_all()
            await asyncio.wait_for(later.holding.wait(), 10)
            assert not watcher.connected
            assert later.delays[-1] == 1.0
            warnings = records(caplog, logging.WARNING, "ivr.screenpop")
            assert len(warnings) == 2 and "AMI connection lost at" in warnings[1], warnings
            later.held()
            await asyncio.wait_for(watcher.ready.wait(), 10)
            back = [m for m in records(caplog, logging.INFO, "ivr.screenpop") if " back " in m]
            assert len(back) == 2 and "1 attempt" in back[1] and "login 2" in back[1], back
        finally:
            await watcher.close()
            server.close()
            await server.wait_closed()
        assert len(records(caplog, logging.WARNING, "ivr.screenpop")) == 2
    finally:
        await watcher.close()  # a second close changes nothing
        await the_hub.close()
