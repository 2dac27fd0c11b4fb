"""Outage announcements counted from real simulated calls: a known set into a fresh
store must give exactly the expected heard, attached, cso and hung-up counts, in
``compute_stats``, in ``pln123 stats`` (table, JSON, CSV) and in ``pln123 outage list``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sqlite3
import time
from collections.abc import Iterator
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
from ivr.ops.stats import compute_stats
from ivr.store.calls import CallStore, connect
from ivr.store.control import add_outage, end_outage
from ivr.tools.scenario.model import load_scenario
from ivr.tools.scenario.sim import run_scenario_sim
from tests.support import REPO

#: Calls, in order, and the outage each must have heard ("" for none). The scenarios'
#: own outages are replaced by the two the test declares, so calls share them.
KNOWN_SET = [
    ("gangguan_dalam_wilayah_lampirkan", "kebayoran"),  # heard, attached
    ("gangguan_dalam_wilayah_ke_cso", "kebayoran"),  # heard, cso (pressed 0)
    ("gangguan_dalam_wilayah_tutup_telepon", "kebayoran"),  # heard, hung up
    ("gangguan_dalam_wilayah_lampirkan", "kebayoran"),  # heard, attached
    ("gangguan_pstn_kode_area", "kuta"),  # heard (by area code), attached
    ("periksa_tekan_0_setelah_idpel", ""),  # power on: never stopped
    ("periksa_padam_layar_gelap", ""),  # no power, but 021 and Cempaka Putih are not hit
    ("periksa_tutup_telepon_saat_kode", ""),  # power on, hangs up: counts nowhere
]
EXPECTED = {
    "kebayoran": {"heard": 4, "attached": 2, "cso": 1, "hung_up": 1},
    "kuta": {"heard": 1, "attached": 1, "cso": 0, "hung_up": 0},
    "old": {"heard": 0, "attached": 0, "cso": 0, "hung_up": 0},
}


async def fill(db: Path) -> dict[str, int]:
    """A fresh store with the demo data, three outages (one ended before the calls) and
    the known set's calls; the outages' ids by name."""
    seed(db)
    settings = Settings(db_path=db)
    library = load_library(REPO / "flows", REPO / "audio", KIT)
    store = CallStore(db)
    database = EmbeddedDatabase(db, conn=store.connection, outage_poll_seconds=0.0)
    now = time.time()
    ids = {
        "old": add_outage(
            store.connection,
            units=["ULP Kebayoran Baru"],
            message="Gangguan kemarin",
            until=now + 3600,
            actor="test",
            now=now - 60,
        ),
        "kebayoran": add_outage(
            store.connection,
            units=["ULP Kebayoran Baru"],
            message="Gangguan penyulang Kebayoran",
            report_number="G2603010000777",
            until=now + 7200,
            actor="test",
            now=now,
        ),
        "kuta": add_outage(
            store.connection,
            units=["ULP Kuta"],
            area_codes=["0361"],
            message="Gangguan gardu induk Denpasar",
            until=now + 7200,
            actor="test",
            now=now,
        ),
    }
    # Ended before any call: it must be heard by none, yet it was in force today.
    end_outage(store.connection, ids["old"], "test", now - 30)
    try:
        for name, heard in KNOWN_SET:
            scenario = load_scenario(REPO / "tests" / "scenarios" / f"{name}.yaml")
            # Their outcome, report and outage events still hold; what names the
            # scenario's own outage does not.
            expect = scenario.expect.model_copy(
                update={"variables": None, "screenpop_outage": None}
            )
            scenario = scenario.model_copy(update={"outages": [], "expect": expect})
            result = await run_scenario_sim(scenario, settings, library, store, database.backends())
            assert result.summary is not None
            assert result.problems == [], (name, result.problems)
            got = result.summary.variables.get("gangguan_id", "")
            assert got == (str(ids[heard]) if heard else ""), name
    finally:
        database.close()
        store.close()
    return ids


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    db = tmp_path_factory.mktemp("outages") / "calls.sqlite3"
    ids = asyncio.run(fill(db))
    yield db, ids


def _range() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


def _by_id(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["id"]: row for row in rows}


def test_the_known_set_gives_exact_outage_counts(known: tuple[Path, dict[str, int]]) -> None:
    db, ids = known
    with sqlite3.connect(db) as conn:
        figures = compute_stats(conn, *_range())
    rows = _by_id(figures["outages"])
    assert set(rows) == set(ids.values())
    for name, counts in EXPECTED.items():
        row = rows[ids[name]]
        assert {key: row[key] for key in counts} == counts, name
    kebayoran = rows[ids["kebayoran"]]
    assert kebayoran["units"] == ["ULP Kebayoran Baru"]
    assert kebayoran["message"] == "Gangguan penyulang Kebayoran"
    assert kebayoran["report_number"] == "G2603010000777"
    assert rows[ids["old"]]["ended_at"] is not None
    # The attached calls are contained and filed no report.
    assert figures["calls"] == len(KNOWN_SET)
    with sqlite3.connect(db) as conn:
        attached = conn.execute(
            "SELECT c.result, (SELECT COUNT(*) FROM reports r WHERE r.call_id = c.id)"
            " FROM outage_events e JOIN calls c ON c.id = e.call_id WHERE e.event = 'attached'"
        ).fetchall()
    assert attached == [("contained", 0)] * 3


def test_a_range_or_flow_without_the_calls_counts_none(known: tuple[Path, dict[str, int]]) -> None:
    db, ids = known
    since, until = _range()
    with sqlite3.connect(db) as conn:
        before = compute_stats(conn, since - timedelta(days=2), since - timedelta(days=1))
        other_flow = compute_stats(conn, since, until, flow="periksa")
    assert before["outages"] == []
    # In force during the range, but no call of the flow asked for heard them.
    assert {row["id"] for row in other_flow["outages"]} == set(ids.values())
    assert all(row["heard"] == 0 for row in other_flow["outages"])


def _cli(db: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "PLN123_CONFIG": "", "PLN123_DB_PATH": str(db)}
    env["PLN123_FLOWS_DIR"] = str(REPO / "flows")
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


def test_pln123_stats_and_outage_list_agree(known: tuple[Path, dict[str, int]]) -> None:
    db, ids = known
    since, until = _range()
    span = ("--since", since.isoformat(), "--until", until.isoformat())
    code, output = _cli(db, "stats", *span, "--json")
    assert code == 0, output
    rows = _by_id(json.loads(output)["outages"])
    for name, counts in EXPECTED.items():
        assert {key: rows[ids[name]][key] for key in counts} == counts, name

    code, output = _cli(db, "stats", *span)
    assert code == 0, output
    assert "Outage announcements (gangguan meluas)" in output
    line = next(row for row in output.splitlines() if "ULP Kuta, 0361" in row)
    assert line.split()[-4:] == ["1", "1", "0", "0"]
    line = next(row for row in output.splitlines() if row.split()[:1] == [str(ids["kebayoran"])])
    assert line.split()[-4:] == ["4", "2", "1", "1"]

    code, output = _cli(db, "stats", *span, "--csv", "--csv-table", "outages")
    assert code == 0, output
    table = {row["id"]: row for row in csv.DictReader(io.StringIO(output))}
    assert table[str(ids["kuta"])]["area_codes"] == "0361"
    assert [table[str(ids["kebayoran"])][e] for e in EXPECTED["kebayoran"]] == ["4", "2", "1", "1"]

    code, output = _cli(db, "outage", "list", "--all", "--json")
    assert code == 0, output
    listed = {row["id"]: row["counts"] for row in json.loads(output)}
    assert {name: listed[ids[name]] for name in EXPECTED} == EXPECTED


def test_the_cso_call_pop_shows_the_outage(known: tuple[Path, dict[str, int]]) -> None:
    db, ids = known
    conn = connect(db)
    try:
        (data,) = conn.execute(
            "SELECT s.data FROM screenpops s JOIN outage_events e ON e.call_id = s.call_id"
            " WHERE e.event = 'heard'"
        ).fetchone()
    finally:
        conn.close()
    outage = json.loads(data)["outage"]
    assert outage["id"] == str(ids["kebayoran"])
    assert outage["message"] == "Gangguan penyulang Kebayoran"
    assert outage["report_number"] == "G2603010000777"
    assert outage["until"].endswith(" WIB")
