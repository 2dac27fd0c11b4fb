"""What the CSO's page shows for one pop: the stored pop made readable.

The page only lays out what this module gives it (labels in Indonesian, times in the
contact centre's zone, the APKT block ready to paste), so the wording is tested here,
in Python, and the page stays a thin renderer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.domain import self_diagnosis
from ivr.domain.callerid import parse_caller_id
from ivr.screenpop import labels
from ivr.store.pops import Callback, Delivery

PopView = dict[str, Any]


def _local_time(epoch: float, zone: str, fmt: str) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(ZoneInfo(zone)).strftime(fmt)


def _caller(data: dict[str, Any], delivery: Delivery) -> dict[str, str]:
    number = str(data.get("caller") or delivery.caller)
    parsed = parse_caller_id(number)
    line = str(data.get("caller_class") or parsed.kind)
    line = line if line in labels.LINES else ""
    return {
        "name": str(data.get("caller_name", "")),
        "salutation": str(data.get("salutation", "")),
        "number": parsed.national or number,
        "line": line,
        "line_label": labels.LINES.get(line, ""),
    }


def _customer(data: dict[str, Any]) -> dict[str, Any] | None:
    customer = data.get("customer")
    if not customer:
        return None
    if not customer.get("found"):
        keyed = str(customer.get("keyed", ""))
        is_meter = len(keyed) == 11
        return {
            "idpel": "" if is_meter else keyed,
            "meter_number": keyed if is_meter else "",
            "name": "",
            "address": "(tidak ditemukan di data pelanggan)",
            "address_verified": None,
            "unit": "",
            "posko": "",
            "tariff": "",
            "power_va": "",
        }
    address = ", ".join(p for p in (customer.get("street", ""), customer.get("area", "")) if p)
    return {
        "idpel": customer.get("idpel", ""),
        "meter_number": customer.get("meter_number", ""),
        "name": customer.get("name", ""),
        "address": address,
        "address_verified": customer.get("address_confirmed"),
        "unit": customer.get("unit", ""),
        "posko": customer.get("posko", ""),
        "tariff": customer.get("tariff", ""),
        "power_va": customer.get("power_va", ""),
    }


def _self_diagnosis(data: dict[str, Any]) -> list[dict[str, str]]:
    """All nine rows, in the SOP's order; a value the meter did not show is ``Null``."""
    values = data.get("self_diagnosis") or {}
    rows = []
    for code in self_diagnosis.CODES:
        raw = str(values.get(code, ""))
        try:
            value = self_diagnosis.parse_meter_value(raw) if raw else ""
        except ValueError:
            value = raw
        rows.append({"code": code, "meaning": self_diagnosis.MEANINGS[code], "value": value})
    return rows


def _apkt(data: dict[str, Any]) -> dict[str, Any] | None:
    form = data.get("apkt")
    if not form:
        return None
    return {
        "problem_text": form.get("problem_text", ""),
        "wo_type": form.get("wo_type", ""),
        # The page shows these two apart, large; the block to paste has them all.
        "fields": [
            [label, str(form[key])]
            for key, label in labels.APKT_FIELDS
            if form.get(key) and key not in ("problem_text", "wo_type")
        ],
        "block_fields": [
            [label, str(form[key])] for key, label in labels.APKT_FIELDS if form.get(key)
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
    lines += [(note["label"], note["value"]) for note in view["notes"]]
    width = max((len(label) for label, value in lines if value), default=0)
    text = [f"{label.ljust(width)} : {value}" for label, value in lines if value]
    readings = [row for row in view["self_diagnosis"] if row["value"]]
    if readings:
        text.append("Self Diagnosis - Respon Kode kWh Meter:")
        text += [f"  {row['code']} {row['meaning']}: {row['value']}" for row in readings]
    return "\n".join(text)


def pop_view(
    data: dict[str, Any] | None, delivery: Delivery, zone: str, event_at: float | None = None
) -> PopView:
    """The page's view of one pop at one agent (``data`` None: the call bypassed the
    IVR, so only the number and the queue are known)."""
    data = data or {"caller": delivery.caller, "queue": delivery.queue, "bypassed_ivr": True}
    power = str(data.get("power_state", ""))
    view: PopView = {
        "id": delivery.pop_id,
        "call_id": data.get("call_id", ""),
        "queue": delivery.queue,
        "queue_label": labels.QUEUES.get(delivery.queue, delivery.queue),
        "state": delivery.state,
        "state_label": labels.STATES.get(delivery.state, delivery.state),
        "rang_at_text": _local_time(delivery.rang_at, zone, "%H:%M:%S"),
        "event_at": round((event_at or delivery.rang_at) * 1000),
        "caller": _caller(data, delivery),
        "customer": _customer(data),
        "power_state": power,
        "power_state_label": labels.POWER_STATES.get(power, ""),
        "self_diagnosis": _self_diagnosis(data),
        "answers": [
            {
                "seq": i,
                "ask": a.get("ask", ""),
                "label": labels.ask_label(a.get("ask", "")),
                "value": a.get("value", ""),
            }
            for i, a in enumerate(data.get("answers") or [], start=1)
        ],
        "apkt": _apkt(data),
        "report_number": data.get("report_number", ""),
        "open_report": data.get("open_report"),
        "notes": [
            {"label": str(n.get("label", "")), "value": str(n.get("value", ""))}
            for n in data.get("notes") or []
            if isinstance(n, dict)
        ],
        "note": "Panggilan tidak melalui IVR" if data.get("bypassed_ivr") else "",
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
