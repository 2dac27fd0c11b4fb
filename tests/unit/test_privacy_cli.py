"""``pln123 privacy export|erase`` on a real store file, with the clock fixed."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ivr.cli import privacy as privacy_cli
from ivr.cli.main import cli
from ivr.store.calls import connect
from ivr.store.control import read_audit
from ivr.store.schema import migrate
from tests.unit.test_privacy import NOW, add_call


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "var" / "pln123.sqlite3"
    conn = connect(path)
    migrate(conn)
    add_call(conn, "budi", NOW - 3600, caller="+6281234567890", idpel="532112345678")
    add_call(conn, "siti", NOW - 600, caller="0215551234", idpel="111122223333")
    conn.execute("INSERT INTO crm_callers (phone, name) VALUES ('081234567890', 'Budi Santoso')")
    conn.close()
    monkeypatch.setattr(privacy_cli, "_now", lambda: NOW)
    yield path


def run(db: Path, *args: str, input: str | None = None) -> Result:
    env = {**os.environ, "PLN123_CONFIG": "", "PLN123_DB_PATH": str(db)}
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def callers(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [c for (c,) in conn.execute("SELECT caller FROM calls ORDER BY started_at")]


def test_export_prints_json(db: Path) -> None:
    result = run(db, "privacy", "export", "--phone", "0812-3456-7890")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [call["id"] for call in data["calls"]] == ["budi"]
    assert data["master_data"]["crm_callers"][0]["name"] == "Budi Santoso"
    assert "note" in data


def test_export_writes_a_file(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "budi.json"
    result = run(db, "privacy", "export", "--idpel", "532112345678", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "1 calls" in result.output
    assert json.loads(out.read_text())["selector"] == {"idpel": "532112345678"}
    assert out.stat().st_mode & 0o077 == 0


def test_erase_asks_first(db: Path) -> None:
    result = run(db, "privacy", "erase", "--phone", "+62 812 3456 7890", input="n\n")
    assert result.exit_code == 1
    assert "erase 1 calls" in result.output and "phone:*********890" in result.output
    assert callers(db) == ["+6281234567890", "0215551234"]


def test_erase_with_yes_prints_counts_and_audits(db: Path) -> None:
    result = run(db, "privacy", "erase", "--phone", "6281234567890", "--yes", "--by", "dpo")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("erased phone:*********890: calls 1,")
    assert "kept: master data" in result.output
    assert callers(db) == ["", "0215551234"]
    conn = connect(db)
    try:
        (entry,) = read_audit(conn)
    finally:
        conn.close()
    assert (entry.actor, entry.action, entry.subject) == (
        "dpo",
        "privacy.erase",
        "phone:*********890",
    )
    again = run(db, "privacy", "erase", "--phone", "081234567890", "--yes")
    assert again.exit_code == 0
    assert again.output == "nothing stored about phone:*********890 in call records\n"
    export = json.loads(run(db, "privacy", "export", "--phone", "081234567890").output)
    assert export["calls"] == [] and export["mentions"] == {}


def test_erase_confirmed_at_the_prompt(db: Path) -> None:
    result = run(db, "privacy", "erase", "--idpel", "111122223333", input="y\n")
    assert result.exit_code == 0, result.output
    assert callers(db) == ["+6281234567890", ""]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export"], "exactly one of --phone or --idpel"),
        (["erase", "--yes"], "exactly one of --phone or --idpel"),
        (["export", "--phone", "0812", "--idpel", "532112345678"], "exactly one"),
        (["export", "--phone", "nomor-saya"], "is no phone number"),
        (["erase", "--phone", "---", "--yes"], "is no phone number"),
        (["export", "--idpel", "53211234567x"], "is no IDPEL"),
    ],
)
def test_bad_input_exits_2(db: Path, args: list[str], message: str) -> None:
    result = run(db, "privacy", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert callers(db) == ["+6281234567890", "0215551234"]


def test_no_store(tmp_path: Path) -> None:
    result = run(tmp_path / "none.sqlite3", "privacy", "export", "--phone", "081234567890")
    assert result.exit_code == 1
    assert "no call store" in result.output
