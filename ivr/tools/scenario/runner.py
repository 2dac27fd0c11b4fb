"""Running scenario files one way or the other."""

from __future__ import annotations

from ivr.config import Settings
from ivr.engine.library import FlowLibrary
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
    from ivr.store.calls import CallStore
    from ivr.tools.scenario.sim import run_scenario_sim

    store = CallStore(settings.db_path)
    # Each scenario declares its outages just before its call: read them every time.
    database = EmbeddedDatabase(settings.db_path, conn=store.connection, outage_poll_seconds=0.0)
    backends = guarded(database.backends(), settings.backend_timeout)
    try:
        return [await run_scenario_sim(s, settings, library, store, backends) for s in scenarios]
    finally:
        database.close()
        store.close()
