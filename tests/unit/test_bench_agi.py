"""``pln123 bench agi --hold``: its options, its load and how it counts peak concurrency.

The bench itself (a thousand calls, server processes) is run by hand; these check the
parts that decide its verdicts, against a tiny FastAGI server on a real socket.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

import pytest
from click.testing import CliRunner

from ivr.cli import main as cli_main
from ivr.tools.bench import agi
from ivr.tools.testing.fake_asterisk import CallScript, End


def test_peak_counts_spans_open_at_once() -> None:
    assert agi.peak_concurrent([]) == 0
    assert agi.peak_concurrent([(0.0, 1.0)]) == 1
    # three overlap around 0.5; the fourth starts after the others closed
    spans = [(0.0, 1.0), (0.2, 0.6), (0.4, 2.0), (2.5, 3.0)]
    assert agi.peak_concurrent(spans) == 3
    # one closing as another opens does not count as both open
    assert agi.peak_concurrent([(0.0, 1.0), (1.0, 2.0)]) == 1


def test_hold_load_defaults() -> None:
    load = agi.Load.make(1000, hold=True)
    assert (load.calls, load.ramp, load.hold) == (1000, 1.0, True)
    assert load.prompt_delay == (1.8, 4.2)
    assert load.key_delay == agi.MEDIA_DELAY
    assert "1.80-4.20 s" in load.describe()


def test_plain_load_keeps_the_old_delays() -> None:
    load = agi.Load.make(500)
    assert (load.ramp, load.hold) == (agi.RAMP_SECONDS, False)
    assert load.prompt_delay == load.key_delay == agi.MEDIA_DELAY
    assert load.describe() == "each prompt or key takes 150-350 ms (not in step latency)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calls": 0}, "calls"),
        ({"calls": 5, "ramp": 0.0}, "ramp"),
        ({"calls": 5, "prompt_seconds": -1.0}, "prompt"),
    ],
)
def test_bad_loads_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        agi.Load.make(**kwargs)


def test_file_limit_is_raised_to_the_hard_one(monkeypatch: pytest.MonkeyPatch) -> None:
    set_to: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 4096))
    monkeypatch.setattr(resource, "setrlimit", lambda _which, limits: set_to.append(limits))
    assert agi.raise_file_limit(100) == 1024  # fits: left alone
    assert set_to == []
    assert agi.raise_file_limit(1000) == 4096
    assert set_to == [(4096, 4096)]
    with pytest.raises(ValueError, match="hard limit is 4096"):
        agi.raise_file_limit(5000)


class _CliCall:
    def __init__(self) -> None:
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}

    async def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.args, self.kwargs = args, kwargs
        return "the table"


@pytest.fixture
def run_bench(monkeypatch: pytest.MonkeyPatch) -> _CliCall:
    fake = _CliCall()
    monkeypatch.setattr(agi, "run_bench", fake)
    monkeypatch.setattr(cli_main, "_settings", lambda: "settings")
    return fake


def test_cli_hold(run_bench: _CliCall) -> None:
    result = CliRunner().invoke(cli_main.cli, ["bench", "agi", "--hold", "1000"])
    assert result.exit_code == 0, result.output
    assert result.output == "the table\n"
    assert run_bench.args == ("settings", 1000, "menu", 1)
    assert run_bench.kwargs == {
        "hold": True,
        "ramp": None,
        "prompt_seconds": None,
        "bare": True,
        "prefill": 0,
        "without_journeys": False,
    }


def test_cli_hold_with_its_knobs(run_bench: _CliCall) -> None:
    argv = ["bench", "agi", "--hold", "200", "--ramp", "0.5", "--prompt-seconds", "5"]
    argv += ["--no-bare", "--rounds", "2", "--path", "cso"]
    result = CliRunner().invoke(cli_main.cli, argv)
    assert result.exit_code == 0, result.output
    assert run_bench.args == ("settings", 200, "cso", 2)
    assert run_bench.kwargs == {
        "hold": True,
        "ramp": 0.5,
        "prompt_seconds": 5.0,
        "bare": False,
        "prefill": 0,
        "without_journeys": False,
    }


def test_cli_plain_defaults(run_bench: _CliCall) -> None:
    result = CliRunner().invoke(cli_main.cli, ["bench", "agi"])
    assert result.exit_code == 0, result.output
    assert run_bench.args == ("settings", 500, "menu", 3)
    assert run_bench.kwargs["hold"] is False


def test_cli_without_journeys(run_bench: _CliCall) -> None:
    argv = ["bench", "agi", "--path", "report", "--rounds", "6", "--without-journeys"]
    result = CliRunner().invoke(cli_main.cli, argv)
    assert result.exit_code == 0, result.output
    assert run_bench.args == ("settings", 500, "report", 6)
    assert run_bench.kwargs["without_journeys"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ["--hold", "10", "--calls", "10"],
        ["--no-bare"],
        ["--hold", "0"],
        ["--hold", "10", "--ramp", "0"],
        ["--hold", "10", "--without-journeys"],
    ],
)
def test_cli_refuses(run_bench: _CliCall, argv: list[str]) -> None:
    result = CliRunner().invoke(cli_main.cli, ["bench", "agi", *argv])
    assert result.exit_code == 2
    assert run_bench.args == ()


async def test_drive_counts_the_calls_held_at_once() -> None:
    """A server that keeps every call until all have arrived: the load generator's peak
    is all of them, and they all started within the ramp."""
    calls = 8
    arrived = 0
    everyone = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal arrived
        while (await reader.readline()) not in (b"\n", b""):
            pass
        arrived += 1
        if arrived == calls:
            everyone.set()
        await everyone.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handler, agi.HOST, 0)
    port = server.sockets[0].getsockname()[1]
    load = agi.Load.make(calls, hold=True, ramp=0.2, prompt_seconds=0.0)
    try:
        results, peak, started = await asyncio.wait_for(
            agi._drive([port], CallScript(measure=True), load, asyncio.Semaphore(4), "t"), 10
        )
    finally:
        server.close()
        await server.wait_closed()
    assert peak == calls
    assert 0.1 < started <= 0.2
    assert all(not isinstance(r, BaseException) and r.ended is End.SERVER_CLOSED for r in results)


def _side(name: str, peak: int, server_peak: int, p99: float) -> agi.SideResult:
    return agi.SideResult(
        name=name,
        calls=1000,
        failed=0,
        cpu_per_call=0.002,
        user_share=0.75,
        step_p50_ms=0.25,
        step_p99_ms=p99,
        commands_per_call=12,
        wall_seconds=16.8,
        peak_concurrent=peak,
        server_peak=server_peak,
        started_within=0.99,
    )


def test_hold_table_says_what_ran_and_judges_the_peak() -> None:
    load = agi.Load.make(1000, hold=True)
    alone = agi._hold_table(_side("IVR", 1000, 1000, 3.5), None, load, 1, agi.PATHS["menu"])
    assert "IVR only (no bare-handler comparison: --no-bare)" in alone
    assert "1000/1000" in alone
    assert "FAIL" not in alone
    both = agi._hold_table(
        _side("IVR", 1000, 999, 12.0),
        _side("bare panoramisk", 1000, 1000, 2.0),
        load,
        1,
        agi.PATHS["menu"],
    )
    assert "then the bare panoramisk handler" in both
    assert "FAIL  all 1000 calls open at once" in both
    assert "FAIL  IVR step p99 <= 10 ms (12.00 ms)" in both
    assert "PASS  failed calls == 0" in both
