"""``pln123 bench agi --without-journeys``: the switch really stops every node exit, the
cost is read round by round against the bare handler, and a real run of three server
processes prints both IVRs and the verdict."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine import interpreter
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.store.calls import CallStore
from ivr.tools.bench import agi, journey_cost
from ivr.tools.scenario.model import load_scenario
from ivr.tools.scenario.sim import run_scenario_sim
from tests.support import REPO

SCENARIO = REPO / "tests" / "scenarios" / "periksa_alamat_salah.yaml"


def test_cost_is_ratio_points_of_the_bare_handler() -> None:
    lines = journey_cost.cost_lines(
        ivr=[0.0022, 0.0024], without=[0.0020, 0.0020], bare=[0.0010, 0.0010]
    )
    assert lines == [
        "journeys: +300 us CPU per call; +0.300 of the ratio"
        " (rounds: +0.200, +0.400; spread 0.200)",
        "FAIL  journeys move the CPU per call ratio by <= 0.05 (+0.300)",
    ]
    cheap = journey_cost.cost_lines(ivr=[0.00204], without=[0.0020], bare=[0.0010])
    assert cheap[-1] == "PASS  journeys move the CPU per call ratio by <= 0.05 (+0.040)"


async def _journey_rows(tmp_path: Path) -> tuple[int, int]:
    """One scenario call into a fresh store: (calls closed, journey rows)."""
    db = tmp_path / "calls.sqlite3"
    seed(db)
    store, database = CallStore(db), EmbeddedDatabase(db)
    try:
        await run_scenario_sim(
            load_scenario(SCENARIO),
            Settings(db_path=db),
            load_library(REPO / "flows", REPO / "audio", KIT),
            store,
            database.backends(),
        )
    finally:
        database.close()
        store.close()
    with sqlite3.connect(db) as conn:
        closed = conn.execute("SELECT count(*) FROM calls WHERE outcome IS NOT NULL").fetchone()
        rows = conn.execute("SELECT count(*) FROM journeys").fetchone()
    return int(closed[0]), int(rows[0])


async def test_the_switch_stops_every_node_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed, rows = await _journey_rows(tmp_path / "on")
    assert closed == 1 and rows > 5
    monkeypatch.setattr(interpreter, "_left", interpreter._left)  # restored after the test
    journey_cost.switch_journeys_off()
    assert await _journey_rows(tmp_path / "off") == (1, 0)


async def test_a_real_run_prints_both_ivrs_and_the_cost() -> None:
    """Four server processes: the IVR and the bare handler as without the option, and
    the pair, whose rows and cost follow the table."""
    settings = Settings(flows_dir=REPO / "flows", audio_dir=REPO / "audio")
    table = await agi.run_bench(
        settings, 4, "menu", 2, ramp=0.2, prompt_seconds=0.0, without_journeys=True
    )
    lines = table.splitlines()
    # Each paired round deals its 4 calls to the two IVRs in turn; the pair is started
    # afresh for the second round, and each store holds every call of both processes.
    assert any(line.startswith("IVR, paired           4       0 ") for line in lines), table
    assert any(line.startswith("IVR, no journeys      4       0 ") for line in lines), table
    assert any(line.startswith("journeys: ") and "(rounds: " in line for line in lines), table
    assert any("journeys move the CPU per call ratio by <= 0.05" in line for line in lines), table
    assert "PASS  failed calls == 0 (IVR 0, bare 0)" in table
    assert ": database has" not in table  # no note: each store holds every call it took
