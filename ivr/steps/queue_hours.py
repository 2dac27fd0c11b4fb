"""Whether a CSO queue takes the call now, and what a caller hears when it does not.

The one place the IVR decides about opening hours (``flows/data/jam_layanan.yaml``) and
holidays (``flows/data/hari_libur.yaml``) before it queues a call: every ``transfer``
node (the automatic ``cso`` node included) asks :func:`out_of_hours` first, and the
interpreter's own hand-over when the IVR fails goes through :func:`open_queue`
(:func:`ivr.steps.transfer.hand_to_open_queue`).

A closed queue is never handed a caller (no CSO would answer). Instead the caller
enters the flow ``di_luar_jam`` (``flows/di_luar_jam.yaml``) with the variables of
:data:`CLOSED_VARIABLES` set: why it is closed, the holiday's name, when it opens again
as the caller says it (their own zone, ``zona``), and what may be offered: a call-back
(the call-back task list of ``panggilan_balik``) and the queue ops named as the
alternative, when that one is open now. The moment is the call's clock
(:meth:`CallContext.now`), so a simulated call can run "at" any time.

Ops change hours and holidays live (``pln123 hours``, ``pln123 holiday``, the ops
page): :func:`hours_of` merges the tables with the changes the call's
:class:`~ivr.backends.ports.HoursPort` gives (``Backends.hours``, polled by every
worker). A port that fails never stops the call: it runs on the tables alone, and the
failure is logged once until the port answers again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from ivr.domain.hours import (
    MONTH_NAMES,
    REASON_CUTI_BERSAMA,
    REASON_HOLIDAY,
    OpeningText,
    QueueHours,
    QueueStatus,
    opening_text,
    zone_info,
)
from ivr.domain.hours_overrides import NO_OVERRIDES, HoursOverrides, LiveHours, live_hours
from ivr.engine.context import CallContext
from ivr.language.number_words import clock_words, to_words

log = logging.getLogger(__name__)

#: The flow a caller of a closed queue is taken to (``flows/di_luar_jam.yaml``).
OUT_OF_HOURS_FLOW = "di_luar_jam"

#: Call variables the out-of-hours flow reads.
CLOSED_QUEUE = "antrean_tutup"  # the closed queue (also the call-back's ``antrean``)
CLOSED_REASON = "tutup_alasan"  # jam, libur or cuti_bersama
HOLIDAY_NAME = "libur_nama"  # the holiday's name, "" outside holidays
OPENS = "buka_kembali"  # "besok, hari Senin, pukul delapan WIB"; "" when unknown
OFFER_CALLBACK = "tawar_telepon_balik"  # ya / tidak
ALTERNATIVE = "antrean_alternatif"  # an open queue to put the caller through to, or ""
CLOSED_VARIABLES = (CLOSED_QUEUE, CLOSED_REASON, HOLIDAY_NAME, OPENS, OFFER_CALLBACK, ALTERNATIVE)


@dataclass(frozen=True)
class Closed:
    """A closed queue: its status and what the caller is offered."""

    queue: str
    status: QueueStatus
    holiday: str
    callback: bool
    #: The alternative queue ops named, when it is open now; else "".
    alternative: str


class _Merged:
    """The last merge of tables and changes, kept while neither changed (the same
    objects come back until a reload or a change): a transfer then costs no merge."""

    def __init__(self) -> None:
        self.key: tuple[object, object, HoursOverrides] | None = None
        self.live: LiveHours | None = None
        #: The port failed last time: logged once until it answers again.
        self.failing = False

    def of(self, defaults: QueueHours, overrides: HoursOverrides) -> LiveHours:
        key = (defaults.schedule, defaults.calendar, overrides)
        if (
            self.live is None
            or self.key is None
            or any(a is not b for a, b in zip(key, self.key, strict=True))
        ):
            self.live, self.key = live_hours(defaults, overrides), key
        return self.live


_MERGED = _Merged()


async def hours_of(ctx: CallContext) -> LiveHours:
    """The two tables as loaded with the flows (reloaded with them on SIGHUP), with
    ops' live changes merged in; the tables alone when the call has no hours port or
    it fails."""
    defaults = QueueHours.from_tables(ctx.tables)
    port = ctx.backends.hours if ctx.backends is not None else None
    overrides = NO_OVERRIDES
    if port is not None:
        try:
            overrides = await port.overrides()
        except Exception as exc:  # never into a call: the files' defaults
            if not _MERGED.failing:
                log.error("hours: ops' changes cannot be read (%s); using the data files", exc)
                _MERGED.failing = True
        else:
            if _MERGED.failing:
                log.info("hours: ops' changes are read again")
                _MERGED.failing = False
    return _MERGED.of(defaults, overrides)


async def closed_now(ctx: CallContext, queue: str) -> Closed | None:
    """None when ``queue`` takes calls now (always open, unlisted, inside its hours,
    opened by ops); else why not and what to offer."""
    hours = await hours_of(ctx)
    now = ctx.now()
    status = hours.status(queue, now)
    if status.open:
        return None
    offer = hours.out_of_hours(queue)
    alternative = offer.alternative_queue
    if alternative is not None and not hours.is_open(alternative, now):
        alternative = None
    holiday = ""
    entry = hours.schedule.entry(queue)  # a closed queue is always listed
    if entry is not None and status.reason in (REASON_HOLIDAY, REASON_CUTI_BERSAMA):
        found = hours.calendar.on(now.astimezone(zone_info(entry.zone)).date())
        holiday = found.name if found is not None else ""
    return Closed(queue, status, holiday, offer.callback, alternative or "")


def spoken_opening(opening: OpeningText, now: dt.datetime) -> str:
    """When the queue opens, as the caller hears it in their zone: "hari ini pukul
    delapan WIB", "besok, hari Senin, pukul delapan WIB", or "hari Rabu, tanggal dua
    puluh lima Maret, pukul sepuluh WIT"."""
    time = clock_words(opening.when.hour, opening.when.minute)
    days = opening.days_after(now)
    if days <= 0:
        return f"hari ini {time} {opening.zone}"
    if days == 1:
        return f"besok, hari {opening.day_name}, {time} {opening.zone}"
    date = f"tanggal {to_words(opening.date.day)} {MONTH_NAMES[opening.date.month - 1]}"
    return f"hari {opening.day_name}, {date}, {time} {opening.zone}"


def closed_variables(closed: Closed, caller_zone: str, now: dt.datetime) -> dict[str, str]:
    """The call variables :data:`OUT_OF_HOURS_FLOW` speaks and branches on."""
    opens = ""
    if closed.status.next_opening is not None:
        opens = spoken_opening(opening_text(closed.status.next_opening, caller_zone), now)
    reason = closed.status.reason or ""
    return {
        CLOSED_QUEUE: closed.queue,
        CLOSED_REASON: reason,
        HOLIDAY_NAME: closed.holiday,
        OPENS: opens,
        OFFER_CALLBACK: "ya" if closed.callback else "tidak",
        ALTERNATIVE: closed.alternative,
        # What panggilan_balik.simpan reads: the queue whose CSOs call back.
        "antrean": closed.queue,
    }


async def out_of_hours(ctx: CallContext, queue: str) -> dict[str, str] | None:
    """None when ``queue`` takes calls now; else the variables that take the caller
    through :data:`OUT_OF_HOURS_FLOW` (the transfer step sets them and enters it).

    A call already sent there for this queue is not sent again (a misconfigured flow
    must not loop), and without that flow loaded the call is queued as before.
    """
    if ctx.variables.get(CLOSED_QUEUE) == queue or OUT_OF_HOURS_FLOW not in ctx.flows:
        return None
    closed = await closed_now(ctx, queue)
    if closed is None:
        return None
    log.info("call %s: queue %s is closed (%s)", ctx.call_id, queue, closed.status.reason)
    zone = ctx.variables.get("zona") or ctx.default_timezone
    return closed_variables(closed, zone, ctx.now())


async def open_queue(ctx: CallContext, queue: str) -> str:
    """``queue``, or its open alternative when it is closed now and ops named one: for
    the hand-over when the IVR itself fails, which can offer nothing."""
    closed = await closed_now(ctx, queue)
    if closed is not None and closed.alternative:
        log.info("call %s: queue %s is closed; to %s", ctx.call_id, queue, closed.alternative)
        return closed.alternative
    return queue
