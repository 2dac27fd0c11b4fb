"""Every scenario under tests/scenarios/, in the simulator (the same files run over
Asterisk in tests/e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.actions import ACTIONS
from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.scenario.model import load_scenario
from ivr.sim.runner import run_scenario_sim
from ivr.store.calls import CallStore

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "tests" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("file", SCENARIOS, ids=[f.stem for f in SCENARIOS])
async def test_scenario_in_the_simulator(file: Path, tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    library = load_library(REPO / "flows", REPO / "audio", ACTIONS)
    store = CallStore(settings.db_path)
    try:
        result = await run_scenario_sim(load_scenario(file), settings, library, store)
    finally:
        store.close()
    assert result.summary is not None
    assert result.problems == []


async def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The checker is not a rubber stamp: a scenario expecting the wrong queue fails."""
    scenario = load_scenario(REPO / "tests" / "scenarios" / "menu_ke_periksa_dengan_idpel.yaml")
    expect = scenario.expect.model_copy(update={"queue": "status"})
    wrong = scenario.model_copy(update={"expect": expect})
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    library = load_library(REPO / "flows", REPO / "audio", ACTIONS)
    store = CallStore(settings.db_path)
    try:
        result = await run_scenario_sim(wrong, settings, library, store)
    finally:
        store.close()
    assert result.problems == ["queue: expected status, got periksa"]
