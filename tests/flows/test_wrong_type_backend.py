"""A backend answering with the wrong type is a backend fault, not a crash.

APKT's ``close_issue`` answering an ``int`` (the port says ``str``) once made the calls
that record an "Issue Closed" crash out of ``run_call`` while ending: the record stayed
open and no pop was stored. Behind the guard every scenario now ends with an outcome
recorded, whichever way the flow's fault path takes it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ivr.backends.guarded import guarded
from ivr.backends.ports import ApktPort, Backends, ClosedIssue
from ivr.tools.scenario.model import load_scenario
from tests.support import REPO, run_in_simulator

SCENARIOS = sorted((REPO / "tests" / "scenarios").glob("*.yaml"))


class WrongTypeApkt:
    """The embedded APKT, but "Issue Closed" answers an ``int`` id."""

    def __init__(self, inner: ApktPort) -> None:
        self.inner = inner
        self.closed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def close_issue(self, issue: ClosedIssue) -> str:
        self.closed += 1
        return 4711  # type: ignore[return-value]  # the bug on purpose


@pytest.mark.parametrize("file", SCENARIOS, ids=[f.stem for f in SCENARIOS])
async def test_every_scenario_ends_with_an_outcome(file: Path, tmp_path: Path) -> None:
    broken: list[WrongTypeApkt] = []

    def adapt(backends: Backends) -> Backends:
        apkt = WrongTypeApkt(backends.apkt)
        broken.append(apkt)
        return guarded(replace(backends, apkt=apkt), timeout=5.0)

    result = await run_in_simulator(load_scenario(file), tmp_path, adapt)
    assert result.summary is not None, "the call crashed instead of ending"
    with sqlite3.connect(tmp_path / "calls.sqlite3") as db:
        calls = db.execute("SELECT id, outcome, ended_at FROM calls").fetchall()
        popped = {call_id for (call_id,) in db.execute("SELECT call_id FROM screenpops")}
    assert calls, "no call recorded"
    for call_id, outcome, ended_at in calls:
        assert outcome and ended_at, f"call {call_id} left open"
        if outcome == "queued":
            assert call_id in popped, f"call {call_id} queued without a screen-pop"
    if broken[0].closed:
        # the flow took its fault path: the caller went to a CSO, never "Issue Closed"
        assert result.summary.variables.get("nomor_issue", "") == ""
