"""What ops control without a code change, in SQLite: outage announcements, what callers
did after hearing one, and the audit log of every control change.

Every change is one ``BEGIN IMMEDIATE`` transaction that writes the change, its
``audit`` row and a bump of ``control_version`` together: the audit log never misses
a change nor shows one that did not happen, and a worker that polls the one-row
``control_version`` (a microsecond read) knows when to re-read what it caches
(:class:`OutageBoard`). Times are epoch seconds, given by the caller (``now``) so tests
need no clock.

Audit rows hold who changed what and the record before and after, never a caller's
phone number: outages name units and area codes only.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ivr.domain.outages import (
    EVENTS,
    Outage,
    call_events,
    check_new_outage,
    format_time,
    normalise_area_code,
    normalise_name,
)
from ivr.store.calls import connect
from ivr.store.dbapi import Connection, Location, describe
from ivr.store.schema import migrate

__all__ = [
    "TIME_FIELDS",
    "AuditEntry",
    "ControlBoard",
    "ControlError",
    "OutageBoard",
    "active_outages",
    "add_outage",
    "audit_changes",
    "control_version",
    "end_outage",
    "get_outage",
    "known_units",
    "list_outages",
    "outage_counts",
    "read_audit",
    "readable",
    "record_audit",
    "record_outage_event",
    "transaction",
]

log = logging.getLogger(__name__)

R = TypeVar("R")

_OUTAGE_COLUMNS = (
    "id, units, area_codes, message, report_number, starts_at, until, created_by,"
    " ended_at, ended_by"
)


class ControlError(ValueError):
    """A control change that cannot be made (an unknown outage, one already over)."""


@dataclass(frozen=True)
class AuditEntry:
    """One control change: who (``actor``), what (``action``, e.g. ``outage.end``) on
    what (``subject``, e.g. ``outage:3``), and the record before and after (None where
    there was none)."""

    id: int
    at: float
    actor: str
    action: str
    subject: str
    before: Any
    after: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
        }


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception; a control change
    of another kind (hours, holidays) writes itself and :func:`record_audit` inside one."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def record_audit(
    conn: Connection,
    actor: str,
    action: str,
    subject: str,
    before: Any,
    after: Any,
    now: float,
) -> int:
    """Log a control change and bump :func:`control_version`; returns the row id.

    Inside a transaction (:func:`transaction`) it joins it, so the change, its audit
    row and the version bump commit together; outside one it makes its own.
    """
    if not conn.in_transaction:
        with transaction(conn):
            return record_audit(conn, actor, action, subject, before, after, now)
    cursor = conn.execute(
        "INSERT INTO audit (at, actor, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (now, actor, action, subject, _json(before), _json(after)),
    )
    audit_id = int(cursor.fetchone()[0])
    conn.execute("UPDATE control_version SET version = version + 1")
    return audit_id


def read_audit(conn: Connection, since: float | None = None, limit: int = 200) -> list[AuditEntry]:
    """Audit rows at or after ``since`` (all when None), newest first, at most ``limit``."""
    rows = conn.execute(
        "SELECT id, at, actor, action, subject, before, after FROM audit"
        " WHERE at >= ? ORDER BY at DESC, id DESC LIMIT ?",
        (-math.inf if since is None else since, limit),
    ).fetchall()
    return [
        AuditEntry(
            id=row[0],
            at=row[1],
            actor=row[2],
            action=row[3],
            subject=row[4],
            before=None if row[5] is None else json.loads(row[5]),
            after=None if row[6] is None else json.loads(row[6]),
        )
        for row in rows
    ]


#: Fields of audited records that hold epoch seconds: shown as WIB times.
TIME_FIELDS = frozenset({"at", "starts_at", "until", "ended_at"})


def readable(key: str, value: Any) -> Any:
    """An audited record's field as people read it: epoch seconds as a WIB time."""
    if key in TIME_FIELDS and isinstance(value, int | float):
        return format_time(value)
    return value


def audit_changes(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """``(field, before, after)`` for each field that differs between two audited
    records (values :func:`readable`), in field order; [] when either is not a record,
    as for an addition, which has no before."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    return [
        (key, readable(key, before.get(key)), readable(key, after.get(key)))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


def control_version(conn: Connection) -> int:
    """The number of control changes made so far: a worker re-reads when it moves."""
    (version,) = conn.execute("SELECT version FROM control_version").fetchone()
    return int(version)


# -- outages ----------------------------------------------------------------------------


def _outage(row: Sequence[Any]) -> Outage:
    return Outage(
        id=row[0],
        units=tuple(json.loads(row[1])),
        area_codes=tuple(json.loads(row[2])),
        message=row[3],
        report_number=row[4],
        starts_at=row[5],
        until=row[6],
        created_by=row[7],
        ended_at=row[8],
        ended_by=row[9],
    )


def add_outage(
    conn: Connection,
    *,
    units: Sequence[str],
    message: str,
    until: float,
    area_codes: Sequence[str] = (),
    report_number: str = "",
    starts_at: float | None = None,
    actor: str,
    now: float,
) -> int:
    """Store a new outage (checked beforehand: :func:`ivr.domain.outages.check_new_outage`)
    from ``starts_at`` (default ``now``) to ``until``; returns its id. Audit
    ``outage.add``."""
    start = now if starts_at is None else starts_at
    if not units:
        raise ControlError("an outage needs at least one unit")
    if until <= start:
        raise ControlError(f"until {format_time(until)} is not after {format_time(start)}")
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO outages (units, area_codes, message, report_number, starts_at, until,"
            " created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                json.dumps(list(units), ensure_ascii=False),
                json.dumps(list(area_codes)),
                message,
                report_number,
                start,
                until,
                actor,
            ),
        )
        outage_id = int(cursor.fetchone()[0])
        added = _get(conn, outage_id)
        assert added is not None
        record_audit(conn, actor, "outage.add", f"outage:{outage_id}", None, added.as_json(), now)
    return outage_id


def _get(conn: Connection, outage_id: int) -> Outage | None:
    row = conn.execute(f"SELECT {_OUTAGE_COLUMNS} FROM outages WHERE id = ?", (outage_id,))
    found = row.fetchone()
    return None if found is None else _outage(found)


def get_outage(conn: Connection, outage_id: int) -> Outage | None:
    """One outage by id, or None."""
    return _get(conn, outage_id)


def end_outage(conn: Connection, outage_id: int, actor: str, now: float) -> Outage:
    """End an outage by hand at ``now``; returns it as ended. Audit ``outage.end``.

    :class:`ControlError` when there is no such outage, or it is already over (ended by
    hand, or its ``until`` has passed).
    """
    with transaction(conn):
        before = _get(conn, outage_id)
        if before is None:
            raise ControlError(f"there is no outage {outage_id}")
        if before.ended_at is not None:
            raise ControlError(
                f"outage {outage_id} was already ended at {format_time(before.ended_at)}"
                f" by {before.ended_by}"
            )
        if before.until <= now:
            raise ControlError(f"outage {outage_id} already expired at {format_time(before.until)}")
        conn.execute(
            "UPDATE outages SET ended_at = ?, ended_by = ? WHERE id = ?", (now, actor, outage_id)
        )
        after = _get(conn, outage_id)
        assert after is not None
        record_audit(
            conn, actor, "outage.end", f"outage:{outage_id}", before.as_json(), after.as_json(), now
        )
    return after


def known_units(conn: Connection) -> list[str]:
    """Every unit (UP3) and posko (ULP) name the customer records use, sorted: what a
    new outage may name (:func:`ivr.domain.outages.check_units`)."""
    rows = conn.execute(
        "SELECT unit FROM customers WHERE unit != '' UNION SELECT posko FROM customers"
        " WHERE posko != '' ORDER BY 1"
    )
    return [name for (name,) in rows]


def declare_outage(
    conn: Connection,
    *,
    units: Sequence[str],
    area_codes: Sequence[str],
    message: str,
    until: str,
    zone: str,
    report_number: str,
    actor: str,
    now: float,
) -> Outage:
    """Check a new outage as ops typed it (the command line and the ops page alike) and
    store it from ``now``; :class:`ivr.domain.outages.OutageInvalid` naming the option
    to fix, with nothing stored, when a check fails."""
    checked = check_new_outage(
        units=units,
        area_codes=area_codes,
        message=message,
        until=until,
        zone=zone,
        report_number=report_number,
        known_units=known_units(conn),
        now=now,
    )
    outage_id = add_outage(
        conn,
        units=checked.units,
        area_codes=checked.area_codes,
        message=checked.message,
        report_number=checked.report_number,
        until=checked.until,
        actor=actor,
        now=now,
    )
    added = get_outage(conn, outage_id)
    if added is None:
        raise ControlError(f"outage {outage_id} was stored but cannot be read back")
    return added


def list_outages(conn: Connection, *, include_ended: bool = True) -> list[Outage]:
    """Every outage, newest first; ``include_ended=False`` leaves out those ended by
    hand (expired ones stay: whether one has expired depends on the time)."""
    where = "" if include_ended else " WHERE ended_at IS NULL"
    rows = conn.execute(f"SELECT {_OUTAGE_COLUMNS} FROM outages{where} ORDER BY id DESC")
    return [_outage(row) for row in rows]


def active_outages(conn: Connection, now: float, *, upcoming: bool = False) -> list[Outage]:
    """Outages callers hear at ``now`` (not ended by hand, ``starts_at <= now < until``),
    newest first; ``upcoming=True`` adds those that start later."""
    start = math.inf if upcoming else now
    rows = conn.execute(
        f"SELECT {_OUTAGE_COLUMNS} FROM outages WHERE ended_at IS NULL AND until > ?"
        " AND starts_at <= ? ORDER BY id DESC",
        (now, start),
    )
    return [_outage(row) for row in rows]


def record_outage_event(
    conn: Connection, outage_id: int, call_id: str, event: str, at: float
) -> bool:
    """Note what a call did after hearing an outage (:data:`~ivr.domain.outages.EVENTS`);
    each event counts once per call. True when it was new."""
    if event not in EVENTS:
        raise ControlError(f"unknown outage event {event!r}; known: {', '.join(EVENTS)}")
    cursor = conn.execute(
        "INSERT INTO outage_events (outage_id, call_id, event, at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (outage_id, call_id, event, at),
    )
    return cursor.rowcount == 1


def outage_counts(
    conn: Connection,
    ids: Sequence[int] | None = None,
    *,
    calls_where: str = "",
    calls_params: Sequence[Any] = (),
) -> dict[int, dict[str, int]]:
    """Calls per event for each outage (every outage when ``ids`` is None), zeros
    included: ``{3: {"heard": 40, "attached": 31, "cso": 6, "hung_up": 3}}``.

    ``cso`` and ``hung_up`` follow from how each call that heard the outage ended
    (:func:`ivr.domain.outages.call_events`), so they are exact without a hook at the
    end of every call. ``calls_where`` (a condition on ``calls``, with
    ``calls_params``) keeps only the calls it selects: the statistics of a range count
    the calls that started in it.
    """
    if ids is None:
        ids = [row[0] for row in conn.execute("SELECT id FROM outages ORDER BY id")]
    counts = {outage_id: dict.fromkeys(EVENTS, 0) for outage_id in ids}
    if not counts:
        return counts
    marks = ", ".join("?" * len(counts))
    sql = (
        "SELECT e.outage_id, e.call_id, e.event, c.result FROM outage_events e"
        f" LEFT JOIN calls c ON c.id = e.call_id WHERE e.outage_id IN ({marks})"
    )
    params: list[Any] = list(counts)
    if calls_where:
        sql += f" AND e.call_id IN (SELECT id FROM calls WHERE {calls_where})"
        params += list(calls_params)
    calls: dict[tuple[int, str], tuple[set[str], str | None]] = {}
    for outage_id, call_id, event, result in conn.execute(sql, params):
        recorded, _ = calls.setdefault((outage_id, call_id), (set(), result))
        recorded.add(event)
    for (outage_id, _call), (recorded, result) in calls.items():
        for event in call_events(recorded, result):
            counts[outage_id][event] += 1
    return counts


# -- the call path's view ---------------------------------------------------------------


class ControlBoard(Generic[R]):
    """What a control table holds, in memory, for the call path: the shared polling of
    :class:`OutageBoard` and :class:`~ivr.store.announcements.AnnouncementBoard`.

    :meth:`refresh` reads ``control_version`` (at most every ``poll_seconds``) and
    re-reads the records (:meth:`_load`) only when it moved, or ``reread_seconds`` have
    passed (a scheduled record starting); a subclass indexes them (:meth:`_index`) and
    checks each record's times against ``now`` at lookup, so expiry needs no read.

    A store error never reaches a call: it is logged once (until a read succeeds
    again) and the last good records stay.
    """

    #: What the log lines name (``outages: cannot read ...``).
    what = "records"

    def __init__(
        self, path: Location, *, poll_seconds: float = 2.0, reread_seconds: float = 30.0
    ) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self.reread_seconds = reread_seconds
        self._conn: Connection | None = None
        self._version: int | None = None
        self._checked_at = -math.inf
        self._read_at = -math.inf
        self._failing = False

    def _load(self, conn: Connection, now: float) -> Sequence[R]:
        """The records in force at ``now`` or later."""
        raise NotImplementedError

    def _index(self, records: Sequence[R]) -> None:
        """Keep ``records`` for lookups."""
        raise NotImplementedError

    def refresh(self, now: float, *, force: bool = False) -> bool:
        """Bring the records up to date if the store changed; True when re-read."""
        if not force and 0.0 <= now - self._checked_at < self.poll_seconds:
            return False
        self._checked_at = now
        try:
            if self._conn is None:
                conn = connect(self.path)
                migrate(conn)
                self._conn = conn
            version = control_version(self._conn)
            stale = not 0.0 <= now - self._read_at < self.reread_seconds
            if not force and version == self._version and not stale:
                return False
            records = self._load(self._conn, now)
        except Exception as exc:  # never into a call: keep the last good records
            if not self._failing:
                log.error(
                    "%s: cannot read %s (%s); keeping the last list",
                    self.what,
                    describe(self.path),
                    exc,
                )
                self._failing = True
            return False
        if self._failing:
            log.info("%s: reading %s again", self.what, describe(self.path))
            self._failing = False
        self._index(records)
        self._version = version
        self._read_at = now
        return True

    def close(self) -> None:
        """Close the connection (a later :meth:`refresh` opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class OutageBoard(ControlBoard[Outage]):
    """The outages in force, in memory, for the call path (polling as
    :class:`ControlBoard`). Lookups are a dict by normalised unit name and by area
    code; :meth:`covering` checks each outage's times against ``now``."""

    what = "outages"

    def __init__(
        self, path: Location, *, poll_seconds: float = 2.0, reread_seconds: float = 30.0
    ) -> None:
        super().__init__(path, poll_seconds=poll_seconds, reread_seconds=reread_seconds)
        self._by_name: dict[str, tuple[Outage, ...]] = {}
        self._by_area_code: dict[str, tuple[Outage, ...]] = {}

    def _load(self, conn: Connection, now: float) -> Sequence[Outage]:
        return active_outages(conn, now, upcoming=True)

    def _index(self, outages: Sequence[Outage]) -> None:
        by_name: dict[str, list[Outage]] = {}
        by_code: dict[str, list[Outage]] = {}
        for outage in outages:  # newest first: the first that covers a caller wins
            for name in outage.units:
                by_name.setdefault(normalise_name(name), []).append(outage)
            for code in outage.area_codes:
                by_code.setdefault(code, []).append(outage)
        self._by_name = {key: tuple(value) for key, value in by_name.items()}
        self._by_area_code = {key: tuple(value) for key, value in by_code.items()}

    def covering(self, unit: str, posko: str, now: float) -> Outage | None:
        """The newest outage in force that covers a customer of ``unit`` or ``posko``."""
        found: Outage | None = None
        for name in (unit, posko):
            for outage in self._by_name.get(normalise_name(name), ()):
                if outage.is_active(now):
                    if found is None or outage.id > found.id:
                        found = outage
                    break
        return found

    def covering_area_code(self, code: str, now: float) -> Outage | None:
        """The newest outage in force that covers fixed lines of ``code`` (``021``)."""
        for outage in self._by_area_code.get(normalise_area_code(code), ()):
            if outage.is_active(now):
                return outage
        return None
