"""``pln123 hours`` and ``pln123 holiday`` on a real store file and the repository's
data files, with the commands' clock fixed: each change is stored and audited; every
bad input is one line, exit status 2, nothing stored."""

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

from ivr.cli import hours as hours_cli
from ivr.cli.main import cli
from ivr.store.calls import connect
from ivr.store.control import read_audit
from ivr.store.schema import migrate
from tests.support import REPO

WIB = ZoneInfo("Asia/Jakarta")
#: Monday 2026-03-02 10:00 WIB.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=WIB).timestamp()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "pln123.sqlite3"
    conn = connect(path)
    migrate(conn)
    conn.close()
    monkeypatch.setattr(hours_cli, "_now", lambda: T0)
    yield path


def run(db: Path, *args: str) -> Result:
    env = {
        **os.environ,
        "PLN123_CONFIG": "",
        "PLN123_DB_PATH": str(db),
        "PLN123_FLOWS_DIR": str(REPO / "flows"),
    }
    return CliRunner().invoke(cli, list(args), env=env)


def changes(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return [
            *conn.execute("SELECT queue FROM queue_schedules"),
            *conn.execute("SELECT queue FROM queue_closures"),
            *conn.execute("SELECT date FROM holiday_changes"),
        ]


def test_close_show_and_reset(db: Path) -> None:
    shown = run(db, "hours", "show", "tambah_daya")
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("tambah_daya: open\n")
    closed = run(db, "hours", "close", "tambah_daya", "--until", "13:00", "--reason", "rapat",
                 "--by", "rina")  # fmt: skip
    assert closed.exit_code == 0, closed.output
    assert closed.output == (
        "tambah_daya: closed (closed by ops until 2026-03-02 13:00 WIB: rapat),"
        " opens 2026-03-02 13:00 WIB\n"
    )
    [item] = json.loads(run(db, "hours", "show", "tambah_daya", "--json").output)
    assert (item["open"], item["reason"], item["closure"]["created_by"]) == (
        False,
        "ditutup",
        "rina",
    )
    reset = run(db, "hours", "reset", "tambah_daya", "--by", "rina")
    assert reset.exit_code == 0, reset.output
    assert reset.output == "tambah_daya: back to jam_layanan.yaml; open\n"
    with connect(db) as conn:
        assert [e.action for e in read_audit(conn)] == ["hours.reset", "hours.close"]
    audit = run(db, "audit")
    assert "rina  hours.close  queue:tambah_daya" in audit.output


def test_set_hours_marks_the_change(db: Path) -> None:
    result = run(db, "hours", "set", "umum", "--day", "sabtu=08:00-14:00", "--day", "minggu=tutup",
                 "--callback", "yes", "--alternative", "none")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sabtu 08:00-14:00" in result.output and "(ops: cli:" in result.output
    assert "callback yes, alternative -" in result.output
    [item] = json.loads(run(db, "hours", "show", "umum", "--json").output)
    assert item["record"]["source"] == "ops"


def test_holidays_add_list_remove(db: Path) -> None:
    added = run(db, "holiday", "add", "2026-04-06", "--name", "Cuti bersama tambahan",
                "--kind", "cuti_bersama")  # fmt: skip
    assert added.exit_code == 0, added.output
    removed = run(db, "holiday", "remove", "2027-03-10")
    assert removed.exit_code == 0, removed.output
    listed = run(db, "holiday", "list", "--year", "2026").output
    assert "2026-04-06  cuti_bersama    Cuti bersama tambahan  (ops)" in listed
    listed_2027 = run(db, "holiday", "list", "--year", "2027").output
    assert "2027-03-10  removed by cli:" in listed_2027
    data = json.loads(run(db, "holiday", "list", "--year", "2026", "--json").output)
    assert {"date": "2026-04-06", "name": "Cuti bersama tambahan", "kind": "cuti_bersama",
            "provisional": False, "source": "ops"} in data["holidays"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["hours", "set", "umum", "--day", "sabtu=17:00-08:00"], "start must be before the end"),
        (["hours", "set", "umum", "--day", "sunday=08:00-12:00"], "DAY one of senin"),
        (["hours", "set", "antrean_baru", "--day", "senin=08:00-12:00"], "no queue 'antrean_baru'"),
        (["hours", "set", "umum", "--alternative", "umum"], "its own alternative"),
        (["hours", "close", "umum", "--until", "kemarin"], "is not a time"),
        (["hours", "close", "periksa", "--until", "13:00"], "always open"),
        (["hours", "close", "umum", "--until", "13:00", "--reason", "x" * 201], "at most 200"),
        (["hours", "reset", "umum"], "no changes to reset"),
        (["hours", "show", "antrean_baru"], "no queue"),
        (["holiday", "add", "2026-03-21", "--name", "x", "--kind", "cuti_bersama"], "already"),
        (["holiday", "add", "2026-02-30", "--name", "x", "--kind", "cuti_bersama"], "not a date"),
        (["holiday", "add", "2025-12-01", "--name", "x", "--kind", "cuti_bersama"], "in the past"),
        (["holiday", "add", "2026-04-06", "--name", "x", "--kind", "libur"], "libur"),
        (["holiday", "remove", "2026-04-06"], "is no holiday"),
        (["hours", "close", "umum", "--until", "13:00", "--by", " "], "give a name"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_stored(
    db: Path, args: list[str], says: str
) -> None:
    result = run(db, *args)
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and says in error[0], result.output
    assert changes(db) == []
    with connect(db) as conn:
        assert read_audit(conn) == []
