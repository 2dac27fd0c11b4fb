"""A hangup at any input of the PERIKSA flow leaves a record with every answer given so
far, outcome ``hangup``, and nothing logged as an error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ivr.actions import ACTIONS
from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.scenario.model import Expect, load_scenario
from ivr.sim.runner import run_scenario_sim
from ivr.store.calls import CallStore

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "scenarios"
#: Scenarios that together pass every input node of the PERIKSA flow.
WALKS = [
    "periksa_dipandu_lengkap",
    "periksa_padam_layar_gelap",
    "periksa_mcb_tidak_dipandu_konfirmasi",
    "periksa_tanpa_idpel_padam",
]


def hangup_points() -> list[tuple[str, str, int]]:
    """(scenario, ask tag, how many answers come before it) for every ask of each walk."""
    points = []
    for name in WALKS:
        scenario = load_scenario(SCENARIOS / f"{name}.yaml")
        asks = list(scenario.answers)
        points += [(name, ask, index) for index, ask in enumerate(asks)]
    return points


@pytest.mark.parametrize(
    ("name", "ask", "given"), hangup_points(), ids=[f"{n}-{a}" for n, a, _ in hangup_points()]
)
async def test_hangup_at_any_ask_keeps_the_answers(
    name: str, ask: str, given: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    scenario = scenario.model_copy(update={"hangup_at": ask, "expect": Expect()})
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    seed(settings.db_path)
    library = load_library(REPO / "flows", REPO / "audio", ACTIONS)
    store = CallStore(settings.db_path)
    database = EmbeddedDatabase(settings.db_path)
    caplog.set_level(logging.WARNING)
    try:
        result = await run_scenario_sim(scenario, settings, library, store, database.backends())
    finally:
        database.close()
        store.close()
    assert result.summary is not None
    assert result.summary.outcome == "hangup"
    stored = [answer["ask"] for answer in result.summary.answers]
    # every answer before the hang-up point (an ask answered twice counts once here)
    assert list(dict.fromkeys(stored)) == list(scenario.answers)[:given]
    assert result.summary.asks[-1] == ask
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
