"""Ops' live changes to opening hours and holidays, over the data files' defaults.

``flows/data/jam_layanan.yaml`` and ``hari_libur.yaml`` stay the defaults ops keep in
git. On top of them ops change, live and audited (:mod:`ivr.store.hours`):

* a queue's schedule: a whole :class:`~ivr.domain.hours.QueueSchedule`, validated by
  the same model as the file's entries;
* a queue's temporary state: closed (or open) from now until a time, with a reason
  ("tutup sampai 13:00 karena rapat"), whatever its hours say;
* holidays: a date added (an extra cuti bersama, a regional emergency day) or one of
  the file's removed (a provisional date the SKB moved).

:func:`live_hours` merges them into :class:`LiveHours`, which answers as
:class:`~ivr.domain.hours.QueueHours` does, the temporary states included. Pure rules:
every moment is passed in. The checks of a change raise :class:`HoursInvalid` naming
the command-line option to fix, so the CLI and the ops page say the same thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from ivr.domain.holidays import HOLIDAY_KINDS, Holiday, HolidayCalendar, HolidayKind
from ivr.domain.hours import (
    DAY_KEYS,
    OPEN,
    REASON_CLOSED_BY_OPS,
    DayKey,
    OutOfHours,
    QueueHours,
    QueueSchedule,
    QueueStatus,
    ServiceHoursTable,
    parse_span,
)
from ivr.domain.outages import OutageInvalid, format_time, local_time, parse_until

ClosureState = Literal["closed", "open"]
CLOSED: ClosureState = "closed"
OPENED: ClosureState = "open"
HolidayAction = Literal["add", "remove"]
ADD: HolidayAction = "add"
REMOVE: HolidayAction = "remove"
#: Where a queue's schedule or a holiday comes from.
FROM_FILE = "file"
FROM_OPS = "ops"
MAX_REASON = 200
MAX_HOLIDAY_NAME = 120
#: What a day with no spans is called on the command line and the page.
CLOSED_DAY = "tutup"


class HoursInvalid(OutageInvalid):
    """A change to hours or holidays fails a check; ``option`` names the option to fix
    (``QUEUE``, ``--day``, ``--until``, ``DATE``, ...)."""


@dataclass(frozen=True)
class ScheduleChange:
    """A queue's schedule as ops set it, replacing the file's entry."""

    queue: str
    schedule: QueueSchedule
    set_by: str
    set_at: float


@dataclass(frozen=True)
class QueueClosure:
    """A queue closed (or opened) by ops from ``starts_at`` to ``until`` (epoch s)."""

    queue: str
    state: ClosureState
    reason: str
    starts_at: float
    until: float
    created_by: str

    def is_active(self, now: float) -> bool:
        return self.starts_at <= now < self.until

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "state": self.state,
            "reason": self.reason,
            "starts_at": self.starts_at,
            "until": self.until,
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class HolidayChange:
    """A date ops added as a holiday, or removed from the file's holidays."""

    date: dt.date
    action: HolidayAction
    name: str
    kind: HolidayKind | None
    set_by: str
    set_at: float


@dataclass(frozen=True)
class HoursOverrides:
    """Every change ops made, as the store holds them (expired closures included)."""

    schedules: Mapping[str, ScheduleChange] = field(default_factory=dict)
    closures: Mapping[str, QueueClosure] = field(default_factory=dict)
    holidays: Mapping[dt.date, HolidayChange] = field(default_factory=dict)


NO_OVERRIDES = HoursOverrides()


@dataclass(frozen=True)
class LiveHours:
    """The hours in force: the files' defaults with ops' changes merged in."""

    schedule: ServiceHoursTable
    calendar: HolidayCalendar
    overrides: HoursOverrides = NO_OVERRIDES

    @property
    def base(self) -> QueueHours:
        """Schedules and holidays merged, temporary states left out."""
        return QueueHours(self.schedule, self.calendar)

    def closure(self, queue: str, at: dt.datetime) -> QueueClosure | None:
        """The temporary state of ``queue`` in force at ``at``, or None."""
        found = self.overrides.closures.get(queue)
        return found if found is not None and found.is_active(at.timestamp()) else None

    def status(self, queue: str, at: dt.datetime) -> QueueStatus:
        """As :meth:`QueueHours.status`; a queue ops closed is closed (``ditutup``)
        until its end, then opens as its hours say; one ops opened is open."""
        closure = self.closure(queue, at)
        if closure is None:
            return self.base.status(queue, at)
        if closure.state == OPENED:
            return OPEN
        until = dt.datetime.fromtimestamp(closure.until, at.tzinfo)
        return QueueStatus(False, REASON_CLOSED_BY_OPS, self.base.next_opening(queue, until))

    def is_open(self, queue: str, at: dt.datetime) -> bool:
        return self.status(queue, at).open

    def next_opening(self, queue: str, at: dt.datetime) -> dt.datetime | None:
        if self.closure(queue, at) is None:
            return self.base.next_opening(queue, at)
        status = self.status(queue, at)
        return at if status.open else status.next_opening

    def out_of_hours(self, queue: str) -> OutOfHours:
        return self.base.out_of_hours(queue)

    def schedule_source(self, queue: str) -> str:
        return FROM_OPS if queue in self.overrides.schedules else FROM_FILE

    def holiday_source(self, day: dt.date) -> str:
        return FROM_OPS if day in self.overrides.holidays else FROM_FILE


def live_hours(defaults: QueueHours, overrides: HoursOverrides) -> LiveHours:
    """The files' ``defaults`` with ``overrides`` merged in: a queue's schedule
    replaced, holidays added and removed; closures kept for :meth:`LiveHours.status`."""
    queues = dict(defaults.schedule.queues)
    for queue, change in overrides.schedules.items():
        queues[queue] = change.schedule
    days = {holiday.date: holiday for holiday in defaults.calendar.holidays}
    for day, holiday_change in overrides.holidays.items():
        if holiday_change.action == REMOVE:
            days.pop(day, None)
        elif holiday_change.kind is not None:
            days[day] = Holiday(date=day, name=holiday_change.name, kind=holiday_change.kind)
    return LiveHours(
        # Each entry was validated on its own (file load, ops' change): no re-check.
        ServiceHoursTable.model_construct(queues=queues),
        HolidayCalendar(
            source=defaults.calendar.source,
            holidays=sorted(days.values(), key=lambda holiday: holiday.date),
        ),
        overrides,
    )


# --- records: what the audit log, the CLI and the page show -------------------------------


def spans_text(schedule: QueueSchedule, day: DayKey) -> str:
    """A day's hours as typed: ``08:00-12:00,13:00-17:00``; ``tutup`` for none."""
    if schedule.always_open:
        return "00:00-24:00"
    return ",".join(str(span) for span in sorted(schedule.hours.get(day, []))) or CLOSED_DAY


def queue_record(live: LiveHours, queue: str, now: float) -> dict[str, Any]:
    """A queue's hours in force at ``now`` as one flat record, a day a field, so the
    audit log shows exactly the fields a change touched."""
    entry = live.schedule.entry(queue)
    closure = live.overrides.closures.get(queue)
    if closure is not None and not closure.is_active(now):
        closure = None
    record: dict[str, Any] = {"queue": queue, "source": live.schedule_source(queue)}
    if entry is not None:
        days: dict[str, Any] = {day: spans_text(entry, day) for day in DAY_KEYS}
        record |= {
            "zone": entry.zone,
            "always_open": entry.always_open,
            **days,
            "closed_on_holidays": entry.closed_on_holidays,
            "holiday_kinds": list(entry.holiday_kinds) if entry.closed_on_holidays else [],
            "callback": entry.out_of_hours.callback,
            "alternative_queue": entry.out_of_hours.alternative_queue,
        }
    record |= {
        "state": None if closure is None else closure.state,
        "reason": None if closure is None else closure.reason,
        "until": None if closure is None else closure.until,
    }
    return record


def holiday_record(live: LiveHours, holiday: Holiday) -> dict[str, Any]:
    return {
        "date": holiday.date.isoformat(),
        "name": holiday.name,
        "kind": holiday.kind,
        "source": live.holiday_source(holiday.date),
    }


def describe_status(status: QueueStatus, closure: QueueClosure | None) -> str:
    """ "open", or "closed (jam), opens 2026-03-02 08:00 WIB" for a line of text."""
    if status.open:
        if closure is not None:
            return f"open (opened by ops until {format_time(closure.until)})"
        return "open"
    why = str(status.reason)
    if closure is not None:
        why = f"closed by ops until {format_time(closure.until)}"
        if closure.reason:
            why += f": {closure.reason}"
    opens = status.next_opening
    when = "not within two weeks" if opens is None else format_time(opens.timestamp())
    return f"closed ({why}), opens {when}"


def queue_view(live: LiveHours, queue: str, now: float) -> dict[str, Any]:
    """A queue at ``now`` as the CLI's ``--json`` and the ops page show it: open or
    not, why, the next opening, ops' closure, who set its hours, and its record."""
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    status = live.status(queue, at)
    closure = live.closure(queue, at)
    opening = None if status.open else status.next_opening
    change = live.overrides.schedules.get(queue)
    return {
        "queue": queue,
        "open": status.open,
        "reason": status.reason,
        "next_opening": None if opening is None else opening.isoformat(),
        "next_opening_wib": None if opening is None else format_time(opening.timestamp()),
        "status": describe_status(status, closure),
        "closure": (
            None
            if closure is None
            else {**closure.as_json(), "until_wib": format_time(closure.until)}
        ),
        "schedule_set_by": None if change is None else change.set_by,
        "schedule_set_at": None if change is None else change.set_at,
        "record": queue_record(live, queue, now),
    }


# --- checks of a change -----------------------------------------------------------------


def check_queue(live: LiveHours, queue: str) -> str:
    """``queue`` when the table lists it (the file or an earlier change)."""
    name = queue.strip()
    if live.schedule.entry(name) is None:
        known = ", ".join(sorted(live.schedule.queues)) or "none"
        raise HoursInvalid(
            "QUEUE", f"no queue {name!r} in jam_layanan.yaml (known: {known}); add it there"
        )
    return name


def parse_day(text: str) -> tuple[DayKey, str]:
    """``senin=08:00-17:00`` as ``("senin", "08:00-17:00")``."""
    day, sep, spans = text.partition("=")
    key = day.strip().lower()
    if not sep or key not in DAY_KEYS:
        raise HoursInvalid(
            "--day", f"{text!r}: give DAY=HH:MM-HH:MM, DAY one of {', '.join(DAY_KEYS)}"
        )
    return key, spans


def parse_spans(day: str, text: str) -> list[str]:
    """A day's hours as typed (``08:00-12:00, 13:00-17:00``; ``tutup`` or nothing for
    a closed day) as span texts, each checked."""
    value = text.strip()
    if value.lower() in ("", CLOSED_DAY):
        return []
    spans = [part.strip() for part in value.split(",")]
    for span in spans:
        try:
            parse_span(span)
        except ValueError as exc:
            raise HoursInvalid("--day", f"{day}: {exc}") from None
    return spans


_OPTION_OF_FIELD = {
    "zone": "--zone",
    "hours": "--day",
    "always_open": "--always-open",
    "closed_on_holidays": "--holidays",
    "holiday_kinds": "--holiday-kinds",
    "out_of_hours": "--alternative",
}


def new_schedule(
    live: LiveHours,
    queue: str,
    *,
    zone: str | None = None,
    days: Mapping[DayKey, str] | None = None,
    always_open: bool | None = None,
    closed_on_holidays: bool | None = None,
    holiday_kinds: list[str] | None = None,
    callback: bool | None = None,
    alternative_queue: str | None = None,
    clear_alternative: bool = False,
) -> QueueSchedule:
    """``queue``'s schedule in force with the given fields changed (None: unchanged),
    validated as the file's entries are; ``days`` maps a day key to its hours as typed."""
    entry = live.schedule.entry(check_queue(live, queue))
    assert entry is not None
    data = entry.model_dump(mode="json")
    if zone is not None:
        data["zone"] = zone.strip().upper()
    if always_open is not None:
        data["always_open"] = always_open
        if always_open:
            data["hours"], data["closed_on_holidays"] = {}, False
    for day, text in (days or {}).items():
        data["hours"][day] = parse_spans(day, text)
    if closed_on_holidays is not None:
        data["closed_on_holidays"] = closed_on_holidays
    if holiday_kinds is not None:
        data["holiday_kinds"] = holiday_kinds
    if callback is not None:
        data["out_of_hours"]["callback"] = callback
    if clear_alternative:
        data["out_of_hours"]["alternative_queue"] = None
    elif alternative_queue is not None:
        alternative = alternative_queue.strip()
        if alternative == queue:
            raise HoursInvalid("--alternative", f"{queue!r} cannot be its own alternative")
        check_queue(live, alternative)
        data["out_of_hours"]["alternative_queue"] = alternative
    try:
        return QueueSchedule.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = [str(part) for part in error["loc"]]
        option = _OPTION_OF_FIELD.get(where[0], "--day") if where else "--day"
        place = ".".join(where)
        message = str(error["msg"]).removeprefix("Value error, ")
        raise HoursInvalid(option, f"{place}: {message}" if place else message) from None


def check_closure(
    live: LiveHours,
    queue: str,
    *,
    state: ClosureState,
    until: str,
    zone: str,
    reason: str,
    now: float,
) -> tuple[str, float, str]:
    """A temporary state's queue, end (epoch s) and reason, checked. An always-open
    queue cannot be closed: it is the outage path, and callers with no power must
    always reach a CSO (change its hours first if that is really meant)."""
    name = check_queue(live, queue)
    if state == CLOSED:
        check_not_always_open(live, name)
    end = parse_until(until, zone, now)
    text = " ".join(reason.split())
    if len(text) > MAX_REASON:
        raise HoursInvalid(
            "--reason", f"the reason is {len(text)} characters; at most {MAX_REASON}"
        )
    return name, end, text


def check_not_always_open(live: LiveHours, queue: str) -> None:
    entry = live.schedule.entry(queue)
    if entry is not None and entry.always_open:
        raise HoursInvalid(
            "QUEUE",
            f"{queue} is always open (the outage path): callers with no power must reach a"
            " CSO; change its hours with `hours set` first if this is really meant",
        )


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise HoursInvalid("DATE", f"{text!r} is not a date: use YYYY-MM-DD") from None


def check_new_holiday(live: LiveHours, *, date: str, name: str, kind: str, now: float) -> Holiday:
    """A holiday to add: a date from today (WIB) on that is no holiday yet."""
    day = parse_date(date)
    if day < local_time(now).date():
        raise HoursInvalid("DATE", f"{day.isoformat()} is in the past")
    text = " ".join(name.split())
    if not text:
        raise HoursInvalid("--name", "give the holiday's name, as the SKB writes it")
    if len(text) > MAX_HOLIDAY_NAME:
        raise HoursInvalid(
            "--name", f"the name is {len(text)} characters; at most {MAX_HOLIDAY_NAME}"
        )
    if kind not in HOLIDAY_KINDS:
        raise HoursInvalid("--kind", f"kind {kind!r}: use {' or '.join(HOLIDAY_KINDS)}")
    existing = live.calendar.on(day)
    if existing is not None:
        raise HoursInvalid(
            "DATE",
            f"{day.isoformat()} is already a holiday ({existing.name}, {existing.kind});"
            " remove it first to change it",
        )
    return Holiday(date=day, name=text, kind=kind)


def check_removal(live: LiveHours, date: str) -> Holiday:
    """The holiday in force on ``date``, to remove."""
    day = parse_date(date)
    existing = live.calendar.on(day)
    if existing is None:
        raise HoursInvalid("DATE", f"{day.isoformat()} is no holiday")
    return existing


__all__ = [
    "ADD",
    "CLOSED",
    "FROM_FILE",
    "FROM_OPS",
    "NO_OVERRIDES",
    "OPENED",
    "REMOVE",
    "HolidayChange",
    "HoursInvalid",
    "HoursOverrides",
    "LiveHours",
    "QueueClosure",
    "ScheduleChange",
    "check_closure",
    "check_new_holiday",
    "check_not_always_open",
    "check_queue",
    "check_removal",
    "describe_status",
    "holiday_record",
    "live_hours",
    "new_schedule",
    "parse_day",
    "queue_record",
    "queue_view",
]
