"""Two calls through a store that fails: the one in progress when it fails, and a new
one while it still does; then what the store holds once it works again. Shared by the
SQLite (a locked file) and PostgreSQL (a stopped server) tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.context import CallContext
from ivr.engine.interpreter import run_call
from ivr.engine.library import FlowLibrary
from ivr.engine.port import Outcome
from ivr.sim.port import Answerer, SimPort
from ivr.store.calls import CallStore, read_journey
from ivr.tools.scenario.model import Scenario
from tests.support import OFFICE_HOURS


@dataclass
class TwoCalls:
    """The call that met the failure (``ctx``) and the one made during it."""

    ctx: CallContext
    port: SimPort
    outcome: Outcome
    other: CallContext
    other_port: SimPort


async def two_calls(
    settings: Settings,
    library: FlowLibrary,
    store: CallStore,
    database: EmbeddedDatabase,
    scenario: Scenario,
    answerer: Answerer,
) -> TwoCalls:
    """The scenario's call (its answerer makes the store fail), then a new PERIKSA call."""
    port = SimPort(answerer)
    ctx = await open_call(
        settings,
        library,
        store,
        port,
        scenario.flow,
        scenario.caller,
        backends=database.backends(),
        clock=lambda: OFFICE_HOURS,
    )
    outcome = await run_call(ctx)
    other_port = SimPort(answerer)
    other = await open_call(
        settings,
        library,
        store,
        other_port,
        "periksa",
        "081234567890",
        backends=database.backends(),
        clock=lambda: OFFICE_HOURS,
    )
    assert await run_call(other) is Outcome.QUEUED  # to a CSO before any question
    return TwoCalls(ctx, port, outcome, other, other_port)


def check_all_stored(store: CallStore, calls: TwoCalls, pop: dict[str, Any]) -> None:
    """Once the store works again: every answer, the pop kept in memory and the
    journey of the first call, and the second call's record and pop, are stored."""
    assert store.ok and not store.kept_pops
    summary = store.summary(calls.ctx.call_id)
    assert summary is not None and summary.outcome == "queued"
    assert [a["value"] for a in summary.answers] == [a["value"] for a in calls.ctx.answers]
    assert summary.screenpop == json.loads(json.dumps(pop))
    assert read_journey(store.connection, calls.ctx.call_id)
    other = store.summary(calls.other.call_id)
    assert other is not None and other.outcome == "queued"
    assert other.screenpop is not None
