"""Actions of the PLN Mobile help line (``flows/pln_mobile.yaml``): the topic, the admin
fee of a payment method, and ITSM tickets (find, create, note a caller's repeat report).

The texts and rules live in :mod:`ivr.domain.pln_mobile`; these only read and set call
variables and talk to the ITSM port. A missing ITSM, or one that fails, raises; the
action step turns that into the ``error`` result (a CSO of the ``pln_mobile`` queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.backends.ports import BackendError, ItsmPort, TicketRequest
from ivr.domain import pln_mobile
from ivr.domain.callerid import parse_caller_id
from ivr.engine.context import CallContext
from ivr.prompts.catalogue import fill

#: Call variables this module sets, for the flow, its prompts and the screen-pop.
TOPIC_LABEL = "topik"
TICKET_KEYED = "itsm_ticket"
TICKET_STATUS = "itsm_status"
TICKET_STATUS_TEXT = "itsm_status_teks"
TICKET_SUMMARY = "itsm_ringkasan"
TICKET_NOTE = "itsm_catatan"
NEW_TICKET = "itsm_tiket_baru"
#: Every ticket the call created, comma separated (the CSO adds the e-mail to each).
NEW_TICKETS = "itsm_tiket_semua"


def _itsm(ctx: CallContext) -> ItsmPort:
    if ctx.backends is None or ctx.backends.itsm is None:
        raise BackendError("this IVR runs without ITSM")
    return ctx.backends.itsm


def _caller(ctx: CallContext) -> str:
    return parse_caller_id(ctx.variables.get("caller", "")).national


async def choose_topic(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The topic the caller chose (``mobile_topic``): sets ``topik`` (its label, for APKT
    and the screen-pop) and returns the topic's code, which the flow routes on."""
    chosen = pln_mobile.topic(ctx.variables.get("mobile_topic", ""))
    ctx.variables[TOPIC_LABEL] = chosen.label
    return chosen.code


async def admin_fee(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The admin fee of the payment method ``metode`` (default ``{payment_method}``) from
    the table ``biaya_admin_pln_mobile``.

    Sets ``metode_bayar`` (the method's spoken name), ``biaya_prabayar`` and
    ``biaya_pascabayar`` (rupiah); for one free and one paid, ``biaya_gratis_untuk``,
    ``biaya_bayar_untuk`` and ``biaya_bayar``. Results: ``gratis``, ``sama``, ``beda``,
    ``sebagian`` (:func:`ivr.domain.pln_mobile.fee_kind`) or ``tidak_ada`` (the table has
    no such method).
    """
    table = ctx.table(pln_mobile.TABLE, pln_mobile.AdminFeeTable)
    code = fill(str(args.get("metode", "{payment_method}")), ctx.variables)
    fee = table.method(code)
    if fee is None:
        return "tidak_ada"
    ctx.variables.update(
        {
            "metode_bayar": fee.name,
            "biaya_prabayar": str(fee.prepaid),
            "biaya_pascabayar": str(fee.postpaid),
        }
    )
    kind = pln_mobile.fee_kind(fee)
    if kind == pln_mobile.FEE_ONE_FREE:
        prepaid, postpaid = "pembelian token prabayar", "pembayaran tagihan pascabayar"
        free, paid = (prepaid, postpaid) if fee.prepaid == 0 else (postpaid, prepaid)
        ctx.variables.update(
            {
                "biaya_gratis_untuk": free,
                "biaya_bayar_untuk": paid,
                "biaya_bayar": str(fee.prepaid or fee.postpaid),
            }
        )
    return kind


async def find_ticket(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """The ticket the caller keyed (``itsm_ticket``).

    Results: ``belum_selesai`` or ``selesai`` (Resolved, Closed), with ``itsm_status``
    (ITSM's name), ``itsm_status_teks`` (what it means, in Indonesian) and
    ``itsm_ringkasan`` (its summary) set; or ``tidak_ditemukan``.
    """
    ticket = await _itsm(ctx).ticket(ctx.variables.get(TICKET_KEYED, ""))
    if ticket is None:
        for name in (TICKET_STATUS, TICKET_STATUS_TEXT, TICKET_SUMMARY):
            ctx.variables.pop(name, None)
        return "tidak_ditemukan"
    ctx.variables.update(
        {
            TICKET_KEYED: ticket.number,
            TICKET_STATUS: pln_mobile.status_name(ticket.status),
            TICKET_STATUS_TEXT: pln_mobile.explain_status(ticket.status),
            TICKET_SUMMARY: ticket.summary,
        }
    )
    return "selesai" if pln_mobile.is_finished(ticket.status) else "belum_selesai"


async def create_ticket(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """A new ITSM ticket for one problem. Result ``dibuat``; ``itsm_tiket_baru`` is its
    number, added to ``itsm_tiket_semua``.

    By default the problem is the topic just answered (``mobile_topic``). With
    ``ulang: true`` it is the finished ticket the caller reported again
    (``itsm_ticket``, found by ``itsm.cari``): the same summary, citing the old number.
    """
    caller = _caller(ctx)
    if args.get("ulang"):
        old = ctx.variables.get(TICKET_KEYED, "")
        if not ctx.variables.get(TICKET_SUMMARY) or not old:
            raise LookupError("itsm.buat ulang: no earlier ticket was found in this call")
        request = TicketRequest(
            summary=ctx.variables[TICKET_SUMMARY],
            description=pln_mobile.reopened_description(
                old,
                ctx.variables.get(TICKET_STATUS, ""),
                ctx.variables.get("itsm_email_received") == "ya",
                caller,
            ),
            caller_number=caller,
            call_id=ctx.call_id,
            cites_ticket=old,
            service_family=pln_mobile.SERVICE_FAMILY,
        )
    else:
        chosen = pln_mobile.topic(ctx.variables.get("mobile_topic", ""))
        request = TicketRequest(
            summary=chosen.summary,
            description=pln_mobile.ticket_description(chosen, caller),
            caller_number=caller,
            call_id=ctx.call_id,
            service_family=pln_mobile.SERVICE_FAMILY,
            service_group=chosen.service_group,
            service_type=chosen.service_type,
        )
    ticket = await _itsm(ctx).create_ticket(request)
    ctx.variables[NEW_TICKET] = ticket.number
    made = [n for n in ctx.variables.get(NEW_TICKETS, "").split(", ") if n]
    ctx.variables[NEW_TICKETS] = ", ".join([*made, ticket.number])
    return "dibuat"


async def note_reported_again(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Add the SOP's "Pelanggan melaporkan kembali ..." note to the ticket found
    (``itsm_ticket``), worded by ``itsm_email_received``; no new ticket. Result
    ``dicatat`` (``itsm_catatan`` set)."""
    number = ctx.variables.get(TICKET_KEYED, "")
    note = pln_mobile.reported_again_note(ctx.variables.get("itsm_email_received") == "ya")
    if not await _itsm(ctx).add_note(number, note, ctx.call_id):
        raise BackendError("ITSM add note: the ticket found earlier in the call is gone")
    ctx.variables[TICKET_NOTE] = note
    return "dicatat"
