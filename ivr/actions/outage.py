"""Outage announcements (*gangguan meluas*) in the call: is the caller's area hit, the
announcement heard, the caller's report attached to the master report.

``gangguan.cek`` only looks (a caller who is never told counts nowhere);
``gangguan.dengar`` records ``heard`` as the flow starts the announcement, and
``gangguan.lampirkan`` records ``attached``. Whether a caller who heard it then reached
a CSO or hung up follows from how the call ended (:func:`ivr.domain.outages.call_events`),
so the counts are exact whichever way the call leaves the menu (0, silence, hangup).

Variables set when an outage covers the caller (the screen-pop shows them):
``gangguan_id``, ``gangguan_pesan`` (ops' text, spoken at run time),
``gangguan_sampai`` (``16:00 WITA``, in the caller's zone ``zona``) and
``gangguan_sampai_ucapan`` (the same in words), ``gangguan_unit``, ``gangguan_laporan``
(the master APKT report, "" when ops gave none) with ``gangguan_huruf`` and
``gangguan_angka`` to read a ``G``/``K`` number out by parts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ivr.backends.ports import BackendError, OutagePort
from ivr.domain.callerid import PSTN
from ivr.domain.outages import (
    ATTACHED,
    HEARD,
    Outage,
    OutageInvalid,
    caller_area_code,
    restoration_time,
    spoken_restoration,
    zone_id,
)
from ivr.domain.timezones import WIB
from ivr.engine.context import CallContext

#: Set by ``gangguan.dengar``: the caller was told of outage ``gangguan_id``.
HEARD_VARIABLE = "gangguan_didengar"
#: Set by ``gangguan.lampirkan``: the caller's report joined the master report, which is
#: the caller's task done (:data:`ivr.engine.journey.TASK_DONE_VARIABLES`).
ATTACHED_VARIABLE = "gangguan_dilampirkan"
OUTAGE_ID = "gangguan_id"


def _port(ctx: CallContext) -> OutagePort | None:
    return ctx.backends.outages if ctx.backends is not None else None


def _zone(ctx: CallContext) -> str:
    """The caller's zone as an IANA id (WIB when what the call holds is none of the three)."""
    for candidate in (ctx.variables.get("zona", ""), ctx.default_timezone):
        try:
            return zone_id(candidate)
        except OutageInvalid:
            continue
    return WIB


def _set_outage(ctx: CallContext, outage: Outage) -> None:
    zone = _zone(ctx)
    number = outage.report_number
    by_parts = len(number) > 1 and number[0] in "GK" and number[1:].isdigit()
    ctx.variables.update(
        {
            OUTAGE_ID: str(outage.id),
            "gangguan_pesan": outage.message,
            "gangguan_sampai": restoration_time(outage, zone),
            "gangguan_sampai_ucapan": spoken_restoration(outage, zone, time.time()),
            "gangguan_unit": ", ".join(outage.units),
            "gangguan_laporan": number,
            "gangguan_huruf": number[0].lower() if by_parts else "",
            "gangguan_angka": number[1:] if by_parts else "",
        }
    )


async def check(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Is the caller covered by an outage in force now?

    ``oleh: pelanggan`` (default) looks by the customer's ``unit`` and ``posko`` (set by
    ``pelanggan.cari``); ``oleh: kode_area`` by the area code of a fixed-line caller
    (``kode_area``, set by ``penelepon.kenali``; a mobile number says nothing of where
    the caller is). Results: ``ada`` (the ``gangguan_*`` variables set) or ``tidak_ada``.
    """
    port = _port(ctx)
    if port is None:
        return "tidak_ada"
    v = ctx.variables
    if args.get("oleh", "pelanggan") == "kode_area":
        code = v.get("kode_area", "") if v.get("caller_class") == PSTN else ""
        code = code or caller_area_code(v.get("caller", ""))
        outage = await port.covering_area_code(code) if code else None
    else:
        unit, posko = v.get("unit", ""), v.get("posko", "")
        outage = await port.covering(unit, posko) if unit or posko else None
    if outage is None:
        return "tidak_ada"
    _set_outage(ctx, outage)
    return "ada"


async def _record(ctx: CallContext, event: str) -> str:
    port = _port(ctx)
    outage_id = ctx.variables.get(OUTAGE_ID, "")
    if port is None or not outage_id.isdigit():
        raise BackendError(f"no outage to record {event!r} for (run gangguan.cek first)")
    await port.record(int(outage_id), ctx.call_id, event)
    return outage_id


async def heard(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The flow starts the announcement now: record ``heard`` (once per call). The
    variable is set first, so the CSO's pop shows the outage even if the record fails.
    Result: ``ok``."""
    ctx.variables[HEARD_VARIABLE] = ctx.variables.get(OUTAGE_ID, "")
    await _record(ctx, HEARD)
    return "ok"


async def attach(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The caller's report joins the outage's master report: record ``attached``; the
    call counts as contained, and no new APKT report is made. Result: ``dilampirkan``."""
    outage_id = await _record(ctx, ATTACHED)
    ctx.variables[ATTACHED_VARIABLE] = outage_id
    return "dilampirkan"
