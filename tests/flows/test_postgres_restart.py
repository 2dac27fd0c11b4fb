"""PostgreSQL going away mid-call and coming back: the call in progress and new calls
go to a CSO with their pops, the event loop never waits for the server, nothing a
caller gave is lost, and the store reconnects by itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.config import Settings
from ivr.engine.library import FlowLibrary, load_library
from ivr.engine.model import InputNode
from ivr.engine.port import Outcome
from ivr.kit import KIT
from ivr.store.pg_calls import PgCallStore
from ivr.tools.postgres_sandbox import PostgresSandbox
from ivr.tools.scenario.answerer import ScenarioAnswerer
from ivr.tools.scenario.model import load_scenario
from tests.flows.test_store_failing import MAX_STALL, StallMeter, works_again
from tests.flows.two_calls import check_all_stored, two_calls
from tests.support import REPO


@pytest.fixture
def server() -> Iterator[PostgresSandbox]:
    """A server of this test's own (the test stops and starts it), on a cluster in the
    project's cache: the server's user may not reach pytest's private temp folder."""
    sandbox = PostgresSandbox(name="test-restart", fast=True)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


async def test_postgres_restarting_mid_call_sends_callers_to_a_cso_and_loses_nothing(
    server: PostgresSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.url
    port = server.port
    settings = Settings(store={"url": url})
    seed(url)
    library: FlowLibrary = load_library(REPO / "flows", REPO / "audio", KIT)
    store = PgCallStore(url, retry_seconds=0.05)
    database = EmbeddedDatabase(url, conn=store.connection, outage_poll_seconds=0)
    scenario = load_scenario(REPO / "tests" / "scenarios" / "periksa_dipandu_lengkap.yaml")
    answers = ScenarioAnswerer(scenario)
    asked: list[str] = []

    async def answerer(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        asked.append(ask)
        if len(asked) == 3:  # two answers are on the server; the third finds it gone
            await asyncio.to_thread(server.stop)
        return await answers(flow, node, ask, attempt)

    meter = StallMeter()
    try:
        with caplog.at_level(logging.INFO):
            calls = await two_calls(settings, library, store, database, scenario, answerer)
    finally:
        meter.stop()
    assert calls.outcome is Outcome.QUEUED and calls.port.queue and calls.port.pop_id
    assert calls.other_port.queue and calls.other_port.pop_id and len(asked) == 3
    assert meter.longest < MAX_STALL, f"the loop stalled {meter.longest:.3f} s"
    assert not store.ok
    pop = store.kept_pops[calls.port.pop_id]
    assert len(calls.ctx.answers) == 3
    failures = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(failures) == 1, "a failing store is logged once, not once per write"

    back = works_again(store)
    await asyncio.to_thread(server.start, port)
    await asyncio.wait_for(back.wait(), 20)
    check_all_stored(store, calls, pop)
    await store.drain()
    database.close()
    store.close()
