"""Tambah daya: the tariff table's rules and costs, the embedded AP2T, and what a
registered or queued call leaves behind (AP2T row, the CSO's pop lines)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.backends.ap2t import EmbeddedAp2t, upsert_account
from ivr.backends.embedded import EmbeddedDatabase
from ivr.backends.guarded import guarded
from ivr.backends.ports import BackendError, Backends, PowerChangeCheck, PowerChangeRequest
from ivr.domain import tambah_daya
from ivr.domain.tambah_daya import TariffTable, costs, decide, intimacy_period, sla_days
from ivr.engine.loader import FlowError, load_data_file
from ivr.tools.scenario.model import load_scenario
from tests.support import REPO, numbers_from_threads, run_in_simulator

TABLE_FILE = REPO / "flows" / "data" / "tarif_tambah_daya.yaml"
SCENARIOS = REPO / "tests" / "scenarios"


@pytest.fixture(scope="module")
def table() -> TariffTable:
    return load_data_file(TABLE_FILE, TariffTable)


# --- the table's rules (SOP step 5) ------------------------------------------------------


def test_connection_fees_follow_the_published_rates(table: TariffTable) -> None:
    assert table.connection_fee(450) == 421_475
    assert table.connection_fee(900) == 843_000
    assert table.connection_fee(1300) == 1_007_500
    assert table.connection_fee(2200) == 1_705_000
    assert table.connection_fee(3500) == 2_765_000
    assert table.connection_fee(13200) == 10_494_000


@pytest.mark.parametrize(
    ("tariff", "current", "target", "kind", "target_tariff", "sop"),
    [
        ("R1", 1300, 2200, "layak", "R1", ""),
        ("R1", 2200, 3500, "layak", "R2", ""),
        ("R1M", 900, 1300, "ke_cso", "R1", "SOP PD DTKS"),
        ("R1", 450, 900, "ke_cso", "R1M", "SOP PD DTKS"),
        ("R2", 5500, 6600, "ke_cso", "R3", "SOP PD R3"),
        ("B1", 3500, 13200, "layak", "B2", ""),
        ("B1", 3500, 105000, "ke_cso", "B2", "SOP B2-I2"),
        ("I1", 13200, 197000, "ke_cso", "I2", "SOP B2-I2"),
        ("I1", 5500, 16500, "layak", "I2", ""),
        ("S2", 1300, 2200, "golongan_lain", "", "golongan tarif S2"),
        ("R1", 1300, 3000, "bukan_standar", "", ""),
        ("R1", 1300, 250000, "bukan_standar", "", ""),
        ("R1", 2200, 2200, "tidak_naik", "", ""),
        ("R1", 2200, 1300, "tidak_naik", "", ""),
    ],
)
def test_which_requests_the_ivr_takes(
    table: TariffTable,
    tariff: str,
    current: int,
    target: int,
    kind: str,
    target_tariff: str,
    sop: str,
) -> None:
    decision = decide(table, tariff, current, target)
    assert (decision.kind, decision.target_tariff, decision.sop) == (kind, target_tariff, sop)


def test_costs_of_a_household_change_with_a_first_token(table: TariffTable) -> None:
    parts = costs(table, "R1", 1300, 2200, 50_000)
    assert parts.as_dict() == {
        "biaya_penyambungan": 697_500,
        "meterai": 10_000,
        "stroom_awal": 50_000,
        "ppj": 1_500,
        "ppn": 0,  # households up to 6.600 VA are exempt
        "total": 759_000,
    }


def test_a_business_pays_ppn_on_its_first_token(table: TariffTable) -> None:
    parts = costs(table, "B1", 2200, 4400, 100_000)
    assert (parts.biaya_penyambungan, parts.ppj, parts.ppn) == (1_771_000, 3_000, 11_000)
    assert parts.total == 1_771_000 + 10_000 + 100_000 + 3_000 + 11_000


def test_postpaid_pays_no_token_and_no_tax(table: TariffTable) -> None:
    parts = costs(table, "B1", 3500, 13200, 0)
    assert (parts.stroom_awal, parts.ppj, parts.ppn, parts.total) == (0, 0, 0, 7_739_000)


@pytest.mark.parametrize(
    ("current", "target", "network", "days"),
    [
        (1300, 2200, "jtm", 5),  # single phase stays single phase
        (5500, 7700, "jtr", 5),
        (3500, 13200, "sr", 5),  # to three phase, service line up to 30 m
        (3500, 13200, "jtr", 15),
        (13200, 23000, "jtm", 25),
        (13200, 23000, "unknown", 25),  # an unknown answer: the longest
    ],
)
def test_sla_days_by_phase_and_network(
    table: TariffTable, current: int, target: int, network: str, days: int
) -> None:
    assert sla_days(table, current, target, network) == days


@pytest.mark.parametrize(
    ("nik", "valid"),
    [
        ("3174021505800003", True),
        ("3174025208850002", True),  # a woman: day + 40
        ("3174020000000000", False),  # day 00
        ("3174023213800001", False),  # month 13
        ("3174021505800000", False),  # sequence 0000
        ("317402150580000", False),
    ],
)
def test_nik_shape(nik: str, valid: bool) -> None:
    assert tambah_daya.valid_nik(nik) is valid


def test_the_flow_checks_a_nik_like_the_domain() -> None:
    text = (REPO / "flows" / "tambah_daya.yaml").read_text(encoding="utf-8")
    assert text.count(f"pattern: '{tambah_daya.NIK.pattern}'") == 3


@pytest.mark.parametrize(
    ("hour", "line"),
    [(6, "sehat"), (7, "beraktifitas"), (14, "beraktifitas"), (15, "sehat"), (18, "sehat"),
     (19, "beristirahat"), (23, "beristirahat"), (0, "beristirahat"), (3, "beristirahat"),
     (4, "sehat")],
)  # fmt: skip
def test_customer_intimacy_by_local_hour(hour: int, line: str) -> None:
    assert intimacy_period(hour) == line


def test_a_broken_table_is_refused_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "tarif_tambah_daya.yaml"
    text = TABLE_FILE.read_text(encoding="utf-8")
    broken.write_text(text.replace("meterai: 10000", "meterai: sepuluh ribu"), encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_data_file(broken, TariffTable)
    [problem] = caught.value.problems
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("meterai:"))
    assert (problem.file, problem.line) == (broken, line)
    assert "meterai" in problem.message


def test_bands_that_do_not_reach_the_largest_power_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "tarif_tambah_daya.yaml"
    text = TABLE_FILE.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("{sampai: 200000, per_va: 795}", "{sampai: 100000, per_va: 795}")
    )
    with pytest.raises(FlowError, match="biaya_penyambungan: bands must rise"):
        load_data_file(broken, TariffTable)


# --- the embedded AP2T ---------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[EmbeddedDatabase]:
    database = EmbeddedDatabase(
        tmp_path / "ap2t.sqlite3", now=lambda: datetime(2026, 11, 23, 20, 30, tzinfo=UTC)
    )
    yield database
    database.close()


def request(**changes: object) -> PowerChangeRequest:
    values: dict[str, object] = {
        "idpel": "532112345678",
        "current_tariff": "R1",
        "current_power_va": 1300,
        "target_tariff": "R1",
        "target_power_va": 2200,
        "stroom_awal": 50_000,
        "costs": {"biaya_penyambungan": 697_500},
        "is_owner": True,
        "owner_nik": "3174021505800003",
        "applicant_nik": "3174021505800003",
        "applicant_name": "Budi Santoso",
        "mobile_number": "+6281234567890",
        "caller_number": "6281234567890",
        "call_id": "c1",
    }
    return PowerChangeRequest(**(values | changes))  # type: ignore[arg-type]


async def test_a_customer_without_an_account_row_can_change(db: EmbeddedDatabase) -> None:
    ap2t = EmbeddedAp2t(db.conn)
    assert await ap2t.arrears("532112345678") == 0
    assert await ap2t.check_power_change("532112345678", 2200) == PowerChangeCheck("", "sr")


async def test_account_rows_give_arrears_notice_and_network(db: EmbeddedDatabase) -> None:
    upsert_account(
        db.conn, "5321 1234 5678", arrears_rp=120_000, refusal="P2TL", network_work="jtm"
    )
    ap2t = EmbeddedAp2t(db.conn)
    assert await ap2t.arrears("532112345678") == 120_000
    assert await ap2t.check_power_change("532112345678", 4400) == PowerChangeCheck("P2TL", "jtm")
    with pytest.raises(ValueError, match="network_work"):
        upsert_account(db.conn, "532112345678", network_work="kabel")


async def test_registration_numbers_are_the_wib_date_and_unique(db: EmbeddedDatabase) -> None:
    ap2t = db.backends().ap2t
    assert ap2t is not None
    made = await asyncio.gather(*(ap2t.register_power_change(request()) for _ in range(40)))
    numbers = [registration.number for registration in made]
    # 20:30 UTC on 23 November is 03:30 WIB on 24 November.
    assert sorted(numbers) == [f"261124{n:06d}" for n in range(1, 41)]
    assert {registration.valid_until for registration in made} == {"2026-12-24"}
    with sqlite3.connect(db.path) as conn:
        (fields,) = conn.execute(
            "SELECT fields FROM ap2t_registrations WHERE number = ?", (numbers[0],)
        ).fetchone()
    stored = json.loads(fields)
    assert stored["mobile_number"] == "081234567890" and stored["caller_number"] == "081234567890"
    assert stored["owner_nik"] == "3174021505800003"


def test_registration_numbers_unique_across_connections_and_threads(tmp_path: Path) -> None:
    db_path = tmp_path / "shared.sqlite3"
    EmbeddedDatabase(db_path).close()

    async def make(backends: Backends) -> str:
        assert backends.ap2t is not None
        return (await backends.ap2t.register_power_change(request())).number

    numbers = numbers_from_threads(db_path, make)
    assert len(numbers) == len(set(numbers)) == 80


async def test_a_slow_ap2t_is_cut_off_by_the_guard(db: EmbeddedDatabase) -> None:
    class SlowAp2t(EmbeddedAp2t):
        async def arrears(self, idpel: str) -> int:
            await asyncio.sleep(10)
            return 0

    backends = db.backends()
    slow = guarded(
        type(backends)(
            crm=backends.crm,
            customers=backends.customers,
            apkt=backends.apkt,
            ap2t=SlowAp2t(db.conn),
        ),
        timeout=0.05,
    )
    assert slow.ap2t is not None
    with pytest.raises(BackendError, match="no answer within"):
        await slow.ap2t.arrears("532112345678")


# --- what calls leave behind ---------------------------------------------------------------


async def test_a_registered_call_leaves_its_request_in_ap2t(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "tambah_daya_prabayar_terdaftar.yaml")
    result = await run_in_simulator(scenario, tmp_path)
    assert result.problems == [] and result.summary is not None
    number = result.summary.variables["registrasi"]
    with sqlite3.connect(tmp_path / "calls.sqlite3") as conn:
        row = conn.execute(
            "SELECT idpel, target_power_va, call_id, fields FROM ap2t_registrations"
            " WHERE number = ?",
            (number,),
        ).fetchone()
    assert row[:3] == ("532112345678", 2200, result.summary.call_id)
    fields = json.loads(row[3])
    assert fields["costs"] == {
        "biaya_penyambungan": 697_500,
        "meterai": 10_000,
        "stroom_awal": 50_000,
        "ppj": 1_500,
        "ppn": 0,
    }
    assert fields["applicant_name"] == "Budi Santoso" and fields["is_owner"] is True


async def test_a_queued_call_shows_the_cso_what_it_collected(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "tambah_daya_kuasa_tanpa_nama.yaml")
    result = await run_in_simulator(scenario, tmp_path)
    assert result.problems == [] and result.summary is not None
    pop = result.summary.screenpop
    assert pop is not None and pop["queue"] == "tambah_daya"
    notes = {note["label"]: note["value"] for note in pop["notes"]}
    assert notes["Layanan"] == "Tambah daya"
    assert notes["Daya sekarang"] == "R1 / 2200 VA"
    assert notes["Daya diminta"] == "R2 / 3500 VA"
    assert notes["Total biaya"] == "Rp 1.173.000"
    assert notes["NIK pemohon"] == "3174025208850002"
    assert notes["Perlu dilengkapi CSO"].startswith("nama dan alamat pemohon")
    assert "No. registrasi" not in notes and "Tunggakan" not in notes
