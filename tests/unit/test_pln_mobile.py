"""The PLN Mobile help line: its domain rules, the admin-fee table, the embedded and the
guarded ITSM, the actions, and what its calls leave behind."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from ivr.actions import ACTIONS, mobile
from ivr.backends import demo
from ivr.backends.embedded import EmbeddedDatabase
from ivr.backends.guarded import GuardedItsm, guarded
from ivr.backends.itsm import (
    DEMO_ACTIVE_TICKET,
    DEMO_RESOLVED_TICKET,
    FIRST_NUMBER,
    LAST_NUMBER,
    EmbeddedItsm,
    upsert_ticket,
)
from ivr.backends.ports import BackendError, Backends, ItsmTicket, TicketRequest
from ivr.domain import pln_mobile
from ivr.domain.pln_mobile import AdminFee, AdminFeeTable
from ivr.engine.context import CallContext
from ivr.engine.library import load_library, load_tables
from ivr.engine.loader import FlowError, load_data_file, load_flow_file
from ivr.kit import KIT
from ivr.prompts.catalogue import PromptCatalogue
from ivr.sim.port import SimPort
from ivr.steps.action import ActionNode
from ivr.steps.menu import MenuNode
from ivr.steps.registry import KINDS
from ivr.store.calls import CallStore, read_summary
from ivr.tables import TABLE_MODELS
from ivr.tools.scenario.check import mismatches
from ivr.tools.scenario.model import Expect, load_scenario
from tests.support import REPO, numbers_from_threads, run_in_simulator

FLOW_FILE = REPO / "flows" / "pln_mobile.yaml"
TABLE_FILE = REPO / "flows" / "data" / "biaya_admin_pln_mobile.yaml"
PROMPTS_FILE = REPO / "audio" / "prompts" / "pln_mobile.yaml"
SCENARIOS = REPO / "tests" / "scenarios"
CLOCK = datetime(2025, 6, 2, 3, 4, 5, tzinfo=UTC)


def flow_nodes() -> dict[str, object]:
    return dict(load_flow_file(FLOW_FILE, KINDS).flow.nodes)


def menus(ask: str) -> list[MenuNode]:
    return [n for n in flow_nodes().values() if isinstance(n, MenuNode) and n.ask == ask]


# --- domain: topics, statuses, texts -------------------------------------------------------


def test_every_topic_the_menus_offer_has_a_label_and_an_answer_node() -> None:
    offered = {c.value for menu in menus("mobile_topic") for c in menu.choices.values()}
    assert offered - {"pembayaran"} == set(pln_mobile.TOPICS)  # pembayaran: a sub-menu
    [answer] = [
        n
        for n in flow_nodes().values()
        if isinstance(n, ActionNode) and n.action == "pln_mobile.topik"
    ]
    assert set(answer.results) == set(pln_mobile.TOPICS)
    labels = [topic.label for topic in pln_mobile.TOPICS.values()]
    assert len(set(labels)) == len(labels)


def test_an_unknown_topic_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="unknown PLN Mobile topic"):
        pln_mobile.topic("pembayaran")


@pytest.mark.parametrize(
    ("status", "name", "finished"),
    [
        ("Logged", "Logged", False),
        ("ACTIVE", "Active", False),
        ("Waiting For Customer", "Waiting for Customer", False),
        ("waiting for 3 rd party", "Waiting for 3rd Party", False),
        ("Waiting for Approval", "Waiting for Approval", False),
        ("Resolved", "Resolved", True),
        (" closed ", "Closed", True),
        ("On  Hold", "On Hold", False),
    ],
)
def test_status_names_and_which_are_finished(status: str, name: str, finished: bool) -> None:
    assert pln_mobile.status_name(status) == name
    assert pln_mobile.is_finished(status) is finished


def test_every_status_of_the_progress_bar_is_explained_in_indonesian() -> None:
    assert list(pln_mobile.STATUSES) == [
        "Logged",
        "Active",
        "Waiting for Customer",
        "Waiting for 3rd Party",
        "Waiting for Approval",
        "Resolved",
        "Closed",
    ]
    assert "5 hari" in pln_mobile.explain_status("waiting for customer")
    assert "pihak ketiga" in pln_mobile.explain_status("Waiting for 3rd Party")
    assert "konfirmasi penyelesaian" in pln_mobile.explain_status("Resolved")
    assert pln_mobile.explain_status("On Hold") == pln_mobile.STATUS_UNKNOWN


@pytest.mark.parametrize(
    ("text", "valid"),
    [("733905", True), ("80000123", True), ("12345", False), ("123456789", False),
     ("073390", False), ("73 3905", False), ("", False)],
)  # fmt: skip
def test_ticket_number_shape(text: str, valid: bool) -> None:
    assert pln_mobile.is_ticket_number(text) is valid


def test_the_notes_follow_the_sop_example_and_are_signed() -> None:
    assert pln_mobile.reported_again_note(False) == (
        "Pelanggan melaporkan kembali belum ada tindaklanjut, Pelanggan belum mendapatkan"
        " balasan email. IVR PLN 123."
    )
    assert pln_mobile.reported_again_note(True).startswith("Pelanggan melaporkan kembali, ")
    described = pln_mobile.reopened_description("748975", "resolved", False, "0215551234")
    assert "No. Tiket ITSM 748975 (status Resolved)" in described
    assert "belum menerima email" in described and "0215551234" in described


def test_the_flow_records_apkt_with_the_domain_texts() -> None:
    keterangan = {
        node.args["keterangan"]
        for node in flow_nodes().values()
        if isinstance(node, ActionNode) and node.action == "apkt.issue_closed"
    }
    assert keterangan == {
        pln_mobile.APKT_ANSWERED,
        pln_mobile.APKT_ESCALATED,
        pln_mobile.APKT_REPORTED_AGAIN,
        pln_mobile.APKT_REOPENED,
    }


def test_the_answers_keep_the_sops_facts() -> None:
    texts = yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))
    facts = {
        "mobile_jawaban_download": ["Play Store dan App Store", "Android Lollipop 5.1",
                                    "iOS versi 8", "26 megabyte", "64,9 megabyte",
                                    "iPhone Storage", "Clear cache"],
        "mobile_jawaban_lupa_password": ["Masuk dengan Email", "Lupa Password",
                                         "pojok kanan bawah", "activation code"],
        "mobile_jawaban_idpel_akun": ["4 ID pelanggan", "2 akun email", "Hapus Nomor Meter",
                                      "di bawah menu Keluar"],
        "mobile_jawaban_verifikasi": ["Basic ke Full Service", "Profile, lalu Verify",
                                      "selfie dengan KTP", "ditolak"],
        "mobile_jawaban_riwayat": ["Histori Penggunaan", "Histori Pembelian Token",
                                   "3 bulan terakhir", "Filter"],
        "mobile_jawaban_metode_pembayaran": ["Mandiri, BRI, BNI, dan BCA",
                                             "LinkAja, GoPay, dan OVO", "Doku",
                                             "BCA One Klik", "binding ulang", "Ubah Profil"],
        "mobile_jawaban_refund": ["Iconpay", "maksimal 14 hari kerja sejak pembayaran"],
        "mobile_jawaban_pengaduan_rating": ["Bantuan", "helpdesk strip mobile 1 2 3",
                                            "Pengaduan PLN", "Nyala"],
    }  # fmt: skip
    for prompt_id, wanted in facts.items():
        text = " ".join(texts[prompt_id].split())
        for fact in wanted:
            assert fact in text, (prompt_id, fact)


# --- the admin-fee table -------------------------------------------------------------------

#: SOP A.6.e, "BIAYA ADMIN PAYMENT NEW PLN MOBILE": kode bank -> (prepaid, postpaid).
SOP_FEES = {
    "MANDIRI-VA": (0, 0),
    "BNI-VA": (1750, 1750),
    "BRI-VA": (1750, 1750),
    "BCA-VA": (1750, 1750),
    "LINKAJA": (550, 550),
    "OVO": (2000, 2000),
    "GOPAY": (1500, 1500),
    "DOKU": (4050, 4050),
    "BRI-DIRECT DEBIT": (1750, 1750),
    "BCA - ONE KLIK": (1750, 1750),
}


@pytest.fixture
def fee_table() -> AdminFeeTable:
    return load_data_file(TABLE_FILE, AdminFeeTable)


def test_the_table_holds_the_sops_fees_and_cites_it(fee_table: AdminFeeTable) -> None:
    assert {m.sop_code: (m.prepaid, m.postpaid) for m in fee_table.methods} == SOP_FEES
    assert "Rev-3" in fee_table.source and "16 Des 2020" in fee_table.source
    assert TABLE_MODELS[pln_mobile.TABLE] is AdminFeeTable


def test_every_method_of_the_table_can_be_chosen_and_no_other(fee_table: AdminFeeTable) -> None:
    nodes = flow_nodes()
    chosen = {c.value for menu in menus("payment_method") for c in menu.choices.values()}
    chosen |= {
        str(n.args["metode"])
        for n in nodes.values()
        if isinstance(n, ActionNode) and n.action == "pln_mobile.biaya_admin" and n.args
    }
    assert chosen == {method.code for method in fee_table.methods}


@pytest.mark.parametrize(
    ("prepaid", "postpaid", "kind"),
    [(0, 0, "gratis"), (1750, 1750, "sama"), (1500, 2000, "beda"), (0, 2500, "sebagian"),
     (2500, 0, "sebagian")],
)  # fmt: skip
def test_fee_kind(prepaid: int, postpaid: int, kind: str) -> None:
    fee = AdminFee(
        code="x",
        sop_code="X",
        name="X",
        category="Kartu Kredit",
        prepaid=prepaid,
        postpaid=postpaid,
    )
    assert pln_mobile.fee_kind(fee) == kind


def test_a_broken_table_is_refused_with_file_and_line(tmp_path: Path) -> None:
    text = TABLE_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "biaya_admin_pln_mobile.yaml"
    broken.write_text(text.replace("prepaid: 550", "prepaid: -550"), encoding="utf-8")
    tables, problems = load_tables(tmp_path, TABLE_MODELS)
    assert tables == {}
    [problem] = problems
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "prepaid: 550" in row)
    assert (problem.file, problem.line) == (broken, line)
    assert "methods.4.prepaid" in problem.message


def test_a_method_given_twice_is_refused(tmp_path: Path) -> None:
    text = TABLE_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "biaya_admin_pln_mobile.yaml"
    broken.write_text(text.replace("code: bni_va", "code: mandiri_va"), encoding="utf-8")
    with pytest.raises(FlowError, match="code given twice: mandiri_va"):
        load_data_file(broken, AdminFeeTable)


# --- the embedded ITSM ---------------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ivr.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[EmbeddedDatabase]:
    demo.seed(db_path)
    database = EmbeddedDatabase(db_path, now=lambda: CLOCK)
    yield database
    database.close()


@pytest.fixture
def itsm(db: EmbeddedDatabase) -> EmbeddedItsm:
    return EmbeddedItsm(db.conn, now=lambda: CLOCK)


def ticket_request(**changes: str) -> TicketRequest:
    values = {
        "summary": "Tidak dapat login karena lupa password PLN Mobile",
        "description": "Mohon bantuannya",
        "caller_number": "+6281298765432",
        "call_id": "c-1",
    }
    return TicketRequest(**(values | changes))


async def test_a_new_ticket_is_logged_under_the_first_number(itsm: EmbeddedItsm) -> None:
    made = await itsm.create_ticket(ticket_request())
    assert made == ItsmTicket(
        number=str(FIRST_NUMBER),
        status="Logged",
        summary="Tidak dapat login karena lupa password PLN Mobile",
        description="Mohon bantuannya",
        caller_number="081298765432",
        created_at="2025-06-02T03:04:05.000+00:00",
    )
    assert await itsm.ticket(f" {FIRST_NUMBER} ") == made
    second = await itsm.create_ticket(ticket_request(cites_ticket="748975"))
    assert (second.number, second.cites_ticket) == (str(FIRST_NUMBER + 1), "748975")


async def test_numbers_follow_the_largest_ticket(itsm: EmbeddedItsm, db: EmbeddedDatabase) -> None:
    base = await itsm.ticket(DEMO_ACTIVE_TICKET)
    assert base is not None
    upsert_ticket(db.conn, replace(base, number="9000000"))
    assert (await itsm.create_ticket(ticket_request())).number == "9000001"
    upsert_ticket(db.conn, replace(base, number=str(LAST_NUMBER)))
    with pytest.raises(BackendError, match="no ticket numbers left"):
        await itsm.create_ticket(ticket_request())


async def test_ticket_numbers_unique_under_concurrency(itsm: EmbeddedItsm) -> None:
    made = await asyncio.gather(
        *(itsm.create_ticket(ticket_request(call_id=f"c{i}")) for i in range(50))
    )
    numbers = sorted(int(ticket.number) for ticket in made)
    assert numbers == list(range(FIRST_NUMBER, FIRST_NUMBER + 50))


def test_ticket_numbers_unique_across_connections_and_threads(db_path: Path) -> None:
    demo.seed(db_path)

    async def make(backends: Backends) -> str:
        assert backends.itsm is not None
        return (await backends.itsm.create_ticket(ticket_request())).number

    numbers = numbers_from_threads(db_path, make)
    assert len(numbers) == len(set(numbers)) == 80


async def test_notes_are_added_to_the_ticket_in_order(itsm: EmbeddedItsm) -> None:
    assert await itsm.add_note(DEMO_ACTIVE_TICKET, "pertama", "c-1")
    assert await itsm.add_note(DEMO_ACTIVE_TICKET, "kedua", "c-2")
    ticket = await itsm.ticket(DEMO_ACTIVE_TICKET)
    assert ticket is not None and ticket.notes == ("pertama", "kedua")
    assert ticket.status == "Active"


@pytest.mark.parametrize("number", ["123456", "12345", "abc", ""])
async def test_unknown_tickets(itsm: EmbeddedItsm, number: str) -> None:
    assert await itsm.ticket(number) is None
    assert await itsm.add_note(number, "catatan") is False


async def test_a_call_summary_lists_its_tickets_in_the_order_made(
    db_path: Path, itsm: EmbeddedItsm
) -> None:
    """One fixed clock for all: the order is the activity's, not the timestamps'."""
    store = CallStore(db_path)
    try:
        await store.start_call("c-1", "main", "081234567890", "Local/x", "1.1")
        await itsm.add_note(DEMO_ACTIVE_TICKET, "lapor ulang", "c-1")
        made = await itsm.create_ticket(ticket_request(cites_ticket=DEMO_RESOLVED_TICKET))
        await itsm.add_note(made.number, "catatan kedua", "c-1")
        await itsm.create_ticket(ticket_request(call_id="c-other"))
        summary = read_summary(store._conn, "c-1")
    finally:
        store.close()
    assert summary is not None
    assert summary.tickets == [
        {"number": DEMO_ACTIVE_TICKET, "event": "catatan", "cites": ""},
        {"number": made.number, "event": "baru", "cites": DEMO_RESOLVED_TICKET},
        {"number": made.number, "event": "catatan", "cites": ""},
    ]
    assert summary.as_json()["tickets"] == summary.tickets


async def test_the_demo_seed_puts_the_tickets_back(db_path: Path, itsm: EmbeddedItsm) -> None:
    await itsm.add_note(DEMO_ACTIVE_TICKET, "catatan", "c-1")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE itsm_tickets SET status = 'Closed' WHERE number = 733905")
    made = await itsm.create_ticket(ticket_request())
    assert "2 ITSM tickets" in demo.seed(db_path)
    active = await itsm.ticket(DEMO_ACTIVE_TICKET)
    resolved = await itsm.ticket(DEMO_RESOLVED_TICKET)
    assert active is not None and (active.status, active.notes) == ("Active", ())
    assert resolved is not None and pln_mobile.is_finished(resolved.status)
    assert await itsm.ticket(made.number) is not None  # the seed touches nothing else


def test_the_demo_docstring_lists_the_tickets() -> None:
    doc = demo.__doc__ or ""
    for ticket in (DEMO_ACTIVE_TICKET, DEMO_RESOLVED_TICKET, str(FIRST_NUMBER)):
        assert ticket in doc


async def test_sqlite_errors_become_backend_errors(db_path: Path) -> None:
    database = EmbeddedDatabase(db_path)
    itsm = database.backends().itsm
    database.close()
    assert itsm is not None
    with pytest.raises(BackendError, match="embedded ITSM"):
        await itsm.create_ticket(ticket_request())


# --- the guard -----------------------------------------------------------------------------


class SlowItsm:
    def __init__(self, number: str = "800001", delay: float = 0.0) -> None:
        self.number = number
        self.delay = delay

    async def create_ticket(self, request: TicketRequest) -> ItsmTicket:
        return ItsmTicket(self.number, "Logged", request.summary, "", "", "")

    async def ticket(self, number: str) -> ItsmTicket | None:
        await asyncio.sleep(self.delay)
        return None

    async def add_note(self, number: str, note: str, call_id: str = "") -> bool:
        raise ConnectionError(f"ITSM refused note on {number} for 081298765432")


async def test_a_slow_itsm_is_cut_off(caplog: pytest.LogCaptureFixture) -> None:
    guard = GuardedItsm(SlowItsm(delay=10.0), timeout=0.05)
    with caplog.at_level(logging.WARNING), pytest.raises(BackendError, match="no answer within"):
        await guard.ticket("733905")
    assert "733905" not in caplog.text and "***905" in caplog.text


async def test_itsm_failures_mask_the_ticket_and_phone(caplog: pytest.LogCaptureFixture) -> None:
    """The ticket the call was about is masked in the label; a backend's own text is
    scrubbed of long digit runs (a phone number) like every backend's."""
    guard = GuardedItsm(SlowItsm(), timeout=1.0)
    with caplog.at_level(logging.WARNING), pytest.raises(BackendError) as caught:
        await guard.add_note("733905", "catatan")
    for text in (str(caught.value), caplog.text):
        assert "ITSM add note (***905) failed: ConnectionError" in text
        assert "081298765432" not in text and "*********432" in text
    assert isinstance(caught.value.__cause__, ConnectionError)


async def test_a_malformed_ticket_number_is_a_backend_error() -> None:
    guard = GuardedItsm(SlowItsm(number="12-34"), timeout=1.0)
    with pytest.raises(BackendError, match="malformed number"):
        await guard.create_ticket(ticket_request())
    assert (await GuardedItsm(SlowItsm(), 1.0).create_ticket(ticket_request())).number == "800001"


def test_guarded_passes_the_itsm_on(db: EmbeddedDatabase) -> None:
    backends = db.backends()
    assert isinstance(guarded(backends, 1.0).itsm, GuardedItsm)
    assert guarded(replace(backends, itsm=None), 1.0).itsm is None


# --- the actions ---------------------------------------------------------------------------


@pytest.fixture
def ctx(db: EmbeddedDatabase, db_path: Path) -> Iterator[CallContext]:
    store = CallStore(db_path)

    async def silent(*_: object) -> str:
        return ""

    context = CallContext(
        call_id="c-act",
        flow_name="pln_mobile",
        port=SimPort(silent),
        store=store,
        flows={},
        catalogue=PromptCatalogue({}),
        actions=ACTIONS,
        hand_over=KIT.hand_over,
        backends=db.backends(),
        tables={pln_mobile.TABLE: load_data_file(TABLE_FILE, AdminFeeTable)},
        variables={"caller": "+6281234567890"},
    )
    yield context
    store.close()


async def test_the_topic_action_sets_the_label(ctx: CallContext) -> None:
    ctx.variables["mobile_topic"] = "lupa_password"
    assert await mobile.choose_topic(ctx, {}) == "lupa_password"
    assert ctx.variables["topik"] == "Lupa password"


@pytest.mark.parametrize(
    ("args", "method", "kind", "name", "fee"),
    [({}, "mandiri_va", "gratis", "Mandiri Virtual Account", "0"),
     ({}, "linkaja", "sama", "LinkAja", "550"),
     ({"metode": "doku"}, "", "sama", "kartu kredit melalui Doku", "4050")],
)  # fmt: skip
async def test_the_fee_action_reads_the_table(
    ctx: CallContext, args: dict[str, str], method: str, kind: str, name: str, fee: str
) -> None:
    ctx.variables["payment_method"] = method
    assert await mobile.admin_fee(ctx, args) == kind
    assert (ctx.variables["metode_bayar"], ctx.variables["biaya_prabayar"]) == (name, fee)


async def test_one_free_fee_says_which(ctx: CallContext) -> None:
    table = AdminFeeTable(
        source="uji",
        methods=[
            AdminFee(code="baru", sop_code="BARU", name="Baru", category="Dompet Digital",
                     prepaid=2500, postpaid=0),
        ],
    )  # fmt: skip
    ctx.tables = {pln_mobile.TABLE: table}
    assert await mobile.admin_fee(ctx, {"metode": "baru"}) == "sebagian"
    assert ctx.variables["biaya_gratis_untuk"] == "pembayaran tagihan pascabayar"
    assert (ctx.variables["biaya_bayar_untuk"], ctx.variables["biaya_bayar"]) == (
        "pembelian token prabayar",
        "2500",
    )
    assert await mobile.admin_fee(ctx, {"metode": "ovo"}) == "tidak_ada"


async def test_the_fee_action_without_its_table_fails(ctx: CallContext) -> None:
    ctx.tables = {}
    with pytest.raises(LookupError, match="biaya_admin_pln_mobile"):
        await mobile.admin_fee(ctx, {"metode": "ovo"})


async def test_find_ticket_by_status(ctx: CallContext) -> None:
    ctx.variables["itsm_ticket"] = DEMO_ACTIVE_TICKET
    assert await mobile.find_ticket(ctx, {}) == "belum_selesai"
    assert ctx.variables["itsm_ringkasan"] == "Pelanggan tidak dapat login"
    ctx.variables["itsm_ticket"] = DEMO_RESOLVED_TICKET
    assert await mobile.find_ticket(ctx, {}) == "selesai"
    assert ctx.variables["itsm_status"] == "Resolved"
    ctx.variables["itsm_ticket"] = "123456"
    assert await mobile.find_ticket(ctx, {}) == "tidak_ditemukan"
    assert "itsm_status" not in ctx.variables and "itsm_ringkasan" not in ctx.variables


async def test_tickets_made_in_a_call_add_up(ctx: CallContext) -> None:
    itsm = ctx.backends.itsm if ctx.backends else None
    assert itsm is not None
    ctx.variables["mobile_topic"] = "refund"
    assert await mobile.create_ticket(ctx, {}) == "dibuat"
    first = ctx.variables["itsm_tiket_baru"]
    made = await itsm.ticket(first)
    assert made is not None and made.summary == pln_mobile.TOPICS["refund"].summary
    assert "081234567890" in made.description
    ctx.variables.update(itsm_ticket=DEMO_RESOLVED_TICKET)
    assert await mobile.find_ticket(ctx, {}) == "selesai"
    assert await mobile.create_ticket(ctx, {"ulang": True}) == "dibuat"
    second = ctx.variables["itsm_tiket_baru"]
    again = await itsm.ticket(second)
    assert again is not None and again.cites_ticket == DEMO_RESOLVED_TICKET
    assert ctx.variables["itsm_tiket_semua"] == f"{first}, {second}"


async def test_reopening_needs_a_ticket_found_first(ctx: CallContext) -> None:
    with pytest.raises(LookupError, match="no earlier ticket"):
        await mobile.create_ticket(ctx, {"ulang": True})


async def test_the_repeat_report_note(ctx: CallContext) -> None:
    ctx.variables.update(itsm_ticket=DEMO_ACTIVE_TICKET, itsm_email_received="ya")
    assert await mobile.note_reported_again(ctx, {}) == "dicatat"
    assert ctx.variables["itsm_catatan"] == pln_mobile.reported_again_note(True)
    ctx.variables["itsm_ticket"] = "123456"
    with pytest.raises(BackendError, match="gone"):
        await mobile.note_reported_again(ctx, {})


async def test_no_itsm_is_a_backend_error(ctx: CallContext) -> None:
    assert ctx.backends is not None
    ctx.backends = replace(ctx.backends, itsm=None)
    ctx.variables["itsm_ticket"] = DEMO_ACTIVE_TICKET
    with pytest.raises(BackendError, match="without ITSM"):
        await mobile.find_ticket(ctx, {})


# --- calls ---------------------------------------------------------------------------------


class DownItsm(SlowItsm):
    async def ticket(self, number: str) -> ItsmTicket | None:
        raise ConnectionError("ITSM unreachable")

    async def create_ticket(self, request: TicketRequest) -> ItsmTicket:
        raise ConnectionError("ITSM unreachable")


@pytest.mark.parametrize(
    ("name", "last"),
    [("mobile_tiket_belum_selesai_dicatat", "pln_mobile/cari_tiket"),
     ("mobile_belum_terselesaikan_tiket_baru", "pln_mobile/buat_tiket")],
)  # fmt: skip
async def test_an_itsm_failure_sends_the_caller_to_pln_mobile_with_the_pop(
    name: str, last: str, tmp_path: Path
) -> None:
    # A Monday, 10:00 WIB: queue pln_mobile is open.
    office_hours = datetime.fromisoformat("2026-03-02T10:00:00+07:00")
    scenario = load_scenario(SCENARIOS / f"{name}.yaml").model_copy(
        update={"expect": Expect(), "at": office_hours}
    )

    def broken(backends: Backends) -> Backends:
        return guarded(replace(backends, itsm=DownItsm()), 1.0)

    result = await run_in_simulator(scenario, tmp_path, broken)
    summary = result.summary
    assert summary is not None
    assert (summary.outcome, summary.queue) == ("queued", "pln_mobile")
    assert summary.path[-2:] == [last, "pln_mobile/gagal_sistem"]
    assert summary.screenpop is not None
    notes = {note["label"]: note["value"] for note in summary.screenpop["notes"]}
    assert notes["Tugas CSO"].startswith("Sistem ITSM atau APKT tidak menjawab")
    assert summary.tickets == []


async def test_the_cso_sees_the_new_ticket_and_what_to_ask(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "mobile_belum_terselesaikan_tiket_baru.yaml")
    result = await run_in_simulator(scenario, tmp_path)
    assert result.problems == [] and result.summary is not None
    [ticket] = result.summary.tickets
    pop = result.summary.screenpop
    assert pop is not None and pop["queue"] == "pln_mobile"
    notes = {note["label"]: note["value"] for note in pop["notes"]}
    assert notes["Topik PLN Mobile"] == "Lupa password"
    assert notes["Tiket ITSM baru (perlu email)"] == ticket["number"]
    assert f"isi pada tiket ITSM {ticket['number']}" in notes["Tugas CSO"]
    assert "Tiket ITSM lama" not in notes
    with sqlite3.connect(tmp_path / "calls.sqlite3") as conn:
        (fields,) = conn.execute(
            "SELECT fields FROM itsm_tickets WHERE number = ?", (int(ticket["number"]),)
        ).fetchone()
    assert '"service_type": "Reset Password User"' in fields


async def test_wrong_ticket_and_issue_expectations_fail(tmp_path: Path) -> None:
    """The checker is not a rubber stamp for tickets and filled-in issue texts."""
    scenario = load_scenario(SCENARIOS / "mobile_tiket_selesai_tiket_baru.yaml")
    result = await run_in_simulator(scenario, tmp_path)
    assert result.problems == [] and result.summary is not None
    summary = result.summary
    wrong = Expect(tickets=[{"number": "any", "event": "baru", "cites": "733905"}])
    assert mismatches(summary, wrong) == ["ITSM ticket 1 cites: expected '733905', got '748975'"]
    assert mismatches(summary, Expect(tickets=[])) != []
    unset = Expect(issues=["New PLN Mobile - {tidak_ada}"])
    assert mismatches(summary, unset) == ["APKT issues: variable(s) not set by the call: tidak_ada"]
    other = Expect(issues=["New PLN Mobile - baru {itsm_tiket_baru}"])
    [problem] = mismatches(summary, other)
    assert f"baru {summary.variables['itsm_tiket_baru']}" in problem


def test_the_repo_loads_with_the_table() -> None:
    library = load_library(REPO / "flows", REPO / "audio", KIT)
    assert isinstance(library.tables[pln_mobile.TABLE], AdminFeeTable)
    assert "pln_mobile" in library.flows
