"""The embedded backends on a real SQLite file, the demo seed, and the guard."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.backends import demo
from ivr.backends.embedded import EmbeddedApkt, EmbeddedDatabase
from ivr.backends.guarded import guarded
from ivr.backends.ports import (
    BackendError,
    Backends,
    CallerInfo,
    ClosedIssue,
    Customer,
    Report,
    ReportRequest,
)
from ivr.backends.sqlite_base import WIB, open_database
from ivr.domain.periksa import WO_AUTODISPATCH, WO_KWH_PERIKSA
from ivr.store.calls import CallStore, connect, connect_sqlite, read_summary
from ivr.store.dbapi import Location, is_postgres
from ivr.store.pg_calls import PgCallStore
from ivr.store.schema import MIGRATIONS, migrate, schema_version
from tests.support import numbers_from_threads

NUMBER = re.compile(r"G\d{13}")
DIAGNOSIS = {
    "08": "1",
    "70": "0",
    "71": "0",
    "41": "220,4",
    "44": "0,2",
    "45": "0,2",
    "46": "0,2",
    "37": "12,5",
    "47": "Null",
}


@pytest.fixture
def db_path(store_location: Location) -> Location:
    """Each store in turn: the embedded backends run on both."""
    return store_location


@pytest.fixture
def db(db_path: Path) -> Iterator[EmbeddedDatabase]:
    demo.seed(db_path)
    database = EmbeddedDatabase(db_path)
    yield database
    database.close()


@pytest.fixture
def backends(db: EmbeddedDatabase) -> Backends:
    return db.backends()


def request(**changes: object) -> ReportRequest:
    values: dict[str, object] = {
        "reporter_name": "Budi Santoso",
        "caller_number": "081234567890",
        "address": "Jl. Melati No. 12, Kebayoran Baru",
        "wo_type": WO_KWH_PERIKSA,
        "problem_text": "DISPLAY PADA APP TERTERA PERIKSA (SELF DIAGNOSIS)",
        "idpel": "532112345678",
        "mobile_number": "081234567890",
        "contact_note": "Pelanggan dapat dihubungi via Telepon, WA & SMS",
        "self_diagnosis": DIAGNOSIS,
    }
    values.update(changes)
    return ReportRequest(**values)  # type: ignore[arg-type]


def row(path: Location, number: str) -> dict[str, Any]:
    conn = connect(path)
    try:
        cursor = conn.execute("SELECT * FROM reports WHERE number = ?", (number,))
        found = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    finally:
        conn.close()
    assert found is not None
    return dict(zip(names, found, strict=True))


# --- seed ------------------------------------------------------------------------------


def counts(path: Location) -> tuple[int, ...]:
    conn = connect(path)
    try:
        return tuple(
            int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("customers", "crm_callers", "reports")
        )
    finally:
        conn.close()


def test_seed_is_idempotent_and_restores_the_demo(db_path: Location) -> None:
    summary = demo.seed(db_path)
    assert f"{len(demo.CUSTOMERS)} customers" in summary and "4 open" in summary
    assert f"{len(demo.CALLERS)} CRM callers" in summary
    first = counts(db_path)
    conn = connect(db_path)
    conn.execute("UPDATE reports SET status = 'SELESAI' WHERE number = ?", (demo.OPEN_REPORT,))
    conn.close()
    assert demo.seed(db_path) == summary
    assert counts(db_path) == first == (len(demo.CUSTOMERS), len(demo.CALLERS), 6)
    assert row(db_path, demo.OPEN_REPORT)["status"] == "LAPOR"


def test_seed_covers_the_three_time_zones_prepaid_and_postpaid() -> None:
    zones = {customer.timezone for customer in demo.CUSTOMERS}
    assert zones == {"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"}
    for customer in demo.CUSTOMERS:
        assert re.fullmatch(r"\d{12}", customer.idpel)
        assert re.fullmatch(r"(\d{11})?", customer.meter_number)
        assert 900 <= customer.power_va <= 5500
    prepaid = [c.meter_number for c in demo.CUSTOMERS if c.meter_number]
    assert len(set(prepaid)) == len(prepaid) == len(demo.CUSTOMERS) - 1


def test_demo_docstring_lists_every_row() -> None:
    doc = demo.__doc__ or ""
    for customer in demo.CUSTOMERS:
        assert customer.idpel in doc and customer.meter_number in doc and customer.name in doc
    for idpel, *_ in demo.AP2T_ACCOUNTS:
        assert doc.count(idpel) == 2
    for caller in demo.CALLERS:
        assert caller.phone in doc and caller.name in doc
    for number in (demo.OPEN_REPORT, demo.FINISHED_REPORT, demo.MUTATION_REPORT):
        assert number in doc


# --- customers and CRM -----------------------------------------------------------------


async def test_find_by_idpel_and_by_meter(backends: Backends) -> None:
    by_idpel = await backends.customers.find("532112345678")
    by_meter = await backends.customers.find("14212345678")
    assert (
        by_idpel
        == by_meter
        == Customer(
            idpel="532112345678",
            meter_number="14212345678",
            name="Budi Santoso",
            street="Jl. Melati No. 12",
            area="Kebayoran Baru",
            unit="UP3 Bulungan",
            posko="ULP Kebayoran Baru",
            tariff="R1",
            power_va=1300,
            region="UID Jakarta Raya",
            timezone="Asia/Jakarta",
        )
    )
    wit = await backends.customers.find("1423 4455 667")
    assert wit is not None and wit.timezone == "Asia/Jayapura"


@pytest.mark.parametrize("key", ["999999999999", "99999999999", "5321123456", "", "abc"])
async def test_unknown_customer_is_none(backends: Backends, key: str) -> None:
    assert await backends.customers.find(key) is None


@pytest.mark.parametrize("phone", ["081234567890", "+6281234567890", "6281234567890"])
async def test_crm_caller_in_every_phone_form(backends: Backends, phone: str) -> None:
    assert await backends.crm.caller(phone) == CallerInfo(
        "081234567890", "Budi Santoso", "Bapak", 3
    )


async def test_crm_pstn_and_unknown(backends: Backends) -> None:
    siti = await backends.crm.caller("+62215551234")
    assert siti is not None and (siti.name, siti.salutation) == ("Siti Aminah", "Ibu")
    assert await backends.crm.caller("087800001111") is None
    assert await backends.crm.caller("") is None
    assert await backends.crm.caller("anonymous") is None


# --- APKT ------------------------------------------------------------------------------


async def test_create_report_stores_every_field(db_path: Location, backends: Backends) -> None:
    form = request(
        caller_number="+6281234567890",
        padam_at="2026-05-01 19:30",
        confirmation_at="08:00",
        call_id="no-such-call",
    )
    report = await backends.apkt.create_report(form)
    assert NUMBER.fullmatch(report.number)
    assert (report.status, report.wo_type, report.idpel) == ("LAPOR", WO_KWH_PERIKSA, form.idpel)
    assert report.caller_number == "081234567890"
    stored = row(db_path, report.number)
    fields = json.loads(stored["fields"])
    assert fields["self_diagnosis"] == DIAGNOSIS
    assert set(fields) == set(ReportRequest.__dataclass_fields__)
    assert fields["padam_at"] == "2026-05-01 19:30" and fields["call_id"] == "no-such-call"
    assert stored["status"] == "LAPOR" and stored["idpel"] == form.idpel
    assert stored["caller_number"] == stored["mobile_number"] == "081234567890"
    # No call row of that id: the report stands, unjoined.
    assert stored["call_id"] is None


def wib_day() -> str:
    return datetime.now(UTC).astimezone(WIB).strftime("%y%m%d")


async def test_report_numbers_unique_under_concurrency(backends: Backends) -> None:
    before = wib_day()
    reports = await asyncio.gather(
        *(backends.apkt.create_report(request(reporter_name=f"P{i}")) for i in range(50))
    )
    days = {before, wib_day()}  # the gather could straddle midnight WIB
    numbers = [report.number for report in reports]
    assert len(set(numbers)) == 50
    assert all(NUMBER.fullmatch(number) and number[1:7] in days for number in numbers)
    assert sorted(int(number[7:]) for number in numbers) == list(range(1, 51))


def test_report_numbers_unique_across_connections_and_threads(db_path: Location) -> None:
    demo.seed(db_path)

    async def make(backends: Backends) -> str:
        return (await backends.apkt.create_report(request())).number

    numbers = numbers_from_threads(db_path, make)
    assert len(numbers) == len(set(numbers)) == 80


async def test_number_is_wib_date_and_daily_sequence(db: EmbeddedDatabase) -> None:
    # 16:59 UTC is 23:59 WIB on 31 Dec; 23:30 UTC is already 06:30 on 1 Jan in WIB.
    clock = [datetime(2025, 12, 31, 16, 59, tzinfo=UTC)]
    apkt = EmbeddedApkt(db.conn, now=lambda: clock[0])
    first = await apkt.create_report(request())
    second = await apkt.create_report(request())
    clock[0] = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    next_day = await apkt.create_report(request())
    assert (first.number, second.number) == ("G2512310000001", "G2512310000002")
    assert next_day.number == "G2601010000001"
    assert first.created_at == "2025-12-31T16:59:00.000+00:00"
    # A day that already has numbers (the seed's open report) continues its sequence.
    clock[0] = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)
    assert (await apkt.create_report(request())).number == "G2503100000124"


# --- open reports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        {"phone": "081298765432"},
        {"phone": "+6281298765432"},
        {"phone": "6281298765432"},
        {"phone": "0812-9876-5432"},
        {"idpel": "532110987654"},
        {"number": demo.OPEN_REPORT},
        {"number": demo.OPEN_REPORT.lower()},
        {"idpel": "532110987654", "phone": "081298765432"},
    ],
)
async def test_open_report_found_by_each_key(backends: Backends, key: dict[str, str]) -> None:
    reports = await backends.apkt.open_reports(**key)
    assert [(r.number, r.status, r.wo_type) for r in reports] == [
        (demo.OPEN_REPORT, "LAPOR", WO_AUTODISPATCH)
    ]
    assert reports[0].idpel == "532110987654" and reports[0].caller_number == "081298765432"


@pytest.mark.parametrize(
    "key",
    [
        {"phone": "081234567890"},
        {"idpel": "532112345678"},
        {"number": demo.FINISHED_REPORT},
        {"number": demo.MUTATED_KELUHAN.replace("K", "G")},
        {"phone": "087800001111"},
        {},
        {"phone": "123"},
    ],
)
async def test_finished_or_unknown_not_open(backends: Backends, key: dict[str, str]) -> None:
    assert await backends.apkt.open_reports(**key) == []


@pytest.mark.parametrize(
    "key",
    [
        {"number": demo.MUTATED_KELUHAN},
        {"number": demo.MUTATION_REPORT},
        {"phone": "+6282190001234"},
        {"idpel": "722300778899"},
    ],
)
async def test_keluhan_mutated_to_gangguan(backends: Backends, key: dict[str, str]) -> None:
    reports = await backends.apkt.open_reports(**key)
    assert [report.number for report in reports] == [demo.MUTATION_REPORT]


async def test_new_report_is_open_until_finished(db: EmbeddedDatabase) -> None:
    apkt = EmbeddedApkt(db.conn)
    made = await apkt.create_report(request(caller_number="0215551234", mobile_number=""))
    assert [r.number for r in await apkt.open_reports(phone="+62215551234")] == [made.number]
    assert [r.number for r in await apkt.open_reports(idpel="532112345678")] == [made.number]
    for status in ("SELESAI", "BATAL", "nyala"):
        assert await apkt.set_status(made.number, "PENGUSUTAN REGU")
        assert len(await apkt.open_reports(number=made.number)) == 1
        assert await apkt.set_status(made.number, status)
        assert await apkt.open_reports(number=made.number) == []
    assert not await apkt.set_status("G0000000000000", "SELESAI")


async def test_mobile_number_finds_report(db: EmbeddedDatabase) -> None:
    apkt = EmbeddedApkt(db.conn)
    made = await apkt.create_report(
        request(idpel="", caller_number="0215551234", mobile_number="+6285711112222")
    )
    assert [r.number for r in await apkt.open_reports(phone="085711112222")] == [made.number]
    assert made.idpel == ""
    assert await apkt.open_reports(idpel="") == []


async def test_closed_issue_is_stored_and_joins_its_call(
    db_path: Location, db: EmbeddedDatabase
) -> None:
    store = call_store(db_path)
    try:
        await store.start_call("c-issue", "main", "+6281234567890", "Local/x", "1.1")
        issue = ClosedIssue(
            issue_type="Lain-lain",
            sub_issue_type="Lain-lain",
            description="New PLN Mobile - Lupa password",
            caller_number="+6281234567890",
            idpel="5300 1234 5678",
            call_id="c-issue",
        )
        first = await guarded(db.backends(), timeout=1.0).apkt.close_issue(issue)
        second = await EmbeddedApkt(db.conn).close_issue(issue)
        assert int(second) == int(first) + 1
        with closing(connect(db_path)) as conn:
            stored = conn.execute(
                "SELECT caller_number, idpel FROM apkt_issues WHERE id = ?", (int(first),)
            ).fetchone()
            summary = read_summary(conn, "c-issue")
        assert stored == ("081234567890", "530012345678")
        assert summary is not None
        assert summary.issues == ["New PLN Mobile - Lupa password"] * 2
    finally:
        await store.drain()
        store.close()


async def test_store_errors_become_backend_errors(db_path: Location) -> None:
    database = EmbeddedDatabase(db_path)
    backends = database.backends()
    database.close()
    with pytest.raises(BackendError, match="embedded customer data"):
        await backends.customers.find("532112345678")
    with pytest.raises(BackendError, match="embedded APKT"):
        await backends.apkt.create_report(request())
    with pytest.raises(BackendError, match="embedded CRM"):
        await backends.crm.caller("081234567890")


def test_unopenable_file_is_a_backend_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(BackendError):
        open_database(tmp_path / "dir.db")


# --- the call store on the same file ---------------------------------------------------


def call_store(location: Location) -> CallStore:
    """The call store on ``location``, as ``pln123 serve`` opens it."""
    if is_postgres(location):
        return PgCallStore(str(location))
    return CallStore(Path(location))


async def call_then_report(store: CallStore, backends: Backends, path: Location) -> None:
    await store.start_call("call-1", "periksa", "081234567890", "PJSIP/x", "1.1")
    report = await backends.apkt.create_report(request(call_id="call-1"))
    summary = read_summary(store._conn, "call-1")
    assert summary is not None and summary.report is not None
    assert summary.report["number"] == report.number
    assert row(path, report.number)["call_id"] == "call-1"
    conn = connect(path)
    try:
        assert schema_version(conn) == len(MIGRATIONS)
    finally:
        conn.close()


async def test_call_store_first_then_backends(db_path: Location) -> None:
    store = call_store(db_path)
    database = EmbeddedDatabase(db_path)
    try:
        await call_then_report(store, database.backends(), db_path)
    finally:
        await store.drain()
        database.close()
        store.close()


async def test_backends_first_then_call_store(db_path: Location) -> None:
    database = EmbeddedDatabase(db_path)
    demo.seed(db_path)
    store = call_store(db_path)
    try:
        await call_then_report(store, database.backends(), db_path)
        assert await database.backends().customers.find("14212345678") is not None
    finally:
        await store.drain()
        store.close()
        database.close()


async def test_file_from_before_migration_2_is_upgraded(tmp_path: Path) -> None:
    db_path = tmp_path / "ivr.db"
    conn = connect_sqlite(db_path)
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    conn.execute(
        "INSERT INTO reports (number, wo_type, problem_text, created_at)"
        " VALUES ('G2401010000001', 'KWH PERIKSA', 'lama', '2024-01-01T00:00:00.000+00:00')"
    )
    conn.close()
    database = EmbeddedDatabase(db_path)
    try:
        assert migrate(database.conn) == len(MIGRATIONS)
        old = await database.backends().apkt.open_reports(number="G2401010000001")
        assert [(r.status, r.idpel, r.caller_number) for r in old] == [("LAPOR", "", "")]
    finally:
        database.close()


# --- guard -----------------------------------------------------------------------------


class SlowCrm:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.cancelled = False

    async def caller(self, phone: str) -> CallerInfo | None:
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return CallerInfo(phone, "Lambat", "Bapak", 0)


class BrokenCustomers:
    async def find(self, idpel_or_meter: str) -> Customer | None:
        raise ConnectionError(f"refused for {idpel_or_meter}")


class FailingApkt:
    def __init__(self, number: str = "G2501010000001") -> None:
        self.number = number

    async def create_report(self, request: ReportRequest) -> Report:
        return Report(self.number, "LAPOR", request.wo_type, "", "", "", "")

    async def open_reports(
        self, *, idpel: str = "", number: str = "", phone: str = ""
    ) -> list[Report]:
        raise BackendError(f"APKT HTTP 503 for {phone}")


def fakes(delay: float = 10.0, number: str = "G2501010000001") -> Backends:
    return Backends(crm=SlowCrm(delay), customers=BrokenCustomers(), apkt=FailingApkt(number))


async def test_slow_backend_times_out_within_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    inner = fakes(delay=10.0)
    guard = guarded(inner, timeout=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING), pytest.raises(BackendError, match="no answer within"):
        await guard.crm.caller("081234567890")
    assert loop.time() - started < 1.0
    assert isinstance(inner.crm, SlowCrm) and inner.crm.cancelled
    assert "081234567890" not in caplog.text and "*********890" in caplog.text


async def test_fast_backend_answers_through_the_guard() -> None:
    guard = guarded(fakes(delay=0.0), timeout=1.0)
    assert await guard.crm.caller("0811") == CallerInfo("0811", "Lambat", "Bapak", 0)
    assert (await guard.apkt.create_report(request())).number == "G2501010000001"


async def test_exceptions_become_backend_errors_without_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = guarded(fakes(), timeout=1.0)
    with caplog.at_level(logging.WARNING):
        with pytest.raises(BackendError, match=r"customer lookup .* ConnectionError") as broken:
            await guard.customers.find("532112345678")
        with pytest.raises(BackendError, match=r"APKT open reports lookup .* 503") as failing:
            await guard.apkt.open_reports(phone="081298765432")
    for text in (str(broken.value), str(failing.value), caplog.text):
        assert "532112345678" not in text and "081298765432" not in text
    assert isinstance(broken.value.__cause__, ConnectionError)


async def test_malformed_report_number_is_a_backend_error() -> None:
    guard = guarded(fakes(number="12345"), timeout=1.0)
    with pytest.raises(BackendError, match="malformed number"):
        await guard.apkt.create_report(request())


async def test_cancellation_is_not_swallowed() -> None:
    inner = fakes(delay=10.0)
    guard = guarded(inner, timeout=5.0)
    task = asyncio.create_task(guard.crm.caller("081234567890"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(inner.crm, SlowCrm) and inner.crm.cancelled


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        guarded(fakes(), timeout=0)


async def test_guarded_embedded_backends(backends: Backends) -> None:
    guard = guarded(backends, timeout=1.0)
    assert (await guard.customers.find("532110987654")) is not None
    assert [r.number for r in await guard.apkt.open_reports(phone="081298765432")] == [
        demo.OPEN_REPORT
    ]
    assert NUMBER.fullmatch((await guard.apkt.create_report(request())).number)
