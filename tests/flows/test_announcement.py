"""The global announcement in real simulated calls of the main flow: with one in force
the caller hears ops' text after the greeting and then the menu as before; once it is
ended (or past its end) the call is exactly the call without one.

The calls run through the simulator API with the scenario answerer of
``menu_selesai.yaml`` (the scenario files themselves run with no announcement).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine.library import FlowLibrary, load_library
from ivr.kit import KIT
from ivr.sim.runner import simulate_call
from ivr.store.announcements import end_announcement, set_announcement
from ivr.store.calls import CallStore, CallSummary
from ivr.tools.scenario.answerer import ScenarioAnswerer
from ivr.tools.scenario.model import load_scenario
from tests.support import REPO

FLOOD = "Sehubungan dengan banjir di wilayah Jakarta Timur, petugas kami siaga di lokasi."
SCENARIO = REPO / "tests" / "scenarios" / "menu_selesai.yaml"
MENU = "Untuk laporan kWh meter tertera periksa, tekan 1."


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return load_library(REPO / "flows", REPO / "audio", KIT)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    db = tmp_path / "calls.sqlite3"
    seed(db)
    opened = CallStore(db)
    yield opened
    opened.close()


async def call(library: FlowLibrary, store: CallStore) -> tuple[CallSummary, list[str]]:
    """One call of ``menu_selesai.yaml`` (a known caller, a wrong key, then 9); the
    summary and what the IVR said, line by line."""
    scenario = load_scenario(SCENARIO)
    said: list[str] = []
    database = EmbeddedDatabase(store.path, conn=store.connection, outage_poll_seconds=0.0)
    try:
        summary = await simulate_call(
            Settings(db_path=store.path),
            library,
            store,
            scenario.flow,
            scenario.caller,
            ScenarioAnswerer(scenario),
            echo=lambda line: said.append(line) if line.startswith("IVR: ") else None,
            backends=database.backends(),
        )
    finally:
        database.close()
    return summary, said


async def test_the_caller_hears_it_after_the_greeting_then_the_menu(
    library: FlowLibrary, store: CallStore
) -> None:
    quiet, quiet_said = await call(library, store)
    now = time.time()
    set_announcement(store.connection, message=FLOOD, until=now + 600, actor="test", now=now)

    heard, said = await call(library, store)

    assert heard.path == [
        "kenali",
        "salam_nama",
        "pengumuman",
        "pengumuman_putar",
        "menu",
        "penutup",
    ]
    assert (heard.outcome, heard.answers) == (quiet.outcome, quiet.answers)
    assert heard.variables["pengumuman_pesan"] == FLOOD
    greeting = next(i for i, line in enumerate(said) if "terima kasih telah menghubungi" in line)
    assert said[greeting + 1] == f"IVR: {FLOOD}"
    assert MENU in said[greeting + 2]
    # The rest of the call is the call without it, line for line.
    assert said[: greeting + 1] + said[greeting + 2 :] == quiet_said


async def test_an_ended_or_expired_one_adds_nothing(library: FlowLibrary, store: CallStore) -> None:
    quiet, quiet_said = await call(library, store)
    assert quiet.path == ["kenali", "salam_nama", "pengumuman", "menu", "penutup"]
    assert "pengumuman_pesan" not in quiet.variables

    now = time.time()
    set_announcement(store.connection, message=FLOOD, until=now + 600, actor="test", now=now)
    end_announcement(store.connection, "test", time.time())
    ended, ended_said = await call(library, store)
    assert (ended.path, ended_said) == (quiet.path, quiet_said)
    assert not any(FLOOD in line for line in ended_said)

    # Set two minutes ago for one minute: past its end, never ended by hand.
    before = time.time() - 120
    set_announcement(store.connection, message=FLOOD, until=before + 60, actor="test", now=before)
    expired, expired_said = await call(library, store)
    assert (expired.path, expired_said) == (quiet.path, quiet_said)
