"""Every scenario under tests/scenarios/, in the simulator (the same files run over
Asterisk in tests/e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.actions import ACTIONS
from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.scenario.model import Scenario, load_scenario
from ivr.scenario.result import ScenarioResult
from ivr.sim.runner import run_scenario_sim
from ivr.store.calls import CallStore

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "tests" / "scenarios").glob("*.yaml"))


async def run(scenario: Scenario, tmp_path: Path) -> ScenarioResult:
    """One scenario in the simulator, on a fresh database with the demo data."""
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    seed(settings.db_path)
    library = load_library(REPO / "flows", REPO / "audio", ACTIONS)
    store = CallStore(settings.db_path)
    database = EmbeddedDatabase(settings.db_path)
    try:
        return await run_scenario_sim(scenario, settings, library, store, database.backends())
    finally:
        database.close()
        store.close()


@pytest.mark.parametrize("file", SCENARIOS, ids=[f.stem for f in SCENARIOS])
async def test_scenario_in_the_simulator(file: Path, tmp_path: Path) -> None:
    result = await run(load_scenario(file), tmp_path)
    assert result.summary is not None
    assert result.problems == []


async def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The checker is not a rubber stamp: a scenario expecting the wrong queue fails."""
    scenario = load_scenario(REPO / "tests" / "scenarios" / "periksa_alamat_salah.yaml")
    expect = scenario.expect.model_copy(update={"queue": "status"})
    result = await run(scenario.model_copy(update={"expect": expect}), tmp_path)
    assert result.problems == ["queue: expected status, got periksa"]
