"""Report status (SOP CTT, seed 003; keluhan moved to gangguan, seed 004): what a status
means, and finding the report, following a keluhan to the gangguan report it became."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.backends import demo
from ivr.backends.embedded import EmbeddedDatabase
from ivr.domain.report_status import (
    KIND_CTT_TOKEN,
    KIND_CTT_VISIT,
    KIND_OTHER,
    PLAIN_DEFAULT,
    plain_status,
    status_kind,
)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("SUDAH TERBIT CTT DENGAN DIDATANGI PETUGAS", KIND_CTT_VISIT),
        ("Sudah terbit CTT dengan didatangi  petugas", KIND_CTT_VISIT),
        ("SUDAH TERBIT CTT DIBERIKAN KE PELANGGAN", KIND_CTT_TOKEN),
        (
            "SUDAH TERBIT CTT DIBERIKAN KE PELANGGAN   TOKEN CTT : 40450111960272700379",
            KIND_CTT_TOKEN,
        ),
        ("LAPOR", KIND_OTHER),
        ("SELESAI", KIND_OTHER),
    ],
)
def test_status_kinds(status: str, kind: str) -> None:
    assert status_kind(status) == kind


def test_plain_statuses() -> None:
    assert plain_status("lapor") == "sudah kami terima dan akan segera ditangani oleh petugas kami"
    assert plain_status("Pengusutan  Regu") == "sedang ditangani oleh regu petugas kami"
    assert plain_status("SOMETHING NEW") == PLAIN_DEFAULT


@pytest.fixture
def db(tmp_path: Path) -> EmbeddedDatabase:
    path = tmp_path / "calls.sqlite3"
    demo.seed(path)
    return EmbeddedDatabase(path)


async def test_a_keluhan_number_gives_the_gangguan_report_it_became(db: EmbeddedDatabase) -> None:
    apkt = db.backends().apkt
    report = await apkt.report(demo.MUTATED_KELUHAN)
    assert report is not None and report.number == demo.MUTATION_REPORT
    assert report.status == "LAPOR"


async def test_a_report_is_found_by_number_finished_or_not(db: EmbeddedDatabase) -> None:
    apkt = db.backends().apkt
    finished = await apkt.report("g 2502 2000 000 45")
    assert finished is not None and finished.status == "SELESAI"
    token = await apkt.report(demo.CTT_TOKEN_REPORT)
    assert token is not None and token.ctt_token == demo.CTT_TOKEN
    visit = await apkt.report(demo.CTT_VISIT_REPORT)
    assert visit is not None and visit.detail_status == "Dalam Perjalanan"
    assert await apkt.report("G0000000000000") is None
    assert await apkt.report("") is None
