"""Journeys and the ops figures, from real scenario calls in the simulator.

Every scenario's journey must retrace its path node by node and end as its outcome
says; a known set of calls into one fresh store must give exactly the expected
counts, rates and node exits, in ``compute_stats`` and in ``pln123 stats --json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.cli.main import cli
from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.ops.stats import compute_stats, waterfall
from ivr.store.calls import CallStore, connect, read_journey
from ivr.store.dbapi import Location, is_postgres
from ivr.store.open import open_call_store
from ivr.tools.scenario.model import load_scenario
from ivr.tools.scenario.sim import run_scenario_sim
from tests.postgres_fixture import database_name
from tests.support import REPO

SCENARIOS = sorted((REPO / "tests" / "scenarios").glob("*.yaml"))
#: The exit a call's last node must have, by the call's outcome.
LAST_EXIT = {"queued": "cso", "closed": "end", "report_created": "end", "hangup": "hangup"}
RESULT = {"queued": "cso", "closed": "contained", "report_created": "contained"}


def _label(top: str, row: dict[str, object]) -> str:
    return str(row["node"]) if row["flow"] == top else f"{row['flow']}/{row['node']}"


@pytest.mark.parametrize("file", SCENARIOS, ids=[f.stem for f in SCENARIOS])
async def test_the_journey_retraces_the_path(file: Path, tmp_path: Path) -> None:
    """One exit per node passed, in order, the last one saying how the call ended, and
    exactly one ops outcome on the record."""
    db = tmp_path / "calls.sqlite3"
    seed(db)
    settings = Settings(db_path=db)
    library = load_library(REPO / "flows", REPO / "audio", KIT)
    store, database = CallStore(db), EmbeddedDatabase(db)
    try:
        result = await run_scenario_sim(
            load_scenario(file), settings, library, store, database.backends()
        )
    finally:
        database.close()
        store.close()
    assert result.summary is not None
    with sqlite3.connect(db) as conn:
        calls = conn.execute("SELECT id, flow, outcome, result, cso_reason FROM calls").fetchall()
        for call_id, flow, outcome, ops_result, cso_reason in calls:
            journey = read_journey(conn, call_id)
            path = json.loads(
                conn.execute("SELECT path FROM calls WHERE id = ?", (call_id,)).fetchone()[0]
            )
            assert [_label(flow, row) for row in journey] == path
            assert journey[-1]["exit"] == LAST_EXIT[outcome]
            assert [row["exit"] for row in journey[:-1]].count("end") == 0
            variables = json.loads(
                conn.execute("SELECT variables FROM calls WHERE id = ?", (call_id,)).fetchone()[0]
            )
            done = variables.get("report_number") or variables.get("callback_tersimpan")
            expected = RESULT.get(outcome, "contained" if done else "abandoned")
            assert ops_result == expected
            assert (cso_reason != "") == (ops_result == "cso")


#: The known set, in this order: the same caller twice (the first call is then not
#: truly contained), a status call by a caller who calls again twice, silence at the
#: menu, a caller pressing 0 in PERIKSA, a caller hanging up in PERIKSA.
KNOWN_SET = [
    "menu_selesai",
    "menu_selesai",
    "status_laporan_selesai",
    "diam_ke_cso",
    "periksa_tekan_0_setelah_idpel",
    "periksa_tutup_telepon_saat_kode",
]


async def fill_known_store(location: Location) -> None:
    """A fresh store with the demo data and the known set's calls, in order."""
    seed(location)
    settings = _settings(location)
    library = load_library(REPO / "flows", REPO / "audio", KIT)
    store = open_call_store(settings)
    database = EmbeddedDatabase(location, conn=store.connection)
    try:
        for name in KNOWN_SET:
            scenario = load_scenario(REPO / "tests" / "scenarios" / f"{name}.yaml")
            result = await run_scenario_sim(scenario, settings, library, store, database.backends())
            assert result.problems == [], (name, result.problems)
    finally:
        await store.drain()
        database.close()
        store.close()


def _settings(location: Location) -> Settings:
    if is_postgres(location):
        return Settings(store={"url": location})
    return Settings(db_path=location)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def known_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Location]:
    """One store holding the known set's calls: a SQLite file, then a PostgreSQL
    database (the figures must be the same, exactly)."""
    if request.param == "sqlite":
        location: Location = tmp_path_factory.mktemp("known") / "calls.sqlite3"
        asyncio.run(fill_known_store(location))
        yield location
        return
    server = request.getfixturevalue("postgres_server")
    name = database_name("known_store")
    location = server.create_database(name)
    try:
        asyncio.run(fill_known_store(location))
        yield location
    finally:
        server.drop_database(name)


def _today() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


EXPECTED_TOTALS = {
    "calls": 6,
    "contained": 3,
    "cso": 2,
    "abandoned": 1,
    "open": 0,
    "true_contained": 1,
    "containment_rate": 0.5,
    "true_containment_rate": 0.1667,
    "abandon_rate": 0.1667,
    "cso_by_reason": {"caller": 1, "retries": 1},
}
#: Nodes of the main flow every call of the set passes, and how each left them.
EXPECTED_MAIN = {
    "kenali": {"entered": 6, "exits": {"next": 6}},
    "salam_nama": {"entered": 5, "exits": {"next": 5}},
    "salam": {"entered": 1, "exits": {"next": 1}},
    "menu": {"entered": 6, "exits": {"next": 5, "noinput": 1}},
    "cso": {"entered": 1, "exits": {"cso": 1}},
    "penutup": {"entered": 3, "exits": {"end": 3}},
    "periksa": {"entered": 2, "exits": {"next": 2}},
    "status": {"entered": 1, "exits": {"next": 1}},
}


def test_the_known_set_gives_exact_figures(known_store: Location) -> None:
    since, until = _today()
    with closing(connect(known_store)) as conn:
        figures = compute_stats(conn, since, until)
    for key, value in EXPECTED_TOTALS.items():
        assert figures[key] == value, key
    main = figures["flows"]["main"]["nodes"]
    for node_id, expected in EXPECTED_MAIN.items():
        assert main[node_id]["entered"] == expected["entered"], node_id
        assert main[node_id]["exits"] == expected["exits"], node_id
    assert waterfall(main["menu"]) == {
        "next": 83.3,
        "noinput": 16.7,
        "nomatch": 0.0,
        "hangup": 0.0,
        "cso": 0.0,
        "error": 0.0,
    }
    periksa = figures["flows"]["periksa"]["nodes"]
    # The caller who pressed 0 at the address check, and the one who hung up at the
    # third meter code: each node's own exit says so.
    assert sum(node["exits"].get("cso", 0) for node in periksa.values()) == 2
    assert sum(node["exits"].get("hangup", 0) for node in periksa.values()) == 1
    assert sum(row["calls"] for row in figures["calls_by_hour"]) == 6


def test_a_range_or_flow_without_the_calls_counts_none(known_store: Location) -> None:
    since, _ = _today()
    with closing(connect(known_store)) as conn:
        before = compute_stats(conn, since - timedelta(days=2), since - timedelta(days=1))
        other = compute_stats(conn, *_today(), flow="periksa")
    assert before["calls"] == 0 and before["flows"] == {}
    assert before["containment_rate"] is None
    assert other["calls"] == 0


def _cli(db: Location, *args: str) -> tuple[int, str]:
    env = {**os.environ, "PLN123_CONFIG": ""}
    env["PLN123_STORE__URL" if is_postgres(db) else "PLN123_DB_PATH"] = str(db)
    env["PLN123_FLOWS_DIR"] = str(REPO / "flows")
    result = CliRunner().invoke(cli, ["stats", *args], env=env)
    return result.exit_code, result.output


def test_pln123_stats_json_agrees(known_store: Location) -> None:
    since, until = _today()
    code, output = _cli(
        known_store, "--since", since.isoformat(), "--until", until.isoformat(), "--json"
    )
    assert code == 0, output
    figures = json.loads(output)
    for key, value in EXPECTED_TOTALS.items():
        assert figures[key] == value, key
    assert figures["flows"]["main"]["nodes"]["menu"]["exits"] == {"next": 5, "noinput": 1}
    assert set(figures["aht_seconds"]) == {"p50", "p90"}


def test_pln123_stats_table_and_csv(known_store: Location) -> None:
    since, until = _today()
    code, table = _cli(known_store, "--since", since.isoformat(), "--until", until.isoformat())
    assert code == 0, table
    assert "contained         3" in table and "true containment 16.7%" in table
    menu_row = next(line for line in table.splitlines() if line.strip().startswith("menu "))
    assert menu_row.split()[1:4] == ["6", "83.3%", "16.7%"]
    code, text = _cli(
        known_store, "--since", since.isoformat(), "--until", until.isoformat(), "--csv"
    )
    assert code == 0
    rows = text.splitlines()
    assert rows[0].startswith("flow,node,entered,next,noinput")
    assert "main,menu,6,5,1,0,0,0,0,0," in "\n".join(rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-12-04", "--until", "2026-12-01"], "is not after --since"),
        (["--flow", "tidak_ada"], "no flow named 'tidak_ada'"),
        (["--since", "kemarin"], "is not a time"),
        (["--until", "2026-13-01"], "is not a time"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    known_store: Location, args: list[str], message: str
) -> None:
    code, output = _cli(known_store, *args)
    assert code == 2
    assert message in output


class _DownCustomers:
    """Customer data that is down."""

    async def find(self, idpel_or_meter: str) -> None:
        raise ConnectionError("customer database unreachable")


class _SilentCustomers:
    """Customer data that never answers."""

    async def find(self, idpel_or_meter: str) -> None:
        await asyncio.Event().wait()


class _BuggyCustomers:
    """Customer data whose adapter has a bug (not wrapped in the guard)."""

    async def find(self, idpel_or_meter: str) -> None:
        raise RuntimeError("bug")


@pytest.mark.parametrize(
    ("customers", "guard", "reason"),
    [
        (_DownCustomers(), True, "backend"),
        (_SilentCustomers(), True, "timeout"),
        (_BuggyCustomers(), False, "error"),
    ],
    ids=["down", "silent", "bug"],
)
async def test_a_fault_is_the_cso_reason(
    customers: object, guard: bool, reason: str, tmp_path: Path
) -> None:
    """The customer lookup fails after the IDPEL: the lookup node leaves by ``error``
    and the call is queued, each saying what failed."""
    from dataclasses import replace

    from ivr.backends.guarded import guarded
    from ivr.backends.ports import Backends
    from ivr.tools.scenario.model import Expect
    from tests.support import run_in_simulator

    def adapt(backends: Backends) -> Backends:
        broken = replace(backends, customers=customers)  # type: ignore[arg-type]
        return guarded(broken, 0.05) if guard else broken

    scenario = load_scenario(REPO / "tests" / "scenarios" / "periksa_dipandu_lengkap.yaml")
    result = await run_in_simulator(
        scenario.model_copy(update={"expect": Expect()}), tmp_path, adapt
    )
    assert result.summary is not None and result.summary.outcome == "queued"
    with sqlite3.connect(tmp_path / "calls.sqlite3") as conn:
        (call_id, ops_result, cso_reason) = conn.execute(
            "SELECT id, result, cso_reason FROM calls"
        ).fetchone()
        journey = read_journey(conn, call_id)
    assert (ops_result, cso_reason) == ("cso", reason)
    lookup, queued = journey[-2], journey[-1]
    assert (lookup["node"], lookup["exit"], lookup["cause"]) == ("cari_pelanggan", "error", reason)
    assert (queued["exit"], queued["cause"]) == ("cso", reason)


async def test_an_answer_after_a_fault_makes_the_route_the_flows(tmp_path: Path) -> None:
    """The CRM is down at the greeting (its node leaves by ``error``), then the caller
    picks the CSO option themselves: the reason is the caller's, not the backend's."""
    from dataclasses import replace

    from ivr.backends.guarded import guarded
    from ivr.backends.ports import Backends
    from ivr.tools.scenario.model import Expect
    from tests.support import run_in_simulator

    class DownCrm:
        async def caller(self, phone: str) -> None:
            raise ConnectionError("CRM unreachable")

    def adapt(backends: Backends) -> Backends:
        return guarded(replace(backends, crm=DownCrm()), 0.05)

    scenario = load_scenario(REPO / "tests" / "scenarios" / "menu_status_ke_cso.yaml")
    # A Monday, 10:00 WIB: queue umum (key 0) is open.
    office_hours = datetime.fromisoformat("2026-03-02T10:00:00+07:00")
    scenario = scenario.model_copy(
        update={"answers": {"menu": "cso"}, "expect": Expect(), "at": office_hours}
    )
    result = await run_in_simulator(scenario, tmp_path, adapt)
    assert result.summary is not None and result.summary.outcome == "queued"
    with sqlite3.connect(tmp_path / "calls.sqlite3") as conn:
        (call_id, cso_reason) = conn.execute("SELECT id, cso_reason FROM calls").fetchone()
        journey = read_journey(conn, call_id)
    assert journey[0]["exit"] == "error" and journey[0]["cause"] == "backend"
    assert cso_reason == "caller"
