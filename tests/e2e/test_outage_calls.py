"""Outage announcements over real calls: the outage scenarios through the sandbox
Asterisk against a real ``pln123 serve``, which sees each scenario's outage through
its board's poll of the store (no restart, no signal), plays the announcement (ops'
text spoken at run time), takes the caller's choice by DTMF, and stores the outage on
the pop of the caller who pressed 0."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.ops.stats import compute_stats
from ivr.store.calls import connect
from ivr.tools.scenario.model import load_scenario
from ivr.tools.scenario.via_asterisk import run_scenarios_asterisk
from tests.e2e.conftest import REPO
from tests.support import IvrProcess

pytestmark = pytest.mark.e2e

SCENARIOS = sorted((REPO / "tests" / "scenarios").glob("gangguan_*.yaml"))


async def test_outage_scenarios_as_real_calls(
    ivr_server: IvrProcess, e2e_settings: Settings
) -> None:
    assert len(SCENARIOS) == 5
    started = datetime.now(UTC)
    library = load_library(e2e_settings.flows_dir, e2e_settings.audio_dir, KIT)
    scenarios = [load_scenario(file) for file in SCENARIOS]
    results = await run_scenarios_asterisk(scenarios, e2e_settings, library, 90.0)
    log = "".join(ivr_server.log[-60:])
    for result in results:
        assert result.summary is not None, (result.scenario.name, result.problems)
        assert result.problems == [], (result.scenario.name, result.problems, log)

    [queued] = [r for r in results if r.summary is not None and r.summary.outcome == "queued"]
    assert queued.summary is not None and queued.summary.screenpop is not None
    outage = queued.summary.screenpop["outage"]
    assert outage["message"] == "Pemeliharaan jaringan darurat di wilayah UP3 Bulungan."
    assert outage["report_number"] == "G2603010000778"
    assert outage["until"].endswith(" WIB")

    with closing(connect(e2e_settings.store_location)) as conn:
        figures = compute_stats(conn, started - timedelta(minutes=1), datetime.now(UTC))
    totals = {
        event: sum(row[event] for row in figures["outages"])
        for event in ("heard", "attached", "cso", "hung_up")
    }
    assert totals == {"heard": 4, "attached": 2, "cso": 1, "hung_up": 1}
