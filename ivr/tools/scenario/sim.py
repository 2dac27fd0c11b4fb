"""A scenario in the simulator: the answers keyed in-process, the record checked."""

from __future__ import annotations

from ivr.agi import variables as var
from ivr.backends.ports import Backends
from ivr.config import Settings
from ivr.engine.context import utc_now
from ivr.engine.library import FlowLibrary
from ivr.sim.runner import simulate_call
from ivr.store.calls import CallStore
from ivr.tools.scenario.answerer import ScenarioAnswerer
from ivr.tools.scenario.check import mismatches
from ivr.tools.scenario.clock import fixed_clock
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.outages import scenario_outages
from ivr.tools.scenario.result import ScenarioResult


async def run_scenario_sim(
    scenario: Scenario,
    settings: Settings,
    library: FlowLibrary,
    store: CallStore,
    backends: Backends | None = None,
) -> ScenarioResult:
    """A scenario in the simulator."""
    if scenario.flow not in library.flows:
        return ScenarioResult(scenario, "sim", None, [f"no flow named {scenario.flow!r}"])
    answerer = ScenarioAnswerer(scenario)
    clock = fixed_clock(scenario.at) if scenario.at is not None else utc_now
    with scenario_outages(store.connection, scenario):
        summary = await simulate_call(
            settings,
            library,
            store,
            scenario.flow,
            scenario.caller,
            answerer,
            backends=backends,
            args=scenario.args,
            clock=clock,
        )
        if scenario.queue_timeout and summary.outcome == "queued":
            # What the dialplan does after the longest wait in an unanswered queue.
            summary = await simulate_call(
                settings,
                library,
                store,
                var.CALLBACK_FLOW,
                scenario.caller,
                answerer,
                backends=backends,
                args=[summary.queue or "", summary.call_id],
                clock=clock,
            )
    problems = answerer.errors + mismatches(summary, scenario.expect)
    return ScenarioResult(scenario, "sim", summary, problems)
