"""Actions that ask PLN's systems: who calls, which customer, which report.

Each reads and writes call variables, so flows stay data: the flow decides what to
ask and where to go, the action only talks to the backend and names the result.
A backend that fails raises; the action step turns that into the ``error`` result
(a CSO, by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.backends.forms import report_request
from ivr.backends.ports import BackendError, Backends, ClosedIssue, Report
from ivr.domain import report_status as report_status_domain
from ivr.domain.callerid import parse_caller_id
from ivr.domain.greeting import local_period
from ivr.domain.timezones import caller_zone
from ivr.engine.context import CallContext
from ivr.prompts.catalogue import fill

#: Call variable holding the greeting period; recomputed once the caller's zone is known.
PERIOD = "waktu"


def _backends(ctx: CallContext) -> Backends:
    if ctx.backends is None:
        raise BackendError("this IVR runs without backends")
    return ctx.backends


def _set_zone(ctx: CallContext, zone: str) -> None:
    """Note the caller's zone; the greeting period follows it (computed for the default
    zone when the call started)."""
    if ctx.variables.get("zona", ctx.default_timezone) == zone and PERIOD in ctx.variables:
        ctx.variables["zona"] = zone
        return
    ctx.variables["zona"] = zone
    ctx.variables[PERIOD] = local_period(ctx.now(), zone, ctx.greeting_hours)


async def identify_caller(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Caller ID class and zone, and the caller's name when the CRM knows the number.

    Results: ``dikenal`` (``nama``, ``sapaan`` set) or ``baru``.
    """
    caller = parse_caller_id(ctx.variables.get("caller", ""))
    ctx.variables["caller_class"] = caller.kind
    ctx.variables["kode_area"] = caller.area_code
    _set_zone(ctx, caller_zone(caller, None, ctx.default_timezone))
    if not caller.valid:
        return "baru"
    info = await _backends(ctx).crm.caller(caller.national)
    if info is None or not info.name:
        return "baru"
    ctx.variables["nama"] = info.name
    ctx.variables["sapaan"] = info.salutation or "Bapak/Ibu"
    return "dikenal"


async def find_customer(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The customer for the IDPEL or meter number the caller keyed (variable ``idpel``).

    Results: ``ditemukan`` (address, unit, tariff set; ``idpel`` becomes the 12-digit
    IDPEL) or ``tidak_ditemukan``.
    """
    keyed = ctx.variables.get(str(args.get("dari", "idpel")), "")
    customer = await _backends(ctx).customers.find(keyed)
    if customer is None:
        return "tidak_ditemukan"
    ctx.variables.update(
        {
            "id_dikunci": keyed,
            "idpel": customer.idpel,
            "no_meter": customer.meter_number,
            "nama_pelanggan": customer.name,
            "jalan": customer.street,
            "wilayah": customer.area,
            "unit": customer.unit,
            "posko": customer.posko,
            "tarif": customer.tariff,
            "daya": str(customer.power_va),
            "region": customer.region,
        }
    )
    caller = parse_caller_id(ctx.variables.get("caller", ""))
    _set_zone(ctx, caller_zone(caller, customer.region, ctx.default_timezone))
    return "ditemukan"


async def find_open_report(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """An open report of this caller, by phone (``oleh: telepon``) or IDPEL.

    Results: ``ada`` (``laporan_terbuka``, ``status_laporan`` set) or ``tidak_ada``.
    """
    apkt = _backends(ctx).apkt
    if args.get("oleh") == "idpel":
        reports = await apkt.open_reports(idpel=ctx.variables.get("idpel", ""))
    else:
        phone = parse_caller_id(ctx.variables.get("caller", "")).national
        reports = await apkt.open_reports(phone=phone) if phone else []
    if not reports:
        return "tidak_ada"
    latest = max(reports, key=lambda report: report.created_at)
    ctx.variables["laporan_terbuka"] = latest.number
    ctx.variables["status_laporan"] = latest.status
    return "ada"


async def create_report(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """File the APKT report; the number goes into ``report_number`` (read out by parts)."""
    form = report_request(ctx.variables, ctx.call_id, ctx.default_timezone)
    report = await _backends(ctx).apkt.create_report(form)
    ctx.variables["report_number"] = report.number
    ctx.variables["laporan_huruf"] = report.number[0].lower()
    ctx.variables["laporan_angka"] = report.number[1:]
    return "dibuat"


async def report_status(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The caller's report and what its status means (SOP: status laporan and CTT).

    ``oleh: telepon`` takes the caller's one open report (none or several: not found);
    ``oleh: nomor`` the report numbered ``report_kind`` (gangguan G, keluhan K) and
    ``nomor_dicari`` (the 13 digits keyed), finished or not, following a keluhan moved to gangguan;
    ``oleh: idpel`` the newest open report of ``idpel``. Results: ``ctt_petugas``,
    ``ctt_token``, ``lainnya`` (``status_teks`` set) or ``tidak_ditemukan``. Sets
    ``laporan_terbuka`` (the screen-pop shows it), ``status_laporan``,
    ``status_detail`` and ``ctt_token``.
    """
    apkt = _backends(ctx).apkt
    how = args.get("oleh", "telepon")
    found: Report | None = None
    if how == "nomor":
        letter = "K" if ctx.variables.get("report_kind") == "keluhan" else "G"
        found = await apkt.report(letter + ctx.variables.get("nomor_dicari", ""))
    elif how == "idpel":
        reports = await apkt.open_reports(idpel=ctx.variables.get("idpel", ""))
        found = max(reports, key=lambda report: report.created_at) if reports else None
    else:
        phone = parse_caller_id(ctx.variables.get("caller", "")).national
        reports = await apkt.open_reports(phone=phone) if phone else []
        found = reports[0] if len(reports) == 1 else None
    if found is None:
        return "tidak_ditemukan"
    ctx.variables.update(
        {
            "laporan_terbuka": found.number,
            "status_laporan": found.status,
            "status_teks": report_status_domain.plain_status(found.status),
            "status_detail": found.detail_status or "dalam proses",
            "ctt_token": found.ctt_token,
        }
    )
    return report_status_domain.status_kind(found.status)


async def close_issue(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Record the call in APKT as "Issue Closed" (the SOPs' "APKT Issue Closed").

    Args: ``keterangan`` (the description; may use ``{variables}``), ``jenis`` and
    ``sub_jenis`` (issue type and sub type, "Lain-lain" by default). Result: ``dicatat``
    (``nomor_issue`` set).
    """
    issue = ClosedIssue(
        issue_type=str(args.get("jenis", "Lain-lain")),
        sub_issue_type=str(args.get("sub_jenis", "Lain-lain")),
        description=fill(str(args.get("keterangan", "")), ctx.variables),
        caller_number=parse_caller_id(ctx.variables.get("caller", "")).national,
        idpel=ctx.variables.get("idpel", ""),
        call_id=ctx.call_id,
    )
    ctx.variables["nomor_issue"] = await _backends(ctx).apkt.close_issue(issue)
    return "dicatat"
