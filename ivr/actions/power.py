"""Actions of the tambah daya flow: AP2T's checks, the rules and costs of the tariff
table (``flows/data/tarif_tambah_daya.yaml``), the registration.

Each reads and sets call variables; the flow decides what to say and where to go.
Amounts are set twice: as plain digits for the spoken ``{number: ...}`` parts, and with
dots (``759.000``, name ending ``_teks``) for the CSO's screen-pop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from ivr.backends.ports import Ap2tPort, BackendError, PowerChangeRequest
from ivr.domain import tambah_daya
from ivr.domain.callerid import parse_caller_id
from ivr.domain.tambah_daya import TariffTable
from ivr.engine.context import CallContext


def _ap2t(ctx: CallContext) -> Ap2tPort:
    if ctx.backends is None or ctx.backends.ap2t is None:
        raise BackendError("this IVR runs without AP2T")
    return ctx.backends.ap2t


def _table(ctx: CallContext) -> TariffTable:
    return ctx.table(tambah_daya.TABLE, TariffTable)


def _int(ctx: CallContext, name: str) -> int:
    value = ctx.variables.get(name, "")
    return int(value) if value.isdigit() else 0


def rupiah_text(amount: int) -> str:
    """``759000`` as ``759.000``, as Indonesian writes amounts."""
    return f"{amount:,}".replace(",", ".")


def _set_amount(ctx: CallContext, name: str, amount: int) -> None:
    ctx.variables[name] = str(amount)
    ctx.variables[f"{name}_teks"] = rupiah_text(amount)


def _one_more_try(ctx: CallContext, name: str, args: Mapping[str, Any]) -> bool:
    """Count a wrong answer the action (not the input node) found; False once the
    node's ``maks`` tries (3) are used up."""
    key = f"_salah_{name}"
    count = int(ctx.variables.get(key, "0")) + 1
    ctx.variables[key] = str(count)
    return count < int(args.get("maks", 3))


async def check_arrears(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The customer found by ``pelanggan.cari``: arrears in AP2T (step 4).

    Results: ``ada`` (``tunggakan`` set) or ``tidak_ada``. Also sets ``prabayar``
    (``ya`` when the customer has a prepaid meter number), ``peruntukan`` and the
    stroom awal bounds ``stroom_min``/``stroom_max`` for the prompts.
    """
    table = _table(ctx)
    owed = await _ap2t(ctx).arrears(ctx.variables.get("idpel", ""))
    found = table.group_of(ctx.variables.get("tarif", ""))
    ctx.variables["peruntukan"] = found[1].peruntukan if found else ""
    ctx.variables["prabayar"] = "ya" if ctx.variables.get("no_meter") else "tidak"
    ctx.variables["stroom_min"] = str(table.stroom_awal.minimal)
    ctx.variables["stroom_max"] = str(table.stroom_awal.maksimal)
    if owed > 0:
        _set_amount(ctx, "tunggakan", owed)
        return "ada"
    return "tidak_ada"


async def check_target_power(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The power asked for (``target_power``) by the table's rules (step 5).

    Results: ``layak`` (``tarif_tujuan`` set), ``ke_cso`` (``sop_cso`` names the SOP
    the CSO follows), ``golongan_lain``, ``bukan_standar`` or ``tidak_naik`` (the caller
    may key again), and ``terlalu_sering`` after ``maks`` wrong powers.
    """
    decision = tambah_daya.decide(
        _table(ctx),
        ctx.variables.get("tarif", ""),
        _int(ctx, "daya"),
        _int(ctx, "target_power"),
    )
    ctx.variables["tarif_tujuan"] = decision.target_tariff
    if decision.kind in ("bukan_standar", "tidak_naik"):
        return decision.kind if _one_more_try(ctx, "target_power", args) else "terlalu_sering"
    if decision.sop:
        ctx.variables["sop_cso"] = decision.sop
    return decision.kind


async def check_ap2t(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """AP2T's notice for the target power (step 7).

    Results: ``dapat`` or ``ditolak`` (``penolakan_ap2t`` set); sets
    ``pekerjaan_jaringan`` (``sr``, ``jtr``, ``jtm``) for the SLA.
    """
    check = await _ap2t(ctx).check_power_change(
        ctx.variables.get("idpel", ""), _int(ctx, "target_power")
    )
    ctx.variables["pekerjaan_jaringan"] = check.network_work
    if check.refusal:
        ctx.variables["penolakan_ap2t"] = check.refusal
        return "ditolak"
    return "dapat"


async def compute_costs(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The cost parts (step 9) and the SLA days (step 10).

    For a prepaid meter ``stroom_awal`` (rupiah keyed) must be in the table's range:
    otherwise ``stroom_di_luar_batas`` (again) or ``terlalu_sering``. Result
    ``dihitung``: ``biaya_bp``, ``biaya_meterai``, ``biaya_stroom``, ``biaya_ppj``,
    ``biaya_ppn``, ``biaya_total`` (and ``_teks`` forms), ``ada_ppn`` and ``sla_hari``.
    """
    table = _table(ctx)
    stroom = 0
    if ctx.variables.get("prabayar") == "ya":
        stroom = _int(ctx, "stroom_awal")
        if not tambah_daya.stroom_in_range(table, stroom):
            ok = _one_more_try(ctx, "stroom_awal", args)
            return "stroom_di_luar_batas" if ok else "terlalu_sering"
    current, target = _int(ctx, "daya"), _int(ctx, "target_power")
    parts = tambah_daya.costs(table, ctx.variables.get("tarif", ""), current, target, stroom)
    for name, amount in (
        ("biaya_bp", parts.biaya_penyambungan),
        ("biaya_meterai", parts.meterai),
        ("biaya_stroom", parts.stroom_awal),
        ("biaya_ppj", parts.ppj),
        ("biaya_ppn", parts.ppn),
        ("biaya_total", parts.total),
    ):
        _set_amount(ctx, name, amount)
    ctx.variables["ada_ppn"] = "ya" if parts.ppn else "tidak"
    days = tambah_daya.sla_days(
        table, current, target, ctx.variables.get("pekerjaan_jaringan", "sr")
    )
    ctx.variables["sla_hari"] = str(days)
    return "dihitung"


async def register(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Save the request in AP2T (step 15). Result ``terdaftar``: ``registrasi`` (the
    number) and ``registrasi_berlaku`` (last day, ``YYYY-MM-DD``) set."""
    v = ctx.variables
    is_owner = v.get("is_owner") == "ya"
    request = PowerChangeRequest(
        idpel=v.get("idpel", ""),
        current_tariff=v.get("tarif", ""),
        current_power_va=_int(ctx, "daya"),
        target_tariff=v.get("tarif_tujuan", ""),
        target_power_va=_int(ctx, "target_power"),
        stroom_awal=_int(ctx, "biaya_stroom"),
        costs={
            "biaya_penyambungan": _int(ctx, "biaya_bp"),
            "meterai": _int(ctx, "biaya_meterai"),
            "stroom_awal": _int(ctx, "biaya_stroom"),
            "ppj": _int(ctx, "biaya_ppj"),
            "ppn": _int(ctx, "biaya_ppn"),
        },
        is_owner=is_owner,
        owner_nik=v.get("owner_nik", ""),
        applicant_nik=v.get("owner_nik", "") if is_owner else v.get("applicant_nik", ""),
        # The owner applies as the customer; one acting for the owner is the caller.
        applicant_name=v.get("nama_pelanggan", "") if is_owner else v.get("nama", ""),
        mobile_number=v.get("mobile_number", ""),
        caller_number=parse_caller_id(v.get("caller", "")).national,
        call_id=ctx.call_id,
    )
    registration = await _ap2t(ctx).register_power_change(request)
    v["registrasi"] = registration.number
    v["registrasi_berlaku"] = registration.valid_until
    return "terdaftar"


async def intimacy(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The closing's customer-intimacy line by the caller's local hour (step 22):
    sets ``keakraban`` (``beraktifitas``, ``beristirahat`` or ``sehat``)."""
    zone = ZoneInfo(ctx.variables.get("zona") or ctx.default_timezone)
    hour = ctx.now().astimezone(zone).hour
    ctx.variables["keakraban"] = tambah_daya.intimacy_period(hour)
    return "ok"
