"""Ops' live changes to opening hours and holidays in SQLite, and the call path's board.

Each change is one transaction (:func:`~ivr.store.control.transaction`) that writes
the change, its audit row and the ``control_version`` bump together, so every worker's
:class:`HoursBoard` sees it at its next poll. The audit row holds the queue's record in
force before and after (:func:`~ivr.domain.hours_overrides.queue_record`: the file's
defaults merged with every change), one field a day, so the log shows exactly what
moved; actions ``hours.set``, ``hours.close``, ``hours.open``, ``hours.reset``,
``holiday.add`` and ``holiday.remove``. The files' defaults are passed in
(``defaults``): the store never reads ``flows/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ivr.domain.holidays import Holiday
from ivr.domain.hours import QueueHours, QueueSchedule
from ivr.domain.hours_overrides import (
    ADD,
    REMOVE,
    ClosureState,
    HolidayChange,
    HoursOverrides,
    LiveHours,
    QueueClosure,
    ScheduleChange,
    holiday_record,
    live_hours,
    queue_record,
)
from ivr.store.control import ControlBoard, ControlError, record_audit, transaction
from ivr.store.dbapi import Connection, Location

__all__ = [
    "HoursBoard",
    "add_holiday",
    "read_overrides",
    "remove_holiday",
    "reset_queue",
    "set_closure",
    "set_schedule",
]


def read_overrides(conn: Connection) -> HoursOverrides:
    """Every change ops made (expired closures too: whether one is over depends on the
    moment asked about)."""
    schedules = {
        queue: ScheduleChange(queue, QueueSchedule.model_validate_json(text), by, at)
        for queue, text, by, at in conn.execute(
            "SELECT queue, schedule, set_by, set_at FROM queue_schedules"
        )
    }
    closures = {
        row[0]: QueueClosure(*row)
        for row in conn.execute(
            "SELECT queue, state, reason, starts_at, until, created_by FROM queue_closures"
        )
    }
    holidays = {}
    for date, action, name, kind, by, at in conn.execute(
        "SELECT date, action, name, kind, set_by, set_at FROM holiday_changes"
    ):
        day = dt.date.fromisoformat(date)
        holidays[day] = HolidayChange(day, action, name, kind, by, at)
    return HoursOverrides(schedules, closures, holidays)


def _live(conn: Connection, defaults: QueueHours) -> LiveHours:
    return live_hours(defaults, read_overrides(conn))


def _known(live: LiveHours, queue: str) -> None:
    if live.schedule.entry(queue) is None:
        raise ControlError(f"no queue {queue!r} in jam_layanan.yaml")


def _audit_queue(
    conn: Connection,
    defaults: QueueHours,
    before: LiveHours,
    action: str,
    queue: str,
    actor: str,
    now: float,
) -> dict[str, Any]:
    after = queue_record(_live(conn, defaults), queue, now)
    record_audit(
        conn, actor, action, f"queue:{queue}", queue_record(before, queue, now), after, now
    )
    return after


def set_schedule(
    conn: Connection,
    queue: str,
    schedule: QueueSchedule,
    *,
    defaults: QueueHours,
    actor: str,
    now: float,
) -> dict[str, Any]:
    """Give ``queue`` (listed in the file or changed before) ``schedule`` (checked
    beforehand: :func:`~ivr.domain.hours_overrides.new_schedule`); returns its record.
    Audit ``hours.set``."""
    with transaction(conn):
        before = _live(conn, defaults)
        _known(before, queue)
        conn.execute(
            "INSERT INTO queue_schedules (queue, schedule, set_by, set_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (queue) DO UPDATE SET schedule = excluded.schedule,"
            " set_by = excluded.set_by, set_at = excluded.set_at",
            (queue, schedule.model_dump_json(), actor, now),
        )
        return _audit_queue(conn, defaults, before, "hours.set", queue, actor, now)


def set_closure(
    conn: Connection,
    queue: str,
    *,
    state: ClosureState,
    until: float,
    reason: str,
    defaults: QueueHours,
    actor: str,
    now: float,
) -> dict[str, Any]:
    """Close (or open) ``queue`` from ``now`` to ``until`` whatever its hours say,
    replacing an earlier such state; returns its record. Audit ``hours.close`` or
    ``hours.open``."""
    if until <= now:
        raise ControlError("the end is not after now")
    with transaction(conn):
        before = _live(conn, defaults)
        _known(before, queue)
        conn.execute(
            "INSERT INTO queue_closures (queue, state, reason, starts_at, until, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (queue) DO UPDATE SET state = excluded.state,"
            " reason = excluded.reason, starts_at = excluded.starts_at, until = excluded.until,"
            " created_by = excluded.created_by",
            (queue, state, reason, now, until, actor),
        )
        action = "hours.close" if state == "closed" else "hours.open"
        return _audit_queue(conn, defaults, before, action, queue, actor, now)


def reset_queue(
    conn: Connection, queue: str, *, defaults: QueueHours, actor: str, now: float
) -> dict[str, Any]:
    """Back to the file: drop ``queue``'s schedule and temporary state; returns its
    record. Audit ``hours.reset``. :class:`ControlError` when there is nothing to drop."""
    with transaction(conn):
        before = _live(conn, defaults)
        closure = before.overrides.closures.get(queue)
        active = closure is not None and closure.is_active(now)
        if queue not in before.overrides.schedules and not active:
            raise ControlError(
                f"queue {queue} has no changes to reset: it runs on jam_layanan.yaml"
            )
        conn.execute("DELETE FROM queue_schedules WHERE queue = ?", (queue,))
        conn.execute("DELETE FROM queue_closures WHERE queue = ?", (queue,))
        return _audit_queue(conn, defaults, before, "hours.reset", queue, actor, now)


def add_holiday(
    conn: Connection, holiday: Holiday, *, defaults: QueueHours, actor: str, now: float
) -> dict[str, Any]:
    """Make ``holiday.date`` a holiday (checked beforehand:
    :func:`~ivr.domain.hours_overrides.check_new_holiday`). Audit ``holiday.add``."""
    day = holiday.date.isoformat()
    with transaction(conn):
        before = _live(conn, defaults)
        if before.calendar.on(holiday.date) is not None:
            raise ControlError(f"{day} is already a holiday")
        conn.execute(
            "INSERT INTO holiday_changes (date, action, name, kind, set_by, set_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (date) DO UPDATE SET action = excluded.action,"
            " name = excluded.name, kind = excluded.kind, set_by = excluded.set_by,"
            " set_at = excluded.set_at",
            (day, ADD, holiday.name, holiday.kind, actor, now),
        )
        after = holiday_record(_live(conn, defaults), holiday)
        record_audit(conn, actor, "holiday.add", f"holiday:{day}", None, after, now)
    return after


def remove_holiday(
    conn: Connection, day: dt.date, *, defaults: QueueHours, actor: str, now: float
) -> dict[str, Any]:
    """Make ``day`` a working day again: an added date is dropped, a file's date is
    marked removed. Returns the removed holiday's record. Audit ``holiday.remove``."""
    text = day.isoformat()
    with transaction(conn):
        before = _live(conn, defaults)
        holiday = before.calendar.on(day)
        if holiday is None:
            raise ControlError(f"{text} is no holiday")
        record = holiday_record(before, holiday)
        conn.execute("DELETE FROM holiday_changes WHERE date = ?", (text,))
        if defaults.calendar.on(day) is not None:
            conn.execute(
                "INSERT INTO holiday_changes (date, action, name, kind, set_by, set_at)"
                " VALUES (?, ?, ?, NULL, ?, ?)",
                (text, REMOVE, holiday.name, actor, now),
            )
        record_audit(conn, actor, "holiday.remove", f"holiday:{text}", record, None, now)
    return record


class HoursBoard(ControlBoard[HoursOverrides]):
    """Ops' changes to hours and holidays, in memory, for the call path (polling as
    :class:`~ivr.store.control.ControlBoard`: a version read at most every
    ``poll_seconds``; a store that cannot be read keeps the last good changes, none at
    first, so calls run on the files' defaults)."""

    what = "hours"

    def __init__(
        self, path: Location, *, poll_seconds: float = 2.0, reread_seconds: float = 30.0
    ) -> None:
        super().__init__(path, poll_seconds=poll_seconds, reread_seconds=reread_seconds)
        self.overrides = HoursOverrides()

    def _load(self, conn: Connection, now: float) -> Sequence[HoursOverrides]:
        return [read_overrides(conn)]

    def _index(self, records: Sequence[HoursOverrides]) -> None:
        self.overrides = records[0]
