"""Every scenario under tests/scenarios/, in the simulator, on each store (SQLite and
PostgreSQL); the same files run over Asterisk in tests/e2e."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.store.dbapi import Location
from ivr.tools.scenario.model import load_scenario
from tests.support import REPO, run_in_simulator

SCENARIOS = sorted((REPO / "tests" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("file", SCENARIOS, ids=[f.stem for f in SCENARIOS])
async def test_scenario_in_the_simulator(
    file: Path, tmp_path: Path, store_location: Location
) -> None:
    result = await run_in_simulator(load_scenario(file), tmp_path, location=store_location)
    assert result.summary is not None
    assert result.problems == []


async def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The checker is not a rubber stamp: a scenario expecting the wrong queue fails."""
    scenario = load_scenario(REPO / "tests" / "scenarios" / "periksa_alamat_salah.yaml")
    expect = scenario.expect.model_copy(update={"queue": "status"})
    result = await run_in_simulator(scenario.model_copy(update={"expect": expect}), tmp_path)
    assert result.problems == ["queue: expected status, got periksa"]
