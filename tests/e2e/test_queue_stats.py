"""The queue statistics end to end: real calls through Asterisk's queues, counted from
the AMI events the IVR's watcher receives.

Runs on the screen-pop module's set-up (its own Asterisk and IVR, agents configured):
cso1 answers queue ``periksa``; cso3's phone on ``pln_mobile`` rings and is never
answered, so a caller there who hangs up has abandoned.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.store.calls import connect
from ivr.store.queue_calls import queue_stats
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.runner import run_scenarios
from tests.e2e.test_screenpop import (  # noqa: F401 (fixtures)
    call_to_periksa_queue,
    pop_asterisk,
    pop_ivr,
    pop_settings,
)
from tests.support import OFFICE_HOURS, IvrProcess

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

#: Seconds the IVR may take to log a queue event (it follows the AMI event at once).
LOG_TIMEOUT = 30.0


async def log_line(ivr: IvrProcess, text: str) -> str:
    """The IVR's first log line containing ``text``, waited for off the loop."""
    return await asyncio.to_thread(ivr.wait_for_log, text, LOG_TIMEOUT)


async def test_an_answered_and_an_abandoned_caller_are_counted(
    pop_ivr: IvrProcess,  # noqa: F811
    pop_settings: Settings,  # noqa: F811
) -> None:
    since = time.time() - 1
    # On login the watcher took Asterisk's list of waiting callers (QueueStatus).
    await log_line(pop_ivr, "queue stats: 0 callers waiting (login 1)")

    # Answered: cso1 picks up the call queued to periksa.
    await call_to_periksa_queue(pop_settings)
    answered = await log_line(pop_ivr, "queue periksa: caller ")
    assert "joined (1 waiting)" in answered
    answered = await log_line(pop_ivr, "answered by cso1")
    assert "queue periksa:" in answered and answered.rstrip().endswith("(0 waiting)")

    # Abandoned: queued to pln_mobile, where nobody answers, and the caller hangs up
    # (well before queue_max_wait, which would take them out with a call-back offer).
    scenario = Scenario(
        name="menyerah di antrean",
        caller="081234567890",
        answers={"menu": "pln_mobile", "itsm_followup": "tidak", "mobile_topic": "lainnya"},
        at=OFFICE_HOURS,
    )
    library = load_library(pop_settings.flows_dir, pop_settings.audio_dir, KIT)
    call = asyncio.create_task(
        run_scenarios([scenario], "asterisk", pop_settings, library, 60.0, until="hangup")
    )
    try:
        joined = await log_line(pop_ivr, "queue pln_mobile: caller ")
        assert "joined (1 waiting)" in joined
    finally:
        call.cancel()  # the test caller hangs up (the runner's own clean-up)
        await asyncio.wait({call})
    abandoned = await log_line(pop_ivr, "abandoned after")
    assert "queue pln_mobile:" in abandoned and abandoned.rstrip().endswith("(0 waiting)")

    conn = connect(pop_settings.db_path)
    try:
        stats = queue_stats(conn, since, time.time() + 1)
    finally:
        conn.close()
    assert {queue: (s["joined"], s["answered"], s["abandoned"]) for queue, s in stats.items()} == {
        "periksa": (1, 1, 0),
        "pln_mobile": (1, 0, 1),
    }
    assert sum(s["joined"] for s in stats.values()) == 2
    wait = stats["periksa"]["wait_p50"]
    # The test agent's phone rings half a second before it answers.
    assert wait is not None and 0.4 <= wait < 10 and stats["periksa"]["wait_p90"] == wait
    assert stats["pln_mobile"]["wait_p50"] is None
