"""``pln123 outage add|list|end`` and ``pln123 audit`` on a real store file, with the
clock of the commands fixed."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from ivr.cli import outage as outage_cli
from ivr.cli.main import cli
from ivr.store.calls import connect
from ivr.store.control import control_version, read_audit, record_outage_event
from ivr.store.schema import migrate

WIB = ZoneInfo("Asia/Jakarta")
#: 2025-03-01 10:00 WIB.
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=WIB).timestamp()
CUSTOMERS = [
    ("111111111111", "UP3 Bulungan", "ULP Kebayoran Baru"),
    ("222222222222", "UP3 Bulungan", "ULP Cipete"),
    ("333333333333", "UP3 Bali Selatan", "ULP Kuta"),
    ("444444444444", "UP3 Makassar Selatan", "ULP Panakkukang"),
]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "var" / "pln123.sqlite3"
    conn = connect(path)
    migrate(conn)
    conn.executemany(
        "INSERT INTO customers (idpel, name, unit, posko) VALUES (?, 'Pelanggan', ?, ?)", CUSTOMERS
    )
    conn.close()
    monkeypatch.setattr(outage_cli, "_now", lambda: T0)
    yield path


def run(db: Path, *args: str) -> Result:
    env = {**os.environ, "PLN123_CONFIG": "", "PLN123_DB_PATH": str(db)}
    return CliRunner().invoke(cli, list(args), env=env)


def outages(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM outages").fetchall()


def add(db: Path, *extra: str) -> Result:
    return run(
        db,
        "outage",
        "add",
        "--unit",
        "up3 bulungan",
        "--unit",
        "ULP Kuta",
        "--area-code",
        "021",
        "--message",
        "Gangguan penyulang, petugas sedang menuju lokasi.",
        "--until",
        "15:00",
        "--report",
        "G9925030100001",
        "--by",
        "ops:rina",
        *extra,
    )


def test_add_list_end_round_trip(db: Path) -> None:
    result = add(db)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "outage 1: UP3 Bulungan, ULP Kuta (area 021) until 2025-03-01 15:00 WIB,"
        " report G9925030100001: Gangguan penyulang, petugas sedang menuju lokasi.\n"
    )
    conn = connect(db)
    record_outage_event(conn, 1, "call-a", "heard", T0 + 10)
    record_outage_event(conn, 1, "call-a", "attached", T0 + 20)
    record_outage_event(conn, 1, "call-b", "heard", T0 + 30)
    record_outage_event(conn, 1, "call-b", "hung_up", T0 + 40)
    conn.close()

    listed = run(db, "outage", "list")
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()
    assert header.split() == [
        "id",
        "units",
        "until",
        "status",
        "heard",
        "attached",
        "cso",
        "hung",
        "up",
    ]
    assert row.split("  ")[1:3] == ["UP3 Bulungan, ULP Kuta (area 021)", "2025-03-01 15:00 WIB"]
    assert row.split()[-6:] == ["WIB", "active", "2", "1", "0", "1"]

    data = json.loads(run(db, "outage", "list", "--json").output)
    assert len(data) == 1
    assert data[0]["units"] == ["UP3 Bulungan", "ULP Kuta"]
    assert data[0]["until_wib"] == "2025-03-01 15:00 WIB"
    assert data[0]["until"] == datetime(2025, 3, 1, 15, 0, tzinfo=WIB).timestamp()
    assert data[0]["status"] == "active" and data[0]["created_by"] == "ops:rina"
    assert data[0]["counts"] == {"heard": 2, "attached": 1, "cso": 0, "hung_up": 1}

    ended = run(db, "outage", "end", "1", "--by", "ops:budi")
    assert ended.exit_code == 0, ended.output
    assert ended.output.startswith("outage 1 ended at 2025-03-01 10:00 WIB: UP3 Bulungan")
    assert run(db, "outage", "list").output == "no outages\n"
    everything = json.loads(run(db, "outage", "list", "--all", "--json").output)
    assert [(o["id"], o["status"], o["ended_by"]) for o in everything] == [(1, "ended", "ops:budi")]

    conn = connect(db)
    end_row, add_row = read_audit(conn)
    assert control_version(conn) == 2
    conn.close()
    assert (add_row.action, add_row.actor, add_row.before) == ("outage.add", "ops:rina", None)
    assert add_row.after["units"] == ["UP3 Bulungan", "ULP Kuta"]
    assert (end_row.action, end_row.actor) == ("outage.end", "ops:budi")
    assert end_row.before["ended_at"] is None and end_row.after["ended_at"] == T0


def test_until_read_in_the_zone_given(db: Path) -> None:
    result = add(db, "--tz", "WITA")  # 15:00 WITA is 14:00 WIB
    assert result.exit_code == 0, result.output
    assert "until 2025-03-01 14:00 WIB" in result.output
    result = run(
        db, "outage", "add", "--unit", "ULP Cipete", "--message", "x", "--until",
        "2025-03-02T01:30:15+00:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "until 2025-03-02 08:30:15 WIB" in result.output


def test_list_marks_expired(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert add(db).exit_code == 0
    monkeypatch.setattr(outage_cli, "_now", lambda: T0 + 5 * 3600)  # 15:00 WIB
    assert run(db, "outage", "list").output == "no outages\n"
    assert "expired" in run(db, "outage", "list", "--all").output
    result = run(db, "outage", "end", "1")
    assert result.exit_code == 2
    assert "already expired at 2025-03-01 15:00 WIB" in result.stderr


def test_by_defaults_to_the_login_name(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outage_cli.getpass, "getuser", lambda: "rina")
    result = run(db, "outage", "add", "--unit", "ULP Kuta", "--message", "x", "--until", "12:00")
    assert result.exit_code == 0, result.output
    assert json.loads(run(db, "outage", "list", "--json").output)[0]["created_by"] == "cli:rina"


GOOD = {"--unit": "ULP Kuta", "--message": "x", "--until": "15:00"}


def options(**changes: str | None) -> list[str]:
    """The options of a good ``outage add``, with some changed (None: left out);
    ``area_code="21"`` is ``--area-code 21``."""
    given = {**GOOD, **{"--" + key.replace("_", "-"): value for key, value in changes.items()}}
    return [part for key, value in given.items() if value is not None for part in (key, value)]


BAD_INPUTS = [
    (options(unit=None), "at least one unit"),
    (options(unit="UP3 Bulungn"), "closest known: UP3 Bulungan"),
    (options(area_code="21"), "'21' is not an area code"),
    (options(area_code="02155"), "not an area code"),
    (options(message="  "), "the message is empty"),
    (options(message="x" * 501), "shorten it to 500"),
    (options(until="nanti"), "is not a time"),
    (options(until="2025-03-01 09:00"), "is not in the future"),
    (options(tz="UTC"), "'UTC' is not one of"),
    (options(report="G-1"), "not a report number"),
    (options(by=" "), "give a name"),
    (options(message=None), "Missing option '--message'"),
    (options(until=None), "Missing option '--until'"),
]


@pytest.mark.parametrize(("args", "says"), BAD_INPUTS, ids=[says for _, says in BAD_INPUTS])
def test_bad_input_exits_2_and_stores_nothing(db: Path, args: list[str], says: str) -> None:
    result = run(db, "outage", "add", *args)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert result.stdout == ""
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and says in error_lines[0]  # one line says what to fix
    assert outages(db) == []
    conn = connect(db)
    assert read_audit(conn) == [] and control_version(conn) == 0
    conn.close()


def test_unknown_unit_lists_the_closest_known(db: Path) -> None:
    result = run(db, "outage", "add", "--unit", "ULP Kut", "--message", "x", "--until", "15:00")
    assert result.exit_code == 2
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "no unit or posko named 'ULP Kut'" in line
    suggested = line.split("closest known: ")[1].split(", ")
    assert suggested[0] == "ULP Kuta"
    assert set(suggested) <= {name for _, unit, posko in CUSTOMERS for name in (unit, posko)}


@pytest.mark.parametrize(
    ("args", "says"), [(["9"], "there is no outage 9"), (["x"], "not a valid integer")]
)
def test_end_bad_id_exits_2(db: Path, args: list[str], says: str) -> None:
    result = run(db, "outage", "end", *args)
    assert result.exit_code == 2 and says in result.stderr


def test_end_twice_exits_2(db: Path) -> None:
    assert add(db).exit_code == 0
    assert run(db, "outage", "end", "1", "--by", "ops:budi").exit_code == 0
    result = run(db, "outage", "end", "1")
    assert result.exit_code == 2
    assert "already ended at 2025-03-01 10:00 WIB by ops:budi" in result.stderr
    conn = connect(db)
    assert len(read_audit(conn)) == 2
    conn.close()


def test_no_store_is_an_error(tmp_path: Path) -> None:
    result = run(tmp_path / "none.sqlite3", "outage", "list")
    assert result.exit_code == 1 and "no call store at" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_audit_lists_changes_newest_first(db: Path) -> None:
    assert add(db).exit_code == 0
    assert run(db, "outage", "end", "1", "--by", "ops:budi").exit_code == 0
    result = run(db, "audit")
    assert result.exit_code == 0, result.output
    end_line, add_line = result.output.splitlines()
    assert end_line.startswith("2025-03-01 10:00 WIB  ops:budi  outage.end  outage:1  ")
    assert end_line.endswith('ended_at: null -> "2025-03-01 10:00 WIB"; ended_by: "" -> "ops:budi"')
    assert add_line.startswith("2025-03-01 10:00 WIB  ops:rina  outage.add  outage:1  {")
    assert '"until": "2025-03-01 15:00 WIB"' in add_line
    data = json.loads(run(db, "audit", "--json").output)
    assert [entry["action"] for entry in data] == ["outage.end", "outage.add"]
    assert data[1]["before"] is None and data[1]["after"]["report_number"] == "G9925030100001"
    assert json.loads(run(db, "audit", "--since", "2025-03-02", "--json").output) == []
    assert len(json.loads(run(db, "audit", "--since", "2025-03-01", "--json").output)) == 2
    assert run(db, "audit", "--since", "kemarin").exit_code == 2
