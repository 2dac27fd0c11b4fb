"""Faults under real calls through the sandbox Asterisk, with ``pln123 serve`` as a
process: the IVR killed (SIGKILL) in the middle of a call, and Asterisk restarted under
a running IVR.

This module runs an Asterisk and an IVR of its own (like tests/e2e/test_screenpop.py),
so killing one or restarting the other disturbs no other end-to-end test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from ivr.agi.server import FastAgiServer
from ivr.asterisk.ami import AmiClient, AmiEvent, ivr_leg_id
from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.engine.model import InputNode
from ivr.kit import KIT
from ivr.store.calls import CallSummary, read_summary
from ivr.tools.sandbox import AsteriskSandbox
from ivr.tools.scenario.keys import keys_for
from ivr.tools.scenario.model import load_scenario
from ivr.tools.scenario.runner import run_scenarios
from ivr.tools.scenario.via_asterisk import CallerBots
from tests.e2e.conftest import running_sandbox, sandbox_settings, serving
from tests.fault.harness import SCENARIOS
from tests.support import IvrProcess

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

STEP = 20.0
CALLER = "081234567890"
IDPEL = "532112345678"
#: What the caller answers before the IVR is killed (PERIKSA up to the IDPEL); the
#: IVR dies once it listens for the next question.
GIVEN = {"menu": "periksa", "power_state": "menyala", "reported_before": "tidak", "idpel": IDPEL}


@pytest.fixture(scope="module")
def fault_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sandbox_settings(tmp_path_factory.mktemp("fault-e2e"), queue_max_wait=5)


@pytest.fixture(scope="module")
def fault_asterisk(fault_settings: Settings) -> Iterator[AsteriskSandbox]:
    yield from running_sandbox(fault_settings)


@pytest.fixture(scope="module")
def fault_ivr(fault_asterisk: AsteriskSandbox, fault_settings: Settings) -> Iterator[IvrProcess]:
    yield from serving(fault_settings, "(login 1)")  # the AMI watcher is logged in


@dataclass
class KilledCall:
    """What a call did when its IVR was killed in the middle of it."""

    call_id: str
    #: The caller's QueueCallerJoin after the kill (None: never joined a queue).
    joined: AmiEvent | None
    #: The call's record read from the store file once the IVR was killed, and again
    #: after it was started again.
    at_kill: CallSummary | None
    after_restart: CallSummary | None


def stored_answers(db_path: Path, call_id: str) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return list(
            db.execute("SELECT ask, value FROM answers WHERE call_id = ? ORDER BY seq", (call_id,))
        )


def summary_of(db_path: Path, call_id: str) -> CallSummary | None:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return read_summary(db, call_id)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def killed_call(
    fault_settings: Settings, fault_asterisk: AsteriskSandbox, fault_ivr: IvrProcess
) -> AsyncIterator[KilledCall]:
    """A PERIKSA call whose IVR gets SIGKILL once the caller has keyed the IDPEL."""
    settings = fault_settings
    library = load_library(settings.flows_dir, settings.audio_dir, KIT)
    bots = CallerBots()
    bot_server = FastAgiServer(bots.handle, port=settings.agi.callerbot_port)
    await bot_server.start()
    ami = await AmiClient.connect(
        settings.ami.host,
        settings.ami.port,
        settings.ami.user,
        settings.ami.secret.get_secret_value(),
    )
    call_id = ""
    joined: AmiEvent | None = None
    at_kill: CallSummary | None = None
    try:
        since = ami.mark
        test_id = await ami.originate_test_call(
            CALLER, f"agi://127.0.0.1:{bot_server.port}/callerbot"
        )
        leg = ivr_leg_id(test_id)
        line = bots.line(test_id)

        def ours(event: AmiEvent) -> bool:
            return event.get("uniqueid") == leg and (
                event.name in ("QueueCallerJoin", "Hangup")
                or event.get("userevent").startswith("PLN123")
            )

        position, killed = since, False
        deadline = time.monotonic() + 2 * STEP
        while joined is None and time.monotonic() < deadline:
            await ami.wait_for_event(ours, deadline - time.monotonic(), since=position)
            for event in ami.events(position):
                position += 1
                if not ours(event):
                    continue
                kind = event.get("userevent") or event.name
                if kind == "PLN123CallStart":
                    call_id = event.get("callid")
                elif kind == "PLN123Listen" and not killed:
                    ask = event.get("ask")
                    if ask in GIVEN:
                        node = library.flows[event.get("flow")].flow.nodes[event.get("node")]
                        assert isinstance(node, InputNode)
                        line.keys.put_nowait(keys_for(node, ask, GIVEN[ask]))
                        continue
                    # Every answer of GIVEN is in the file before the IVR asks the next.
                    assert [a for a, _ in stored_answers(settings.db_path, call_id)] == list(GIVEN)
                    fault_ivr.proc.kill()
                    fault_ivr.proc.wait(10)
                    killed = True
                    at_kill = summary_of(settings.db_path, call_id)
                elif kind == "QueueCallerJoin":
                    joined = event
                    break
                elif kind == "Hangup":
                    raise AssertionError(f"the call ended before any queue (killed: {killed})")
        assert killed, f"the IVR never asked past {list(GIVEN)}"
        line.keys.put_nowait(None)
        with contextlib.suppress(Exception):
            await ami.hangup_call(test_id)
    finally:
        await ami.close()
        await bot_server.shutdown(grace=2.0)
        if fault_ivr.proc.poll() is not None:
            fault_ivr.start()
    await asyncio.to_thread(fault_ivr.wait_for_line, "(login 1)", 30)
    yield KilledCall(call_id, joined, at_kill, summary_of(settings.db_path, call_id))


async def test_a_killed_ivr_leaves_the_caller_to_the_cso_queue(killed_call: KilledCall) -> None:
    joined = killed_call.joined
    assert joined is not None, "the caller never joined a queue after the IVR died"
    assert joined.get("queue") == "umum"
    assert joined.variables.get("PLN123_QUEUE_REASON") == "fallback"
    assert joined.get("calleridnum") == CALLER


async def test_a_killed_ivr_keeps_every_answer_given_before(
    killed_call: KilledCall, fault_settings: Settings
) -> None:
    assert killed_call.call_id
    assert killed_call.at_kill is not None
    for summary in (killed_call.at_kill, killed_call.after_restart):
        assert summary is not None
        assert [(a["ask"], a["value"]) for a in summary.answers] == list(GIVEN.items())
        assert summary.caller == CALLER


async def test_after_a_restart_the_killed_call_is_closed_with_a_pop(
    killed_call: KilledCall,
) -> None:
    summary = killed_call.after_restart
    assert summary is not None
    assert summary.outcome is not None
    assert summary.screenpop is not None
    assert [a["ask"] for a in summary.screenpop["answers"]] == list(GIVEN)


def healthz(settings: Settings) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web.port}/healthz", timeout=5) as r:
        answer = json.loads(r.read())
    assert isinstance(answer, dict)
    return answer


async def test_the_ivr_reconnects_to_ami_after_asterisk_restarts_and_takes_calls(
    fault_settings: Settings, fault_asterisk: AsteriskSandbox, fault_ivr: IvrProcess
) -> None:
    await asyncio.to_thread(fault_ivr.wait_for_log, "(login 1)", 30)
    assert (await asyncio.to_thread(healthz, fault_settings))["ami"] is True
    logins_before = sum("(login 2)" in line for line in fault_ivr.log)
    await asyncio.to_thread(fault_asterisk.restart)
    assert logins_before == 0
    await asyncio.to_thread(fault_ivr.wait_for_log, "(login 2)", 30)
    assert (await asyncio.to_thread(healthz, fault_settings))["ami"] is True
    # A new call is answered and runs to its end.
    library = load_library(fault_settings.flows_dir, fault_settings.audio_dir, KIT)
    (result,) = await run_scenarios(
        [load_scenario(SCENARIOS / "menu_selesai.yaml")], "asterisk", fault_settings, library, STEP
    )
    assert result.passed, result.problems
    assert result.summary is not None and result.summary.outcome == "closed"
