"""``pln123 bench calls`` with a handful of real calls: every call files its report, every
answer is stored as keyed, and ``--keep`` leaves what a failed call would be read by."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from ivr.config import isolated_settings
from ivr.tools.bench.calls import Options, run_bench

REPO = Path(__file__).resolve().parents[2]
CALLS = 5

pytestmark = pytest.mark.e2e


async def test_five_full_periksa_calls_file_five_reports(tmp_path: Path) -> None:
    source = isolated_settings(
        ami={"secret": secrets.token_urlsafe(16)},
        flows_dir=REPO / "flows",
        audio_dir=REPO / "audio",
    )
    kept = tmp_path / "kept"
    table = await run_bench(source, Options(CALLS, ramp=1.0, timeout=60.0, keep=kept))
    figures = re.search(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", table, re.MULTILINE)
    assert figures is not None, table
    calls, failed, reports, peak = (int(g) for g in figures.groups())
    assert (calls, failed, reports) == (CALLS, 0, CALLS), table
    assert peak >= 2, table
    assert "outcomes: report_created 5\n" in table, table
    assert "calls lost: 0; answers lost: 0" in table, table
    assert "wrong answers stored: 0 in 0 calls" in table, table
    for name in ("calls.sqlite3", "serve.log", "agi.log", "calls.jsonl", "table.txt"):
        assert (kept / name).is_file(), name
    assert (kept / "asterisk" / "log" / "full.log").is_file()
    assert (kept / "asterisk" / "log" / "dtmf.log").is_file()
    assert len((kept / "calls.jsonl").read_text().splitlines()) == CALLS
