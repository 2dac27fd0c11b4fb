"""The screen-pop record: filled by the transfer step, stored, read back by the page's view.

The stored JSON keeps the shape the IVR wrote before the record existed, so pops already
in a store read and render the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from ivr.backends.ports import ReportRequest
from ivr.domain.customer_ids import METER, customer_id_kind
from ivr.engine.context import CallContext
from ivr.engine.pop import Answer, Caller, Customer, Note, OpenReport, ScreenPop
from ivr.prompts.catalogue import PromptCatalogue
from ivr.screenpop import labels
from ivr.screenpop.view import pop_view
from ivr.sim.port import SimPort
from ivr.steps.transfer import hand_to_queue, screenpop_data
from ivr.store import pops
from ivr.store.calls import CallStore
from ivr.store.pops import Delivery, PopStore

ZONE = "Asia/Jakarta"

#: A pop as the transfer step stored it before the record existed (every key it wrote).
OLD_POP: dict[str, Any] = {
    "call_id": "c7",
    "flow": "periksa",
    "queue": "periksa",
    "caller": "+6281234567890",
    "caller_class": "mobile",
    "caller_name": "Budi Santoso",
    "salutation": "Bapak",
    "customer": {
        "found": True,
        "keyed": "14212345678",
        "idpel": "532112345678",
        "meter_number": "14212345678",
        "name": "Budi Santoso",
        "street": "Jl. Melati No. 12",
        "area": "Kebayoran Baru",
        "address_confirmed": False,
        "unit": "UP3 Bulungan",
        "posko": "ULP Kebayoran Baru",
        "tariff": "R1",
        "power_va": "1300",
    },
    "power_state": "padam",
    "self_diagnosis": {"08": "12", "41": "220*5"},
    "answers": [{"ask": "menu", "value": "periksa"}, {"ask": "idpel", "value": "14212345678"}],
    "asks": ["menu", "idpel"],
    "path": ["periksa/menu", "periksa/idpel"],
    "apkt": {
        "reporter_name": "Budi Santoso",
        "caller_number": "081234567890",
        "address": "Jl. Melati No. 12, Kebayoran Baru",
        "wo_type": "KWH PERIKSA",
        "problem_text": "KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)",
        "idpel": "532112345678",
        "mobile_number": "",
        "padam_at": "2025-11-23 09:00",
        "location": "Jl. Melati No. 12, Kebayoran Baru",
        "unit": "UP3 Bulungan",
        "posko": "ULP Kebayoran Baru",
        "confirmation_at": "",
        "contact_note": "Alamat menurut penelepon berbeda dengan data IDPEL",
        "self_diagnosis": {"08": "12", "41": "220,5"},
        "call_id": "c7",
    },
    "report_number": "",
    "notes": [{"label": "Topik", "value": "kWh meter"}],
    "open_report": {"number": "G2503100000123", "status": "LAPOR"},
}


def delivery() -> Delivery:
    return Delivery("c7", "cso1", "periksa", pops.RINGING, "081234567890", 1763867702.0)


# -- the stored form ---------------------------------------------------------------------


def test_a_pop_round_trips_through_its_stored_json() -> None:
    pop = ScreenPop(
        call_id="c1",
        flow="main",
        queue="status",
        caller=Caller(number="0215551234", line="pstn", name="Siti", salutation="Ibu"),
        customer=Customer(keyed="532112345678", found=True, idpel="532112345678", unit="U"),
        power_state="menyala",
        self_diagnosis={"70": "Null"},
        answers=(Answer("menu", "status"),),
        asks=("menu",),
        path=("main/menu",),
        apkt=ReportRequest("Siti", "0215551234", "Jl. A", "KWH PERIKSA", "X", call_id="c1"),
        report_number="G1",
        notes=(Note("Topik", "Status"),),
        open_report=OpenReport("G2503100000123", "LAPOR"),
    )
    stored = json.loads(json.dumps(pop.to_stored()))
    assert ScreenPop.from_stored(stored) == pop
    assert ScreenPop.from_stored(ScreenPop(call_id="c2", flow="f", queue="umum").to_stored()) == (
        ScreenPop(call_id="c2", flow="f", queue="umum")
    )


def test_a_pop_stored_by_the_old_code_reads_back_to_the_same_json() -> None:
    pop = ScreenPop.from_stored(OLD_POP)
    assert pop.caller == Caller("+6281234567890", "mobile", "Budi Santoso", "Bapak")
    assert pop.customer is not None and pop.customer.address_confirmed is False
    assert pop.apkt is not None and pop.apkt.self_diagnosis == {"08": "12", "41": "220,5"}
    assert pop.open_report == OpenReport("G2503100000123", "LAPOR")
    assert json.dumps(pop.to_stored()) == json.dumps(OLD_POP)  # same keys, same order


def test_a_keyed_number_nobody_has_keeps_its_short_form() -> None:
    stored = {**OLD_POP, "customer": {"keyed": "14299999999", "found": False}}
    pop = ScreenPop.from_stored(stored)
    assert pop.customer == Customer(keyed="14299999999")
    assert pop.to_stored() == stored


def test_an_odd_stored_pop_still_reads_and_renders() -> None:
    odd = {
        "caller": 81234567890,
        "customer": {"found": True, "power_va": 1300, "address_confirmed": None},
        "answers": [{"ask": "menu"}, "junk"],
        "asks": None,
        "notes": ["junk", {"label": "A", "value": 1}],
        "apkt": {"problem_text": "X"},
        "open_report": None,
    }
    pop = ScreenPop.from_stored(odd)
    assert pop.answers == (Answer("menu", ""),)
    assert pop.notes == (Note("A", "1"),)
    assert pop.apkt is not None and (pop.apkt.problem_text, pop.apkt.wo_type) == ("X", "")
    view = pop_view(odd, delivery(), ZONE)
    assert view["customer"]["power_va"] == "1300"
    assert view["customer"]["address_verified"] is None
    assert view["apkt"]["fields"] == []
    assert view["notes"] == [{"label": "A", "value": "1"}]


# -- the view of an old pop ----------------------------------------------------------------


def test_an_old_pop_renders() -> None:
    view = pop_view(OLD_POP, delivery(), ZONE)
    assert view["call_id"] == "c7"
    assert view["caller"] == {
        "name": "Budi Santoso",
        "salutation": "Bapak",
        "number": "081234567890",
        "line": "mobile",
        "line_label": "Seluler",
    }
    assert view["customer"]["address"] == "Jl. Melati No. 12, Kebayoran Baru"
    assert view["customer"]["address_verified"] is False
    values = {row["code"]: row["value"] for row in view["self_diagnosis"]}
    assert (values["08"], values["41"], values["70"]) == ("12", "220,5", "")
    assert view["apkt"]["wo_type"] == "KWH PERIKSA"
    assert ["Waktu padam", "2025-11-23 09:00"] in view["apkt"]["fields"]
    assert ["Jenis WO", "KWH PERIKSA"] not in view["apkt"]["fields"]  # shown apart
    assert ["Jenis WO", "KWH PERIKSA"] in view["apkt"]["block_fields"]
    assert view["open_report"] == {"number": "G2503100000123", "status": "LAPOR"}
    assert view["notes"] == [{"label": "Topik", "value": "kWh meter"}]
    assert view["note"] == ""
    assert "Topik" in view["apkt_block"] and "No. meter" in view["apkt_block"]


def test_every_apkt_label_names_a_field_of_the_form() -> None:
    form_fields = {f.name for f in fields(ReportRequest)}
    assert {key for key, _ in labels.APKT_FIELDS} <= form_fields


# -- the meter-vs-IDPEL rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    "keyed",
    ["14299999999", "532199999999", "1429999999", "5321999999999", "00000000000"],
)
def test_a_keyed_number_is_shown_where_the_domain_rule_puts_it(keyed: str) -> None:
    data = {**OLD_POP, "customer": {"keyed": keyed, "found": False}, "apkt": None}
    customer = pop_view(data, delivery(), ZONE)["customer"]
    is_meter = customer_id_kind(keyed) == METER
    assert customer["meter_number"] == (keyed if is_meter else "")
    assert customer["idpel"] == ("" if is_meter else keyed)  # an odd length stays visible


# -- the transfer step fills and stores it ---------------------------------------------------


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[CallContext]:
    store = CallStore(tmp_path / "calls.sqlite3")

    async def silent(*_: object) -> str:
        return ""

    store.connection.execute(
        "INSERT INTO calls (id, flow, caller, started_at) VALUES ('c9', 'periksa', '0812', 'x')"
    )
    yield CallContext(
        call_id="c9",
        flow_name="periksa",
        port=SimPort(silent),
        store=store,
        flows={},
        catalogue=PromptCatalogue({}),
        actions={},
        hand_over=hand_to_queue,
        variables={
            "caller": "+6281234567890",
            "caller_class": "mobile",
            "idpel": "532112345678",
            "id_dikunci": "14212345678",
            "no_meter": "14212345678",
            "nama_pelanggan": "Budi Santoso",
            "jalan": "Jl. Melati No. 12",
            "wilayah": "Kebayoran Baru",
            "address_correct": "ya",
            "unit": "UP3 Bulungan",
            "posko": "ULP Kebayoran Baru",
            "tarif": "R1",
            "daya": "1300",
            "power_state": "menyala",
            "meter_08": "12",
            "problem_text": "KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)",
        },
        path=["periksa/menu", "periksa/idpel"],
        asks=["menu", "idpel"],
        answers=[{"ask": "menu", "value": "periksa"}, {"ask": "idpel", "value": "14212345678"}],
    )
    store.close()


async def test_the_transfer_step_stores_the_pop_in_the_shape_the_page_reads(
    ctx: CallContext,
) -> None:
    await hand_to_queue(ctx, "periksa", [Note("Topik", "kWh meter")])
    store = PopStore(ctx.store.path)
    stored = store.pop_data("c9")
    store.close()
    assert stored == {
        "call_id": "c9",
        "flow": "periksa",
        "queue": "periksa",
        "caller": "+6281234567890",
        "caller_class": "mobile",
        "caller_name": "",
        "salutation": "",
        "customer": {
            "found": True,
            "keyed": "14212345678",
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
        "power_state": "menyala",
        "self_diagnosis": {"08": "12"},
        "answers": [{"ask": "menu", "value": "periksa"}, {"ask": "idpel", "value": "14212345678"}],
        "asks": ["menu", "idpel"],
        "path": ["periksa/menu", "periksa/idpel"],
        "apkt": {
            "reporter_name": "Budi Santoso",
            "caller_number": "081234567890",
            "address": "Jl. Melati No. 12, Kebayoran Baru",
            "wo_type": "KWH PERIKSA",
            "problem_text": "KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)",
            "idpel": "532112345678",
            "mobile_number": "",
            "padam_at": "",
            "location": "Jl. Melati No. 12, Kebayoran Baru",
            "unit": "UP3 Bulungan",
            "posko": "ULP Kebayoran Baru",
            "confirmation_at": "",
            "contact_note": "",
            "self_diagnosis": {"08": "12"},
            "call_id": "c9",
        },
        "report_number": "",
        "notes": [{"label": "Topik", "value": "kWh meter"}],
        "open_report": None,
    }
    assert ScreenPop.from_stored(stored) == screenpop_data(
        ctx, "periksa", [Note("Topik", "kWh meter")]
    )
    assert ctx.queue == "periksa"


def test_a_caller_who_keyed_nothing_usable_has_no_customer(ctx: CallContext) -> None:
    ctx.variables = {"idpel": "tidak_tahu"}
    assert screenpop_data(ctx, "umum").customer is None
    ctx.variables = {"idpel": "14299999999"}
    assert screenpop_data(ctx, "umum").customer == Customer(keyed="14299999999")
