"""Running scenario files one way or the other."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ivr.config import Settings
from ivr.engine.library import FlowLibrary
from ivr.store.dbapi import DatabaseError
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.result import ScenarioResult


async def run_scenarios(
    scenarios: list[Scenario],
    via: str,
    settings: Settings,
    library: FlowLibrary,
    timeout: float,
    until: str = "end",
) -> list[ScenarioResult]:
    """Run each scenario in the simulator (``sim``) or as a real call (``asterisk``)."""
    if via == "asterisk":
        from ivr.tools.scenario.via_asterisk import run_scenarios_asterisk

        return await run_scenarios_asterisk(scenarios, settings, library, timeout, until)
    from ivr.backends.embedded import EmbeddedDatabase
    from ivr.backends.guarded import guarded
    from ivr.store.open import open_call_store
    from ivr.tools.scenario.sim import run_scenario_sim

    store = open_call_store(settings)
    # Each scenario declares its outages just before its call: read them every time.
    database = EmbeddedDatabase(
        settings.store_location, conn=store.connection, outage_poll_seconds=0.0
    )
    backends = guarded(database.backends(), settings.backend_timeout)
    try:
        return [await run_scenario_sim(s, settings, library, store, backends) for s in scenarios]
    finally:
        await store.drain()
        database.close()
        store.close()


def no_customers_hint(db_path: Path) -> str | None:
    """A one-line hint when the store has no customers (no file, no table, no row):
    the simulator's scenarios look their callers' IDPEL up there, so each would fail.
    None when it has some, or cannot be read now (the run will say why)."""
    if not db_path.is_file():
        return _hint(db_path)
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    except DatabaseError:
        return None
    try:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM customers)").fetchone()
    except sqlite3.OperationalError as exc:
        return _hint(db_path) if "no such table" in str(exc) else None
    finally:
        conn.close()
    return None if row and row[0] else _hint(db_path)


def _hint(db_path: Path) -> str:
    return f"no customers in the store ({db_path}): run `pln123 demo seed` first"
