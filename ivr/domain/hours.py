"""Opening hours of the CSO queues (jam layanan), as data and pure rules.

``flows/data/jam_layanan.yaml`` gives each queue its zone, its weekly hours, whether it
closes on holidays (:mod:`ivr.domain.holidays`) and what to offer out of hours. The
rules below answer "is this queue open at that moment, and if not, why and when does it
open?" with the moment passed in (an aware datetime): nothing here reads the clock, so
the same answer comes back in a test, a replayed call or the ops page.

A queue missing from the table is always open: the table can only ever close a queue
on purpose, and a forgotten or misspelled entry must never lock callers out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    field_validator,
    model_validator,
)

from ivr.domain import timezones
from ivr.domain.holidays import (
    CUTI_BERSAMA,
    HOLIDAY_KINDS,
    Holiday,
    HolidayCalendar,
    HolidayKind,
)
from ivr.domain.holidays import TABLE as HOLIDAYS_TABLE

TABLE = "jam_layanan"

DayKey = Literal["senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"]
#: The table's day keys, Monday first (the index is ``date.weekday()``).
DAY_KEYS: tuple[DayKey, ...] = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
#: Day names as a prompt says them, Monday first.
DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTH_NAMES = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip

ZoneLabel = Literal["WIB", "WITA", "WIT"]
#: The table's zone labels and the IANA zones of :mod:`ivr.domain.timezones`.
ZONE_IDS: dict[str, str] = {label: zone for zone, label in timezones.ZONE_NAMES.items()}

#: Why a queue is closed: outside its hours, a national holiday, a cuti bersama day,
#: or closed by ops until a time (:mod:`ivr.domain.hours_overrides`).
ClosedReason = Literal["jam", "libur", "cuti_bersama", "ditutup"]
REASON_HOURS: ClosedReason = "jam"
REASON_HOLIDAY: ClosedReason = "libur"
REASON_CUTI_BERSAMA: ClosedReason = "cuti_bersama"
REASON_CLOSED_BY_OPS: ClosedReason = "ditutup"

#: How far ahead :func:`next_opening` looks: two weeks covers the longest run of
#: holidays and cuti bersama (Idul Fitri) with a weekend on each side.
SEARCH_DAYS = 14

QUEUE_NAME = r"^[a-z][a-z0-9_]*$"
QueueName = Annotated[str, StringConstraints(pattern=QUEUE_NAME)]

_DAY_MINUTES = 24 * 60
_SPAN = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")


# --- spans ----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Span:
    """Open from ``start`` to ``end``, minutes after local midnight; ``end`` is
    exclusive and may be 1440 (``24:00``), the end of the day."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"

    def holds(self, minute: float) -> bool:
        return self.start <= minute < self.end


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_span(text: str) -> Span:
    """``"08:00-17:00"`` as a :class:`Span`; ValueError in words ops can act on.

    A span runs within one day: ``22:00-24:00`` and then ``00:00-06:00`` on the next day
    make a night shift, ``22:00-06:00`` is refused.
    """
    match = _SPAN.match(text)
    if match is None:
        raise ValueError(f"span {text!r} is not HH:MM-HH:MM (e.g. 08:00-17:00)")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    for hour, minute in ((h1, m1), (h2, m2)):
        if hour > 24 or minute > 59 or (hour == 24 and minute):
            raise ValueError(f"span {text!r}: {hour:02d}:{minute:02d} is not a time of day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == _DAY_MINUTES:
        raise ValueError(f"span {text!r}: a span cannot start at 24:00")
    if start >= end:
        raise ValueError(
            f"span {text!r}: the start must be before the end; a span may end at 24:00 "
            f"but not run past midnight (split it over two days)"
        )
    return Span(start, end)


def _span(value: object) -> Span:
    if isinstance(value, Span):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a span is text like '08:00-17:00', not {value!r}")
    return parse_span(value)


SpanField = Annotated[Span, PlainValidator(_span), PlainSerializer(str, return_type=str)]


# --- the table ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutOfHours(_Strict):
    """What a caller is offered while the queue is closed."""

    #: Offer to be called back by a CSO once the queue opens.
    callback: bool = True
    #: A queue to send the caller to instead (None: none).
    alternative_queue: QueueName | None = None


class QueueSchedule(_Strict):
    """One queue's entry in ``jam_layanan.yaml``."""

    #: The zone the hours are written in.
    zone: ZoneLabel
    #: Open 24 hours, 7 days, holidays included: no ``hours`` then.
    always_open: bool = False
    #: Every day, ``senin`` to ``minggu``; an empty list is a closed day.
    hours: dict[DayKey, list[SpanField]] = Field(default_factory=dict)
    #: Closed all day (in ``zone``) on the holidays of ``holiday_kinds``.
    closed_on_holidays: bool = False
    holiday_kinds: list[HolidayKind] = Field(default_factory=lambda: list(HOLIDAY_KINDS))
    out_of_hours: OutOfHours = Field(default_factory=OutOfHours)

    @model_validator(mode="after")
    def _consistent(self) -> QueueSchedule:
        if self.always_open:
            if self.hours:
                raise ValueError("an always_open queue has no hours (remove hours:)")
            if self.closed_on_holidays:
                raise ValueError("an always_open queue does not close on holidays")
            return self
        missing = [day for day in DAY_KEYS if day not in self.hours]
        if missing:
            raise ValueError(
                f"hours: give every day, senin to minggu ([] for a closed day); "
                f"missing: {', '.join(missing)}"
            )
        if not any(self.hours.values()):
            raise ValueError("hours: the queue is never open; give some hours or always_open")
        for day, spans in self.hours.items():
            ordered = sorted(spans)
            for before, after in pairwise(ordered):
                if after.start < before.end:
                    raise ValueError(f"hours.{day}: spans {before} and {after} overlap")
        if self.closed_on_holidays and not self.holiday_kinds:
            raise ValueError("holiday_kinds: name libur_nasional and/or cuti_bersama")
        return self

    def spans(self, day: dt.date) -> list[Span]:
        """The spans of ``day``'s weekday, earliest first (holidays not applied)."""
        return sorted(self.hours.get(DAY_KEYS[day.weekday()], []))

    def closing_holiday(self, calendar: HolidayCalendar, day: dt.date) -> Holiday | None:
        """The holiday that closes this queue all ``day``, or None."""
        if self.always_open or not self.closed_on_holidays:
            return None
        holiday = calendar.on(day)
        return holiday if holiday is not None and holiday.kind in self.holiday_kinds else None


class ServiceHoursTable(_Strict):
    """``flows/data/jam_layanan.yaml``: queue name -> its schedule."""

    queues: dict[QueueName, QueueSchedule]

    @field_validator("queues")
    @classmethod
    def _no_self_alternative(cls, queues: dict[str, QueueSchedule]) -> dict[str, QueueSchedule]:
        for name, entry in queues.items():
            if entry.out_of_hours.alternative_queue == name:
                raise ValueError(
                    f"{name}.out_of_hours.alternative_queue: {name!r} is the queue itself; "
                    f"name another queue or null"
                )
        return queues

    def entry(self, queue: str) -> QueueSchedule | None:
        return self.queues.get(queue)


# --- the rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueStatus:
    """A queue at one moment: open or not, why not, and when it opens (in its zone).

    ``next_opening`` is None when the queue is open, and when it stays closed for the
    next :data:`SEARCH_DAYS` days.
    """

    open: bool
    reason: ClosedReason | None = None
    next_opening: dt.datetime | None = None


OPEN = QueueStatus(open=True)


def zone_info(zone: str) -> ZoneInfo:
    """``WIB``/``WITA``/``WIT`` or their IANA names (``Asia/Jakarta``) as a ZoneInfo."""
    iana = ZONE_IDS.get(zone.upper(), zone)
    if iana not in timezones.ZONES:
        raise ValueError(f"unknown zone {zone!r}; use WIB, WITA or WIT")
    return ZoneInfo(iana)


def _local(at: dt.datetime, entry: QueueSchedule) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the moment must be an aware datetime (with its time zone)")
    return at.astimezone(zone_info(entry.zone))


def _minute(moment: dt.datetime) -> float:
    return moment.hour * 60 + moment.minute + (moment.second + moment.microsecond / 1e6) / 60


def _closed_reason(
    entry: QueueSchedule, calendar: HolidayCalendar, local: dt.datetime
) -> ClosedReason | None:
    if entry.always_open:
        return None
    holiday = entry.closing_holiday(calendar, local.date())
    if holiday is not None:
        # The holiday is the reason even outside the day's hours: "libur" is what the
        # caller is told, not "the office closes at five".
        return REASON_CUTI_BERSAMA if holiday.kind == CUTI_BERSAMA else REASON_HOLIDAY
    minute = _minute(local)
    if any(span.holds(minute) for span in entry.spans(local.date())):
        return None
    return REASON_HOURS


def _next_opening(
    entry: QueueSchedule, calendar: HolidayCalendar, local: dt.datetime
) -> dt.datetime | None:
    if _closed_reason(entry, calendar, local) is None:
        return local
    zone = local.tzinfo
    for offset in range(SEARCH_DAYS + 1):
        day = local.date() + dt.timedelta(days=offset)
        if entry.closing_holiday(calendar, day) is not None:
            continue
        for span in entry.spans(day):
            start = dt.datetime.combine(day, dt.time(), tzinfo=zone) + dt.timedelta(
                minutes=span.start
            )
            end = start + dt.timedelta(minutes=span.end - span.start)
            if end > local:
                return max(start, local)
    return None


def queue_status(
    schedule: ServiceHoursTable, calendar: HolidayCalendar, queue: str, at: dt.datetime
) -> QueueStatus:
    """``queue`` at the moment ``at`` (aware): open, or closed with why and until when.

    A queue missing from ``schedule`` is always open (a missing entry must never lock
    callers out). Holidays are taken on the queue's local date: a WIB queue closed on
    Idul Fitri is closed from 00:00 to 24:00 WIB.
    """
    entry = schedule.entry(queue)
    if entry is None:
        return OPEN
    local = _local(at, entry)
    reason = _closed_reason(entry, calendar, local)
    if reason is None:
        return OPEN
    return QueueStatus(False, reason, _next_opening(entry, calendar, local))


def is_open(
    schedule: ServiceHoursTable, calendar: HolidayCalendar, queue: str, at: dt.datetime
) -> bool:
    """Whether ``queue`` takes calls at ``at``; a queue missing from the table does."""
    entry = schedule.entry(queue)
    return entry is None or _closed_reason(entry, calendar, _local(at, entry)) is None


def next_opening(
    schedule: ServiceHoursTable, calendar: HolidayCalendar, queue: str, at: dt.datetime
) -> dt.datetime | None:
    """The first moment from ``at`` on when ``queue`` is open, in the queue's zone.

    ``at`` itself (in the queue's zone) when the queue is open then, or is missing from
    the table; None when it stays closed for the next :data:`SEARCH_DAYS` days.
    """
    entry = schedule.entry(queue)
    if entry is None:
        return at
    return _next_opening(entry, calendar, _local(at, entry))


@dataclass(frozen=True)
class OpeningText:
    """What a prompt says about an opening time, in the caller's zone; data, no speech:
    "Rabu, 25 Maret, pukul 10.00 WIT"."""

    #: The moment in the caller's zone.
    when: dt.datetime
    #: "Senin" to "Minggu".
    day_name: str
    date: dt.date
    #: "Januari" to "Desember".
    month_name: str
    #: "HH:MM".
    time: str
    #: "WIB", "WITA" or "WIT".
    zone: str

    def days_after(self, now: dt.datetime) -> int:
        """Days from ``now``'s date (in the same zone) to the opening: 0 today, 1 besok."""
        return (self.date - now.astimezone(self.when.tzinfo).date()).days


def opening_text(next_opening: dt.datetime, caller_zone: str) -> OpeningText:
    """The parts of ``next_opening`` an Indonesian prompt needs, in ``caller_zone``
    (``WIT`` or ``Asia/Jayapura``: :func:`ivr.domain.timezones.caller_zone` gives the
    latter), so a caller in Papua hears 10.00 WIT for a queue opening at 08.00 WIB."""
    zone = zone_info(caller_zone)
    local = next_opening.astimezone(zone)
    return OpeningText(
        when=local,
        day_name=DAY_NAMES[local.weekday()],
        date=local.date(),
        month_name=MONTH_NAMES[local.month - 1],
        time=f"{local.hour:02d}:{local.minute:02d}",
        zone=timezones.ZONE_NAMES[zone.key],
    )


@dataclass(frozen=True)
class QueueHours:
    """The two tables together, for the flows and the ops page to ask about a queue."""

    schedule: ServiceHoursTable
    calendar: HolidayCalendar

    @classmethod
    def from_tables(cls, tables: Mapping[str, object]) -> QueueHours:
        """From the loaded data tables (name -> model); a table that is absent counts
        as empty: no ``jam_layanan`` opens every queue, no ``hari_libur`` has no
        holidays."""
        schedule = tables.get(TABLE)
        calendar = tables.get(HOLIDAYS_TABLE)
        return cls(
            schedule if isinstance(schedule, ServiceHoursTable) else ServiceHoursTable(queues={}),
            calendar
            if isinstance(calendar, HolidayCalendar)
            else HolidayCalendar(source="(none)", holidays=[]),
        )

    def status(self, queue: str, at: dt.datetime) -> QueueStatus:
        return queue_status(self.schedule, self.calendar, queue, at)

    def is_open(self, queue: str, at: dt.datetime) -> bool:
        return is_open(self.schedule, self.calendar, queue, at)

    def next_opening(self, queue: str, at: dt.datetime) -> dt.datetime | None:
        return next_opening(self.schedule, self.calendar, queue, at)

    def out_of_hours(self, queue: str) -> OutOfHours:
        """What to offer when ``queue`` is closed (the defaults for an unlisted queue)."""
        entry = self.schedule.entry(queue)
        return entry.out_of_hours if entry is not None else OutOfHours()
