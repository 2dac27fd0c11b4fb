"""The APKT gangguan form, filled from a call's variables.

Used when the IVR files the report itself and when it hands the call to a CSO, whose
screen-pop then shows the same fields, ready to paste.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ivr.backends.ports import ReportRequest
from ivr.domain import periksa, self_diagnosis
from ivr.domain.callerid import parse_caller_id


def report_request(
    variables: Mapping[str, str], call_id: str, default_timezone: str
) -> ReportRequest:
    """The APKT form, filled from what the call collected."""
    v = variables
    zone = ZoneInfo(v.get("zona") or default_timezone)
    now_local = datetime.now(UTC).astimezone(zone)
    address = ", ".join(part for part in (v.get("jalan", ""), v.get("wilayah", "")) if part)
    notes = [periksa.contact_note(v["contact_channels"])] if v.get("contact_channels") else []
    confirmation = v.get("confirmation_time", "")
    if confirmation:
        notes.append(periksa.confirmation_note(confirmation))
    if v.get("alamat_berbeda") == "ya":
        notes.append("Alamat menurut penelepon berbeda dengan data IDPEL")
    readings = {
        code: self_diagnosis.parse_meter_value(v[f"meter_{code}"])
        for code in self_diagnosis.CODES
        if f"meter_{code}" in v
    }
    return ReportRequest(
        reporter_name=v.get("nama") or v.get("nama_pelanggan") or "Penelepon",
        caller_number=parse_caller_id(v.get("caller", "")).national or v.get("caller", ""),
        address=address,
        wo_type=v.get("wo_type", periksa.WO_KWH_PERIKSA),
        problem_text=v.get("problem_text", ""),
        idpel=v.get("idpel", "") if v.get("idpel") != "tidak_tahu" else "",
        mobile_number=v.get("mobile_number", ""),
        padam_at=now_local.strftime("%Y-%m-%d %H:%M") if v.get("power_state") == "padam" else "",
        location=address,
        unit=v.get("unit", ""),
        posko=v.get("posko", ""),
        confirmation_at=(
            periksa.confirmation_time(confirmation, now_local).strftime("%Y-%m-%d %H:%M")
            if confirmation
            else ""
        ),
        contact_note="; ".join(notes),
        self_diagnosis=readings,
        call_id=call_id,
    )
