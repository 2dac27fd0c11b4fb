"""``pln123 bench agi --prefill N``: the store of N past calls it makes, its cache, and
a small bench run on it."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ivr.backends.demo import seed
from ivr.cli import main as cli_main
from ivr.config import Settings
from ivr.domain.reports import is_report_number
from ivr.store.calls import CallStore, read_summary
from ivr.store.schema import MIGRATIONS
from ivr.tools.bench import agi, prefill
from tests.support import REPO

N = 2000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prefill") / "store.sqlite3"
    prefill.build(N, path, progress=lambda _: None)
    return path


def test_the_store_holds_n_calls_in_the_proportions_of_traffic(built: Path) -> None:
    counts = prefill.counts(built)
    assert counts["calls"] == N

    def about(count: int, share: float) -> bool:
        return abs(count - share * N) <= 0.01 * N

    queued = sum(k.share for k in prefill.KINDS if k.queue is not None) / 100
    assert counts["screenpops"] == counts["queue_calls"]
    assert about(counts["screenpops"], queued)
    # one in ten rang at a CSO who missed it first
    assert about(counts["pop_deliveries"], queued * 1.1)
    assert about(counts["reports"], 0.2) and about(counts["apkt_issues"], 0.2)
    assert about(counts["callbacks"], 0.05)
    assert 4 * N < counts["answers"] < 6 * N
    assert 10 * N < counts["journeys"] < 15 * N


def test_the_rows_are_valid(built: Path) -> None:
    with sqlite3.connect(built) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        first, last = conn.execute("SELECT min(started_at), max(started_at) FROM calls").fetchone()
        # a year, ending before today
        span = (time.mktime(time.strptime(last[:19], "%Y-%m-%dT%H:%M:%S"))) - time.mktime(
            time.strptime(first[:19], "%Y-%m-%dT%H:%M:%S")
        )
        assert 360 * 86400 < span <= 366 * 86400
        assert last[:10] < time.strftime("%Y-%m-%d", time.gmtime())
        # every call has its answers and its journey; no dangling rows
        assert conn.execute(
            "SELECT count(*) FROM calls c WHERE NOT EXISTS"
            " (SELECT 1 FROM answers a WHERE a.call_id = c.id)"
        ).fetchone() == (0,)
        for table, column in [
            ("journeys", "call_id"),
            ("screenpops", "call_id"),
            ("pop_deliveries", "pop_id"),
            ("queue_calls", "pop_id"),
            ("callbacks", "call_id"),
            ("apkt_issues", "call_id"),
        ]:
            orphans = conn.execute(
                f"SELECT count(*) FROM {table} t WHERE NOT EXISTS"
                f" (SELECT 1 FROM calls c WHERE c.id = t.{column})"
            ).fetchone()
            assert orphans == (0,), table
        numbers = [n for (n,) in conn.execute("SELECT number FROM reports")]
        assert len(numbers) == len(set(numbers)) > 0
        assert all(n.startswith("G") and is_report_number(n) for n in numbers)
        ids = [i for (i,) in conn.execute("SELECT id FROM calls LIMIT 50")]
        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
        (data,) = conn.execute("SELECT data FROM screenpops LIMIT 1").fetchone()
        pop = json.loads(data)
        assert pop["call_id"] and pop["customer"]["idpel"].startswith("53")
        # none of the demo's callers and customers, so bench calls go the same way
        assert conn.execute(
            "SELECT count(*) FROM calls WHERE caller IN ('081234567890', '081298765432')"
            " OR idpel = '532112345678'"
        ).fetchone() == (0,)


def test_the_store_opens_and_reads_like_a_live_one(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "calls.sqlite3"
    copy.write_bytes(built.read_bytes())
    seed(copy)  # the bench seeds the demo data over it
    store = CallStore(copy)
    try:
        (call_id,) = store.connection.execute(
            "SELECT id FROM calls WHERE outcome = 'report_created' LIMIT 1"
        ).fetchone()
        summary = read_summary(store.connection, call_id)
        assert summary is not None and summary.report is not None
        assert summary.answers and summary.path
    finally:
        store.close()


def test_the_file_is_built_once_and_copied(tmp_path: Path) -> None:
    said: list[str] = []
    cache = tmp_path / "cache"
    first = prefill.prefilled(300, tmp_path / "a" / "calls.sqlite3", cache, said.append)
    built_at = first.stat().st_mtime_ns
    second = prefill.prefilled(300, tmp_path / "b" / "calls.sqlite3", cache, said.append)
    assert first == second == prefill.cache_file(300, cache)
    assert second.stat().st_mtime_ns == built_at
    assert any("reusing" in line for line in said)
    assert any("300/300 calls" in line for line in said)  # progress while building
    assert prefill.counts(tmp_path / "b" / "calls.sqlite3")["calls"] == 300
    assert prefill.cache_file(301, cache) != first


def test_nothing_to_prefill_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        prefill.build(0, tmp_path / "x.sqlite3")


def test_cli_passes_prefill(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    async def fake(*args: Any, **kwargs: Any) -> str:
        seen.update(kwargs)
        return "the table"

    monkeypatch.setattr(agi, "run_bench", fake)
    monkeypatch.setattr(cli_main, "_settings", lambda: "settings")
    result = CliRunner().invoke(
        cli_main.cli, ["bench", "agi", "--path", "report", "--prefill", str(N)]
    )
    assert result.exit_code == 0, result.output
    assert seen["prefill"] == N
    result = CliRunner().invoke(cli_main.cli, ["bench", "agi", "--prefill", "-1"])
    assert result.exit_code != 0


async def test_a_small_bench_runs_on_a_prefilled_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The bench's calls are counted apart from the prefilled ones (whose outcomes are
    the same words): a run on N past calls fails none."""
    monkeypatch.setattr(agi, "PREFILL_CACHE", tmp_path / "cache")
    monkeypatch.chdir(REPO)
    settings = Settings(flows_dir=REPO / "flows", audio_dir=REPO / "audio")
    # the cso path: its queue (periksa) is open at any hour
    table = await agi.run_bench(settings, 4, "cso", 1, prefill=N)
    assert table.startswith(f"store: {N:,} past calls")
    assert "PASS  failed calls == 0" in table, table
    assert "database has" not in table, table
    assert prefill.cache_file(N, tmp_path / "cache").exists()
