"""Screen-pop routing: AMI queue events to the right agent's page, stored; the view."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ivr.asterisk.ami import AmiEvent
from ivr.config import AgentSettings
from ivr.engine.pop import Note
from ivr.screenpop.events import BYPASS_PREFIX, QueueEvent, queue_event
from ivr.screenpop.hub import Message, PopHub
from ivr.screenpop.recovered import close_interrupted
from ivr.screenpop.view import pop_view
from ivr.steps.transfer import pop_notes
from ivr.store import pops
from ivr.store.calls import CallStore, connect, read_summary
from ivr.store.control import add_outage
from ivr.store.pops import Delivery, PopStore

ZONE = "Asia/Jakarta"
AGENTS = {
    "cso1": AgentSettings(name="Dewi", token=SecretStr("t1"), interface="PJSIP/cso1"),
    "cso2": AgentSettings(name="Rudi", token=SecretStr("t2"), queues=["status"]),
}
POP_DATA: dict[str, Any] = {
    "call_id": "c1",
    "flow": "main",
    "queue": "periksa",
    "caller": "081234567890",
    "caller_class": "mobile",
    "caller_name": "Budi Santoso",
    "salutation": "Bapak",
    "customer": {
        "found": True,
        "keyed": "532112345678",
        "idpel": "532112345678",
        "meter_number": "14212345678",
        "name": "Budi Santoso",
        "street": "Jl. Melati No. 12",
        "area": "Kebayoran Baru",
        "address_confirmed": True,
        "unit": "UP3 Bulungan",
        "posko": "ULP Kebayoran Baru",
        "tariff": "R1",
        "power_va": "1300",
    },
    "power_state": "padam",
    "self_diagnosis": {"08": "12", "70": "Null", "41": "220,5"},
    "answers": [
        {"ask": "menu", "value": "periksa"},
        {"ask": "idpel", "value": "532112345678"},
        {"ask": "meter_code.08", "value": "12"},
    ],
    "asks": ["menu", "idpel", "meter_code.08"],
    "path": ["kenali", "menu"],
    "apkt": {
        "reporter_name": "Budi Santoso",
        "caller_number": "081234567890",
        "idpel": "532112345678",
        "address": "Jl. Melati No. 12, Kebayoran Baru",
        "wo_type": "KWH PERIKSA",
        "problem_text": "KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)",
        "self_diagnosis": {"08": "12"},
        "call_id": "c1",
    },
    "report_number": "",
    "open_report": None,
}


def ami(name: str, **headers: Any) -> AmiEvent:
    return AmiEvent.from_message({"Event": name, **headers})


def called(member: str = "cso1", pop: str = "c1", at: float | None = None) -> QueueEvent:
    event = queue_event(
        ami(
            "AgentCalled",
            Queue="periksa",
            MemberName=member,
            Interface=f"PJSIP/{member}",
            CallerIDNum="081234567890",
            Uniqueid="1700.1",
            ChanVariable=[f"PLN123_POP_ID={pop}", "PLN123_QUEUE=periksa"],
            Timestamp=f"{time.time() if at is None else at:.6f}",
        )
    )
    assert event is not None
    return event


def other(kind_name: str, member: str = "", pop: str = "c1") -> QueueEvent:
    headers: dict[str, Any] = {"Queue": "periksa", "ChanVariable": f"PLN123_POP_ID={pop}"}
    if member:
        headers |= {"MemberName": member, "Interface": f"PJSIP/{member}"}
    event = queue_event(ami(kind_name, **headers))
    assert event is not None
    return event


# -- events ------------------------------------------------------------------------------


def test_agent_called_is_read_with_pop_member_and_asterisk_time() -> None:
    event = called(at=1763867702.123456)
    assert (event.kind, event.pop_id, event.member) == ("ring", "c1", "cso1")
    assert event.queue == "periksa"
    assert event.caller == "081234567890"
    assert event.at == pytest.approx(1763867702.123456)


def test_a_call_that_bypassed_the_ivr_gets_a_pop_id_from_its_channel() -> None:
    event = queue_event(ami("AgentCalled", Queue="umum", MemberName="cso1", Uniqueid="1700.9"))
    assert event is not None and event.pop_id == BYPASS_PREFIX + "1700.9"


def test_other_events_are_not_queue_events() -> None:
    assert queue_event(ami("Newchannel", Uniqueid="1")) is None
    assert queue_event(ami("AgentCalled")) is None  # no pop id, no channel


# -- the hub -----------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "calls.sqlite3"
    calls = CallStore(path)
    conn = calls._conn
    conn.execute(
        "INSERT INTO calls (id, flow, caller, started_at) VALUES ('c1', 'main', '0812', 'x')"
    )
    conn.execute(
        "INSERT INTO screenpops (id, call_id, queue, data, created_at) VALUES (?, ?, ?, ?, ?)",
        ("c1", "c1", "periksa", json.dumps(POP_DATA), "x"),
    )
    calls.close()
    yield path


class Pages:
    """Open pages, as the hub sees them: what each agent's page received."""

    def __init__(self, hub: PopHub) -> None:
        self.hub = hub
        self.got: dict[str, asyncio.Queue[Message]] = {}

    def open(self, agent: str) -> None:
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.got[agent] = inbox

        async def send(message: Message) -> None:
            inbox.put_nowait(message)

        self.hub.attach(agent, send)

    async def next(self, agent: str) -> Message:
        return await asyncio.wait_for(self.got[agent].get(), 2.0)

    async def got_nothing_more(self, agent: str) -> bool:
        """True when ``agent``'s page received nothing before a marker sent now (the
        hub's messages reach each page in order)."""
        self.hub.callbacks_changed()
        return (await self.next(agent))["type"] == "callbacks"


@pytest.fixture
async def hub(db: Path) -> AsyncIterator[PopHub]:
    store = PopStore(db)
    hub = PopHub(store, AGENTS, ZONE)
    yield hub
    await hub.close()
    store.close()


async def opened(hub: PopHub, *agents: str) -> Pages:
    pages = Pages(hub)
    for agent in agents:
        pages.open(agent)
        hello = await pages.next(agent)
        assert hello["type"] == "hello" and hello["agent"]["id"] == agent
    return pages


async def test_a_ring_reaches_that_agent_and_no_other(hub: PopHub) -> None:
    pages = await opened(hub, "cso1", "cso2")
    hub.handle(called("cso1", at=1763867702.123456))
    message = await pages.next("cso1")
    assert message["type"] == "pop"
    pop = message["pop"]
    assert (pop["id"], pop["state"], pop["state_label"]) == ("c1", "ringing", "Berdering")
    assert pop["customer"]["idpel"] == "532112345678"
    assert pop["event_at"] == 1763867702123
    assert await pages.got_nothing_more("cso2")


async def test_a_member_is_known_by_interface_too(hub: PopHub) -> None:
    pages = await opened(hub, "cso1")
    event = called("cso1")
    hub.handle(QueueEvent("ring", "c1", "periksa", "", "pjsip/CSO1", "0812", time.time()))
    assert (await pages.next("cso1"))["pop"]["id"] == event.pop_id


async def test_states_follow_the_call(hub: PopHub) -> None:
    pages = await opened(hub, "cso1", "cso2")
    hub.handle(called("cso1"))
    hub.handle(called("cso2"))
    await pages.next("cso1")
    await pages.next("cso2")
    hub.handle(other("AgentConnect", "cso1"))
    assert (await pages.next("cso1"))["pop"]["state"] == pops.CONNECTED
    taken = (await pages.next("cso2"))["pop"]
    assert (taken["state"], taken["state_label"]) == (pops.TAKEN, "Diangkat CSO lain")
    hub.handle(other("AgentComplete", "cso1"))
    assert (await pages.next("cso1"))["pop"]["state"] == pops.DONE
    assert await pages.got_nothing_more("cso2")


async def test_an_unanswered_ring_is_missed_and_an_abandon_marks_the_ringing(
    hub: PopHub,
) -> None:
    pages = await opened(hub, "cso1", "cso2")
    hub.handle(called("cso1"))
    await pages.next("cso1")
    hub.handle(other("AgentRingNoAnswer", "cso1"))
    assert (await pages.next("cso1"))["pop"]["state"] == pops.MISSED
    hub.handle(called("cso2"))
    await pages.next("cso2")
    hub.handle(other("QueueCallerAbandon"))
    assert (await pages.next("cso2"))["pop"]["state"] == pops.ABANDONED
    assert await pages.got_nothing_more("cso1")  # a missed ring stays missed


async def test_events_for_unknown_members_are_ignored(hub: PopHub) -> None:
    pages = await opened(hub, "cso1")
    hub.handle(called("cso9"))
    assert await pages.got_nothing_more("cso1")


async def test_a_page_opened_later_gets_the_stored_pops(hub: PopHub, db: Path) -> None:
    hub.handle(called("cso1"))
    hub.handle(other("AgentConnect", "cso1"))
    fresh = PopHub(PopStore(db), AGENTS, ZONE)  # as after an IVR restart
    hello = fresh.hello("cso1")
    assert [(p["id"], p["state"]) for p in hello["pops"]] == [("c1", pops.CONNECTED)]
    assert fresh.hello("cso2")["pops"] == []
    fresh.store.close()


async def test_callbacks_reach_every_open_page(hub: PopHub) -> None:
    pages = await opened(hub, "cso1", "cso2")
    task = hub.add_callback("c1", "c1", "081234567890", "periksa")
    message = await pages.next("cso1")
    assert message["type"] == "callbacks"
    (shown,) = message["callbacks"]
    assert (shown["id"], shown["number"], shown["caller_name"]) == (
        task.id,
        "081234567890",
        "Budi Santoso",
    )
    assert [c["id"] for c in (await pages.next("cso2"))["callbacks"]] == [task.id]
    hub.close_callback(task.id, "cso1")
    assert (await pages.next("cso1"))["callbacks"] == []
    assert (await pages.next("cso2"))["callbacks"] == []
    assert hub.store.open_callbacks() == []


async def test_a_page_that_falls_behind_is_dropped(hub: PopHub) -> None:
    blocked = asyncio.Event()

    async def stuck(message: Message) -> None:
        await blocked.wait()

    page = hub.attach("cso1", stuck)
    for _ in range(300):
        hub.handle(called("cso1"))
    assert page.dropped
    blocked.set()


# -- the view ----------------------------------------------------------------------------


def delivery(state: str = pops.RINGING) -> Delivery:
    return Delivery("c1", "cso1", "periksa", state, "081234567890", 1763867702.0)


def test_view_has_nine_diagnosis_rows_in_sop_order() -> None:
    view = pop_view(POP_DATA, delivery(), ZONE)
    codes = [row["code"] for row in view["self_diagnosis"]]
    assert codes == ["08", "70", "71", "41", "44", "45", "46", "37", "47"]
    values = {row["code"]: row["value"] for row in view["self_diagnosis"]}
    assert (values["08"], values["70"], values["41"], values["47"]) == ("12", "Null", "220,5", "")
    assert view["rang_at_text"] == "10:15:02"  # WIB
    assert view["caller"]["line_label"] == "Seluler"
    assert view["customer"]["address_verified"] is True
    assert view["power_state_label"] == "Padam"
    assert [a["label"] for a in view["answers"]] == [
        "Menu utama",
        "IDPEL / no. meter",
        "Kode 08 (Penyebab periksa)",
    ]


def test_apkt_block_is_ready_to_paste() -> None:
    block = pop_view(POP_DATA, delivery(), ZONE)["apkt_block"]
    lines = block.splitlines()
    assert lines[0].startswith("Nama pelapor") and lines[0].endswith(": Budi Santoso")
    assert any(line.endswith(": KWH PERIKSA") for line in lines)
    assert "Self Diagnosis - Respon Kode kWh Meter:" in lines
    assert "  08 Penyebab periksa: 12" in lines
    assert "  70 Berapa kali open terminal: Null" in lines
    assert all(" : " in line for line in lines if not line.startswith(("  ", "Self")))


def test_view_of_a_call_that_bypassed_the_ivr() -> None:
    view = pop_view(None, delivery(), ZONE)
    assert view["caller"]["number"] == "081234567890"
    assert view["customer"] is None and view["apkt"] is None
    assert view["note"] == "Panggilan tidak melalui IVR"
    assert "081234567890" in view["apkt_block"]


def test_view_of_a_keyed_number_nobody_has() -> None:
    data = {**POP_DATA, "customer": {"found": False, "keyed": "14299999999"}, "apkt": None}
    view = pop_view(data, delivery(), ZONE)
    assert view["customer"]["meter_number"] == "14299999999"
    assert view["customer"]["idpel"] == ""


def test_a_flows_pop_lines_are_shown_and_pasted() -> None:
    notes = pop_notes(
        {
            "Daya tujuan": "{target_power} VA",
            "No. registrasi": "{registrasi}",
            "Tunggakan": "Rp {tunggakan_teks}",
            "Topik": "PLN Mobile - {topik}",
        },
        {"target_power": "3500", "registrasi": "", "topik": "lupa password"},
    )
    assert notes == [Note("Daya tujuan", "3500 VA"), Note("Topik", "PLN Mobile - lupa password")]
    stored = [note.to_stored() for note in notes]
    view = pop_view({**POP_DATA, "notes": stored}, delivery(), ZONE)
    assert view["notes"] == [
        {"label": "Daya tujuan", "value": "3500 VA"},
        {"label": "Topik", "value": "PLN Mobile - lupa password"},
    ]
    assert any(line.endswith(": 3500 VA") for line in view["apkt_block"].splitlines())
    assert pop_view(POP_DATA, delivery(), ZONE)["notes"] == []


# -- the outage the caller heard -----------------------------------------------------------

OUTAGE: dict[str, Any] = {
    "id": "7",
    "message": "Gangguan gardu induk Kebayoran, petugas sedang menangani.",
    "until": "16:00 WIB",
    "report_number": "G2503010000777",
    "units": ["UP3 Bulungan", "ULP Kebayoran Baru"],
}
#: 2025-03-01 09:30 WIB.
DECLARED_AT = 1740796200.0


def test_the_outage_heard_has_a_block_of_its_own() -> None:
    notes = [{"label": "Topik", "value": "padam"}]
    data = {**POP_DATA, "outage": OUTAGE, "notes": notes}
    view = pop_view(data, delivery(), ZONE, outage_declared_at=DECLARED_AT)
    assert view["outage"] == {
        "id": "7",
        "title": "Gangguan meluas diketahui",
        "message": OUTAGE["message"],
        "units": ["UP3 Bulungan", "ULP Kebayoran Baru"],
        "until": "16:00 WIB",
        "report_number": "G2503010000777",
        "declared_at_text": "2025-03-01 09:30 WIB",
        "rows": [
            {
                "field": "units",
                "label": "Wilayah gangguan",
                "value": "UP3 Bulungan, ULP Kebayoran Baru",
            },
            {"field": "until", "label": "Perkiraan menyala", "value": "16:00 WIB"},
            {"field": "report_number", "label": "Laporan induk APKT", "value": "G2503010000777"},
            {"field": "declared_at", "label": "Diumumkan", "value": "2025-03-01 09:30 WIB"},
        ],
    }
    assert view["notes"] == notes  # the outage is no longer repeated in the notes


def test_the_apkt_block_names_the_master_report_once_and_nothing_else_of_the_outage() -> None:
    plain = pop_view(POP_DATA, delivery(), ZONE)["apkt_block"]
    block = pop_view({**POP_DATA, "outage": OUTAGE}, delivery(), ZONE)["apkt_block"]
    added = [line for line in block.splitlines() if line not in plain.splitlines()]
    assert len(added) == 1
    assert re.fullmatch(r"Laporan induk APKT +: G2503010000777", added[0])
    assert OUTAGE["message"] not in block and "16:00" not in block
    # Without a master report number the block is as without an outage.
    no_master = pop_view({**POP_DATA, "outage": {**OUTAGE, "report_number": ""}}, delivery(), ZONE)[
        "apkt_block"
    ]
    assert no_master == plain


def test_an_outage_not_found_in_the_store_shows_dashes_for_what_is_unknown() -> None:
    outage = {"id": "7", "message": "Gangguan", "units": ["UP3 Bulungan"]}
    view = pop_view({**POP_DATA, "outage": outage}, delivery(), ZONE)
    values = {row["field"]: row["value"] for row in view["outage"]["rows"]}
    assert values == {"units": "UP3 Bulungan", "until": "", "report_number": "", "declared_at": ""}


def test_a_pop_without_an_outage_is_as_before() -> None:
    view = pop_view(POP_DATA, delivery(), ZONE, outage_declared_at=DECLARED_AT)
    assert view["outage"] is None
    assert view["notes"] == []
    assert "Laporan induk" not in view["apkt_block"]
    assert pop_view(None, delivery(), ZONE)["outage"] is None


async def test_the_hub_finds_when_the_outage_was_declared(db: Path) -> None:
    with contextlib.closing(connect(db)) as conn:
        outage_id = add_outage(
            conn,
            units=OUTAGE["units"],
            message=OUTAGE["message"],
            until=DECLARED_AT + 6 * 3600,
            actor="ops:lina",
            now=DECLARED_AT,
        )
        for pop_id, heard in (("c2", str(outage_id)), ("c3", "999")):
            conn.execute(
                "INSERT INTO screenpops (id, call_id, queue, data, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    pop_id,
                    "c1",
                    "periksa",
                    json.dumps({**POP_DATA, "outage": {**OUTAGE, "id": heard}}),
                    "x",
                ),
            )
    store = PopStore(db)
    hub = PopHub(store, AGENTS, ZONE)
    try:
        pages = await opened(hub, "cso1")
        shown = {}
        for pop_id in ("c2", "c3", "c1"):
            hub.handle(called("cso1", pop=pop_id))
            shown[pop_id] = (await pages.next("cso1"))["pop"]["outage"]
        assert shown["c2"]["declared_at_text"] == "2025-03-01 09:30 WIB"
        assert shown["c3"]["declared_at_text"] == ""  # no such outage in the store
        assert shown["c1"] is None
    finally:
        await hub.close()
        store.close()


async def test_a_locked_store_still_pops_from_the_ivrs_memory(
    hub: PopHub, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The call store could not write pop c2 (kept in memory); another connection holds
    the file's write lock, so the ring cannot be recorded either: the page still pops."""
    hub.kept_pops = {"c2": {**POP_DATA, "call_id": "c2"}}
    pages = await opened(hub, "cso1")
    blocker = connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        hub.handle(called("cso1", pop="c2"))
        hub.handle(called("cso1", pop="c2"))
        pop = (await pages.next("cso1"))["pop"]
        assert (pop["id"], pop["state"]) == ("c2", "ringing")
        assert pop["customer"]["idpel"] == "532112345678"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert len([r for r in caplog.records if "the store fails" in r.getMessage()]) == 1
    hub.handle(called("cso1", pop="c2"))
    assert (await pages.next("cso1"))["pop"]["id"] == "c2"
    assert (await pages.next("cso1"))["pop"]["id"] == "c2"
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_a_call_whose_ivr_stopped_pops_with_the_answers_it_stored(
    hub: PopHub, db: Path
) -> None:
    """The IVR died before the hand-over: the dialplan's fallback queues the call with
    the IVR's call id as pop id, and the page shows the record's answers."""
    conn = connect(db)
    conn.execute(
        "INSERT INTO calls (id, flow, caller, started_at) VALUES ('c3', 'main', '081299', 'x')"
    )
    for seq, (ask, value) in enumerate([("menu", "1"), ("idpel", "532112345678")]):
        conn.execute(
            "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
            " VALUES ('c3', ?, 'n', ?, ?, 'dtmf', 'x')",
            (seq, ask, value),
        )
    conn.close()
    pages = await opened(hub, "cso1")
    hub.handle(called("cso1", pop="c3"))
    pop = (await pages.next("cso1"))["pop"]
    assert pop["id"] == "c3"
    text = json.dumps(pop)
    assert "532112345678" in text and "IVR terhenti" in text
    # A call that never reached the IVR still gets the plain bypass view.
    hub.handle(called("cso1", pop="uid-1700000000.9"))
    assert "IVR terhenti" not in json.dumps((await pages.next("cso1"))["pop"])


def test_calls_left_open_by_a_stopped_ivr_are_closed_with_their_pops(db: Path) -> None:
    conn = connect(db)
    rows = [  # (id, started_at, ended_at)
        ("cut", "2026-12-05T08:00:00.000+00:00", None),
        ("ended", "2026-12-05T08:00:01.000+00:00", "2026-12-05T08:01:00.000+00:00"),
        ("mine", "2026-12-05T09:00:01.000+00:00", None),  # begun by this process
        ("ancient", "2026-11-01T08:00:00.000+00:00", None),  # beyond the look-back
    ]
    for call_id, started, ended in rows:
        conn.execute(
            "INSERT INTO calls (id, flow, caller, started_at, ended_at)"
            " VALUES (?, 'main', ?, ?, ?)",
            (call_id, "081234567890", started, ended),
        )
    conn.execute(
        "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
        " VALUES ('cut', 0, 'n', 'idpel', '532112345678', 'dtmf', 'x')"
    )
    assert close_interrupted(conn, "2026-12-05T09:00:00.000+00:00") == ["cut"]
    summary = read_summary(conn, "cut")
    assert summary is not None and summary.outcome == "queued" and summary.queue == "umum"
    assert summary.screenpop is not None
    assert summary.screenpop["answers"] == [{"ask": "idpel", "value": "532112345678"}]
    assert conn.execute("SELECT result, cso_reason FROM calls WHERE id = 'cut'").fetchone() == (
        "cso",
        "error",
    )
    for untouched in ("ended", "mine", "ancient"):
        summary = read_summary(conn, untouched)
        assert summary is not None and summary.screenpop is None
    assert close_interrupted(conn, "2026-12-05T09:00:00.000+00:00") == []
    conn.close()
