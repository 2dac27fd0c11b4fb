"""No statement a call, the screen-pop hub or the ops page's refresh runs scans a table
that grows with traffic (``EXPLAIN QUERY PLAN`` on a store with past calls in it).

The statements are not listed here: they are caught as they run (every connection's
trace callback), from scenarios of every flow in the simulator, the hub's store
(:class:`ivr.store.pops.PopStore`), the ops statistics and a call's summary. A new
statement that scans fails this test, wherever it is.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from ivr.backends.demo import seed
from ivr.ops.stats import compute_stats
from ivr.store.calls import read_summary
from ivr.store.pops import PopStore
from ivr.tools.bench import prefill
from ivr.tools.scenario.model import load_scenario
from tests.support import REPO, run_in_simulator

#: Tables only ops fill by hand (a row per declared outage, closure, holiday...): a
#: scan of them reads a few rows however busy the IVR is.
SMALL_TABLES = {
    "control_version",
    "outages",
    "announcements",
    "queue_schedules",
    "queue_closures",
    "holiday_changes",
}
#: Up to this many scenarios of each flow family (the file name's first word).
PER_FAMILY = 2


def _scenarios() -> list[Path]:
    files = sorted((REPO / "tests" / "scenarios").glob("*.yaml"))
    chosen: list[Path] = []
    for _, family in groupby(files, key=lambda f: f.stem.split("_")[0]):
        chosen += list(family)[:PER_FAMILY]
    return chosen


class Statements:
    """Every statement run on any connection opened while recording."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def trace(self, sql: str) -> None:
        text = re.sub(r"\s+", " ", sql.strip())
        if not text.upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT", "WITH")):
            return
        # one example per shape: literals as ?
        shape = re.sub(r"'(?:[^']|'')*'|-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b|-?\bInf\b", "?", text)
        self.seen.setdefault(shape, text)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[Statements]:
    recorded = Statements()
    connect = sqlite3.connect

    def tracing(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(recorded.trace)
        return conn

    monkeypatch.setattr(sqlite3, "connect", tracing)
    yield recorded


@pytest.fixture(scope="module")
def full_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with 2,000 past calls (and the demo data), as ``--prefill`` makes it."""
    path = tmp_path_factory.mktemp("plans") / "calls.sqlite3"
    prefill.build(2000, path, progress=lambda _: None)
    seed(path)
    return path


def scans(conn: sqlite3.Connection, sql: str) -> list[str]:
    """The full scans in ``sql``'s plan of tables outside :data:`SMALL_TABLES`."""
    sql = re.sub(r"-Inf\b", "-1e999", sql)
    sql = re.sub(r"\bInf\b", "1e999", sql)
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    found = []
    for step in plan:
        match = re.match(r"SCAN (\w+)", step)
        if match and match.group(1) not in SMALL_TABLES and match.group(1) != "CONSTANT":
            found.append(step)
    return found


def assert_no_scans(store: Path, statements: Statements, at_least: int) -> None:
    conn = sqlite3.connect(store)
    try:
        bad = {
            sql: found
            for sql in statements.seen.values()
            if not sql.upper().startswith("INSERT") or "SELECT" in sql.upper()
            if (found := scans(conn, sql))
        }
    finally:
        conn.close()
    assert len(statements.seen) >= at_least, sorted(statements.seen)
    assert not bad, "statements that scan:\n" + "\n".join(f"{s}\n    {p}" for s, p in bad.items())


async def test_the_call_path_uses_indexes(
    statements: Statements, full_store: Path, tmp_path: Path
) -> None:
    for number, file in enumerate(_scenarios()):
        folder = tmp_path / str(number)
        folder.mkdir()
        await run_in_simulator(load_scenario(file), folder)
    assert_no_scans(full_store, statements, at_least=40)


def test_the_hub_uses_indexes(statements: Statements, full_store: Path, tmp_path: Path) -> None:
    store_file = tmp_path / "calls.sqlite3"
    store_file.write_bytes(full_store.read_bytes())
    pops = PopStore(store_file)
    try:
        with sqlite3.connect(store_file) as conn:
            (pop_id,) = conn.execute("SELECT id FROM screenpops LIMIT 1").fetchone()
        statements.seen.clear()  # the test's own statements
        assert pops.pop_data(pop_id) is not None
        pops.ring(pop_id, "cso1", "umum", "081200000007", 1.0)
        pops.set_state(pop_id, "connected", agent="cso1", only_from="ringing")
        pops.set_state(pop_id, "done")
        pops.recent("cso1", 0.0, 50)
        task = pops.add_callback(pop_id, pop_id, "081200000007", "umum")
        pops.open_callbacks()
        pops.close_callback(task.id, "cso1")
    finally:
        pops.close()
    assert_no_scans(full_store, statements, at_least=7)


def test_the_ops_refresh_and_a_summary_use_indexes(
    statements: Statements, full_store: Path
) -> None:
    conn = sqlite3.connect(full_store)
    try:
        (call_id,) = conn.execute("SELECT id FROM calls ORDER BY rowid DESC LIMIT 1").fetchone()
        until = datetime.now(UTC)
        reads: list[Callable[[], object]] = [
            lambda: compute_stats(conn, until - timedelta(hours=1), until),
            lambda: compute_stats(conn, until - timedelta(days=1), until, flow="main"),
            lambda: read_summary(conn, call_id),
        ]
        statements.seen.clear()  # the test's own statements
        for read in reads:
            read()
    finally:
        conn.close()
    assert_no_scans(full_store, statements, at_least=8)


def test_a_scan_is_caught(full_store: Path) -> None:
    """The check is not a rubber stamp: a statement on an unindexed column fails."""
    recorded = Statements()
    recorded.trace("SELECT id FROM calls WHERE caller = '081200000007'")
    with pytest.raises(AssertionError, match="SCAN calls"):
        assert_no_scans(full_store, recorded, at_least=1)
