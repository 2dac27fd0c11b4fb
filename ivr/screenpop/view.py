"""What the CSO's page shows for one pop: the stored pop made readable.

The page only lays out what this module gives it (labels in Indonesian, times in the
contact centre's zone, the APKT block ready to paste), so the wording is tested here,
in Python, and the page stays a thin renderer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.backends.ports import ReportRequest
from ivr.domain import self_diagnosis
from ivr.domain.callerid import parse_caller_id
from ivr.domain.customer_ids import METER, customer_id_kind
from ivr.domain.outages import OutageInvalid, format_time
from ivr.engine.pop import Caller, Customer, OutageNotice, ScreenPop
from ivr.screenpop import labels
from ivr.store.pops import Callback, Delivery

PopView = dict[str, Any]


def _local_time(epoch: float, zone: str, fmt: str) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(ZoneInfo(zone)).strftime(fmt)


def _caller(caller: Caller, delivery: Delivery) -> dict[str, str]:
    number = caller.number or delivery.caller
    parsed = parse_caller_id(number)
    line = caller.line or parsed.kind
    line = line if line in labels.LINES else ""
    return {
        "name": caller.name,
        "salutation": caller.salutation,
        "number": parsed.national or number,
        "line": line,
        "line_label": labels.LINES.get(line, ""),
    }


def _customer(customer: Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    if not customer.found:
        # The keyed number goes where its kind says; one the rule does not know (an
        # odd stored pop) is shown as the IDPEL, so the CSO still sees it.
        is_meter = customer_id_kind(customer.keyed) == METER
        return {
            "idpel": "" if is_meter else customer.keyed,
            "meter_number": customer.keyed if is_meter else "",
            "name": "",
            "address": "(tidak ditemukan di data pelanggan)",
            "address_verified": None,
            "unit": "",
            "posko": "",
            "tariff": "",
            "power_va": "",
        }
    return {
        "idpel": customer.idpel,
        "meter_number": customer.meter_number,
        "name": customer.name,
        "address": ", ".join(p for p in (customer.street, customer.area) if p),
        "address_verified": customer.address_confirmed,
        "unit": customer.unit,
        "posko": customer.posko,
        "tariff": customer.tariff,
        "power_va": customer.power_va,
    }


def _self_diagnosis(values: Mapping[str, str]) -> list[dict[str, str]]:
    """All nine rows, in the SOP's order; a value the meter did not show is ``Null``."""
    rows = []
    for code in self_diagnosis.CODES:
        raw = values.get(code, "")
        try:
            value = self_diagnosis.parse_meter_value(raw) if raw else ""
        except ValueError:
            value = raw
        rows.append({"code": code, "meaning": self_diagnosis.MEANINGS[code], "value": value})
    return rows


def _apkt(form: ReportRequest | None) -> dict[str, Any] | None:
    if form is None:
        return None
    filled = [(key, label, str(getattr(form, key))) for key, label in labels.APKT_FIELDS]
    return {
        "problem_text": form.problem_text,
        "wo_type": form.wo_type,
        # The page shows these two apart, large; the block to paste has them all.
        "fields": [
            [label, value]
            for key, label, value in filled
            if value and key not in ("problem_text", "wo_type")
        ],
        "block_fields": [[label, value] for key, label, value in filled if value],
    }


def _declared_text(at: float, zone: str) -> str:
    """When ops declared the outage, as the ops page writes it: ``2025-03-01 09:30 WIB``."""
    try:
        return format_time(at, zone)
    except OutageInvalid:  # a contact centre zone outside Indonesia's three
        return _local_time(at, zone, "%Y-%m-%d %H:%M")


def _outage(
    outage: OutageNotice | None, declared_at: float | None, zone: str
) -> dict[str, Any] | None:
    """The outage announcement the caller heard, for its own block at the top of the
    pop: the message, then labelled rows (a value not known is "", shown as a dash).
    ``declared_at`` comes from the outage record (None: not found)."""
    if outage is None:
        return None
    values = {
        "units": ", ".join(outage.units),
        "until": outage.until,
        "report_number": outage.report_number,
        "declared_at": "" if declared_at is None else _declared_text(declared_at, zone),
    }
    return {
        "id": outage.id,
        "title": labels.OUTAGE_TITLE,
        "message": outage.message,
        "units": list(outage.units),
        "until": outage.until,
        "report_number": outage.report_number,
        "declared_at_text": values["declared_at"],
        "rows": [
            {"field": key, "label": label, "value": values[key]}
            for key, label in labels.OUTAGE.items()
        ],
    }


def apkt_block(view: PopView) -> str:
    """Plain text for the CSO to paste into APKT: the form, then the self diagnosis."""
    caller, customer, apkt = view["caller"], view["customer"], view["apkt"]
    lines: list[tuple[str, str]] = []
    if apkt:
        lines += [(label, value) for label, value in apkt["block_fields"]]
    else:
        lines += [("Nama pelapor", caller["name"]), ("No. telepon", caller["number"])]
        if customer:
            lines += [("IDPEL", customer["idpel"]), ("Alamat", customer["address"])]
    if customer and customer["meter_number"]:
        lines.append(("No. meter", customer["meter_number"]))
    if view["power_state_label"]:
        lines.append(("Kondisi listrik", view["power_state_label"]))
    if view["report_number"]:
        lines.append(("No. laporan", view["report_number"]))
    # A report for a caller in a declared outage belongs to its master report.
    if view["outage"] and view["outage"]["report_number"]:
        lines.append((labels.OUTAGE["report_number"], view["outage"]["report_number"]))
    lines += [(note["label"], note["value"]) for note in view["notes"]]
    width = max((len(label) for label, value in lines if value), default=0)
    text = [f"{label.ljust(width)} : {value}" for label, value in lines if value]
    readings = [row for row in view["self_diagnosis"] if row["value"]]
    if readings:
        text.append("Self Diagnosis - Respon Kode kWh Meter:")
        text += [f"  {row['code']} {row['meaning']}: {row['value']}" for row in readings]
    return "\n".join(text)


def pop_view(
    data: Mapping[str, Any] | None,
    delivery: Delivery,
    zone: str,
    event_at: float | None = None,
    outage_declared_at: float | None = None,
) -> PopView:
    """The page's view of one pop at one agent, from the stored pop (``data`` None: the
    call bypassed the IVR, so only the number and the queue are known);
    ``outage_declared_at``: when the outage the caller heard was declared, if known."""
    if data is None:
        pop = ScreenPop(
            call_id="", flow="", queue=delivery.queue, caller=Caller(number=delivery.caller)
        )
    else:
        pop = ScreenPop.from_stored(data)
    view: PopView = {
        "id": delivery.pop_id,
        "call_id": pop.call_id,
        "queue": delivery.queue,
        "queue_label": labels.QUEUES.get(delivery.queue, delivery.queue),
        "state": delivery.state,
        "state_label": labels.STATES.get(delivery.state, delivery.state),
        "rang_at_text": _local_time(delivery.rang_at, zone, "%H:%M:%S"),
        "event_at": round((event_at or delivery.rang_at) * 1000),
        "caller": _caller(pop.caller, delivery),
        "customer": _customer(pop.customer),
        "power_state": pop.power_state,
        "power_state_label": labels.POWER_STATES.get(pop.power_state, ""),
        "self_diagnosis": _self_diagnosis(pop.self_diagnosis),
        "answers": [
            {"seq": i, "ask": a.ask, "label": labels.ask_label(a.ask), "value": a.value}
            for i, a in enumerate(pop.answers, start=1)
        ],
        "apkt": _apkt(pop.apkt),
        "report_number": pop.report_number,
        "open_report": pop.open_report.to_stored() if pop.open_report else None,
        "outage": _outage(pop.outage, outage_declared_at, zone),
        "notes": [note.to_stored() for note in pop.notes],
        "note": "Panggilan tidak melalui IVR" if data is None else "",
    }
    view["apkt_block"] = apkt_block(view)
    return view


def callback_view(task: Callback, caller_name: str, zone: str) -> dict[str, Any]:
    """A call-back task as the page lists it."""
    return {
        "id": task.id,
        "number": task.number,
        "caller_name": caller_name,
        "queue": task.queue,
        "queue_label": labels.QUEUES.get(task.queue, task.queue),
        "requested_at_text": _local_time(task.requested_at, zone, "%H:%M"),
        "pop_id": task.pop_id,
        "state": task.state,
    }
