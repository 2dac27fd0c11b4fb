"""``pln123 serve`` as a real process: SIGHUP reloads flows, SIGTERM lets calls finish."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.tools.sandbox import free_port
from ivr.tools.testing.fake_asterisk import CallScript, End, place_call
from tests.support import IvrProcess

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working folder with its own copy of the flows and prompts."""
    shutil.copytree(REPO / "flows", tmp_path / "flows")
    shutil.copytree(REPO / "audio", tmp_path / "audio")
    # Signals are tested here, not opening hours: with no hours table every queue is
    # open, whatever the time the tests run at.
    (tmp_path / "flows" / "data" / "jam_layanan.yaml").unlink()
    return tmp_path


def serve(project: Path, port: int, **extra: str) -> IvrProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLN123_")}
    env.update(
        PLN123_AGI__PORT=str(port),
        PLN123_DB_PATH=str(project / "calls.sqlite3"),
        PLN123_AGI__LISTEN_EVENTS="false",
        **extra,
    )
    return IvrProcess(env, project)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def server(project: Path, port: int) -> Iterator[IvrProcess]:
    process = serve(project, port)
    try:
        yield process
    finally:
        process.stop()


async def queue_after_menu_0(port: int) -> str | None:
    """The queue a caller reaches by pressing 0 (a CSO) in the main menu."""
    record = await place_call("127.0.0.1", port, CallScript(keys="0"))
    return record.variables.get("PLN123_QUEUE")


async def test_sighup_refuses_a_broken_flow_and_takes_a_good_one(
    server: IvrProcess, project: Path, port: int
) -> None:
    main = project / "flows" / "main.yaml"
    good = main.read_text()
    assert await queue_after_menu_0(port) == "umum"

    main.write_text(good.replace("{value: cso, next: cso,", "{value: cso, next: ke_mana_saja,"))
    server.proc.send_signal(signal.SIGHUP)
    refused = server.wait_for_line("flow reload refused")
    assert "main.yaml:" in refused and "ke_mana_saja" in refused
    server.wait_for_line("still serving the last good flows")
    assert await queue_after_menu_0(port) == "umum"

    main.write_text(good.replace("queue: umum", "queue: status"))
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for_line("flows reloaded")
    assert await queue_after_menu_0(port) == "status"


async def test_sigterm_lets_a_call_in_progress_finish(project: Path, port: int) -> None:
    import asyncio

    process = serve(project, port, PLN123_AGI__SHUTDOWN_GRACE="20")
    try:
        slow = CallScript(keys="0", media_delay=(0.5, 0.5))
        call = asyncio.create_task(place_call("127.0.0.1", port, slow))
        await asyncio.to_thread(process.wait_for_line, "runs flow main")
        process.proc.send_signal(signal.SIGTERM)
        record = await asyncio.wait_for(call, 30)
        code = await asyncio.to_thread(process.proc.wait, 30)
    finally:
        process.stop()
    assert record.variables.get("PLN123_QUEUE") == "umum"
    assert record.ended is End.SERVER_CLOSED
    assert code == 0


async def test_sigterm_cuts_a_call_after_the_grace_period(project: Path, port: int) -> None:
    import asyncio

    process = serve(project, port, PLN123_AGI__SHUTDOWN_GRACE="0.5")
    try:
        endless = CallScript(keys="", media_delay=(1.0, 1.0))
        call = asyncio.create_task(place_call("127.0.0.1", port, endless))
        await asyncio.to_thread(process.wait_for_line, "runs flow main")
        process.proc.send_signal(signal.SIGTERM)
        process.wait_for_line("cut 1 call(s) after the grace period")
        code = await asyncio.to_thread(process.proc.wait, 30)
        record = await asyncio.wait_for(call, 30)
    finally:
        process.stop()
    assert code == 0
    assert "PLN123_ACTION" not in record.variables  # the dialplan's fallback takes it
