"""``pln123 scenario run --via sim`` on a store with no customers: one hint, exit 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.backends.demo import seed
from ivr.cli.main import cli
from ivr.store.calls import CallStore
from ivr.tools.scenario.runner import no_customers_hint

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = ["tests/scenarios/menu_selesai.yaml", "tests/scenarios/diam_ke_cso.yaml"]
HINT = "no customers in the store ({}): run `pln123 demo seed` first"


def run(db: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PLN123_DB_PATH", str(db))
    result = CliRunner().invoke(cli, ["scenario", "run", *SCENARIOS, *args])
    return result.exit_code, result.stdout, result.stderr


def test_no_store_file_is_one_hint_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "var" / "pln123.sqlite3"
    code, out, err = run(db, monkeypatch)
    assert (code, out, err) == (2, "", HINT.format(db) + "\n")
    assert not db.exists()  # the check made nothing


def test_a_store_without_customers_is_the_same_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "pln123.sqlite3"
    CallStore(db).close()  # tables, no rows
    code, out, err = run(db, monkeypatch, "--json")
    assert (code, out, err) == (2, "", HINT.format(db) + "\n")
    assert "FAIL" not in out


def test_a_seeded_store_runs_the_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "pln123.sqlite3"
    seed(db)
    assert no_customers_hint(db) is None
    code, out, err = run(db, monkeypatch)
    assert code == 0, out + err
    assert "2 passed, 0 failed" in out
    assert "demo seed" not in out + err


def test_the_hint_reads_a_store_without_the_table(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite3"
    sqlite3.connect(db).close()
    assert no_customers_hint(db) == HINT.format(db)
