"""The ops figures from real calls: the known set of scenarios through the sandbox
Asterisk and ``pln123 serve``, then ``compute_stats`` over exactly their time window,
and the Prometheus endpoint's counters, which must have moved by the same numbers."""

from __future__ import annotations

import urllib.request
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.ops.stats import compute_stats
from ivr.store.calls import connect
from ivr.tools.scenario.model import load_scenario
from ivr.tools.scenario.via_asterisk import run_scenarios_asterisk
from tests.flows.test_journeys import EXPECTED_MAIN, EXPECTED_TOTALS, KNOWN_SET
from tests.support import IvrProcess

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).parents[1] / "scenarios"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(settings: Settings) -> Samples:
    """Every sample the IVR's ``/metrics`` exposes now."""
    url = f"http://{settings.web.host}:{settings.web.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far the counter ``name`` with exactly ``labels`` moved."""
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_the_known_set_as_real_calls(ivr_server: IvrProcess, e2e_settings: Settings) -> None:
    library = load_library(e2e_settings.flows_dir, e2e_settings.audio_dir, KIT)
    scenarios = [load_scenario(SCENARIOS / f"{name}.yaml") for name in KNOWN_SET]
    before = scrape(e2e_settings)
    since = datetime.now(UTC)
    results = await run_scenarios_asterisk(scenarios, e2e_settings, library, 90.0)
    until = datetime.now(UTC)
    assert [r.problems for r in results] == [[]] * len(KNOWN_SET), "".join(ivr_server.log[-40:])
    with closing(connect(e2e_settings.store_location)) as conn:
        figures = compute_stats(conn, since, until)
    for key, value in EXPECTED_TOTALS.items():
        assert figures[key] == value, key
    main = figures["flows"]["main"]["nodes"]
    for node_id, expected in EXPECTED_MAIN.items():
        assert main[node_id]["entered"] == expected["entered"], node_id
        assert main[node_id]["exits"] == expected["exits"], node_id

    after = scrape(e2e_settings)
    for outcome in ("contained", "cso", "abandoned"):
        counted = moved(before, after, "pln123_calls_total", flow="main", outcome=outcome)
        assert counted == figures[outcome], outcome
    for flow, data in figures["flows"].items():
        for node_id, node in data["nodes"].items():
            for exit, count in node["exits"].items():
                counted = moved(
                    before, after, "pln123_node_exits_total", flow=flow, node=node_id, exit=exit
                )
                assert counted == count, (flow, node_id, exit)
