"""The global announcement in SQLite: set, end, read, and the call path's board.

At most one announcement is in force: :func:`set_announcement` ends the one before (if
any) and stores the new one in one transaction, with an audit row for each
(``announcement.end`` then ``announcement.set``) and a bump of ``control_version``, so
every worker's :class:`AnnouncementBoard` sees the change at its next poll. Times are
epoch seconds given by the caller (``now``). Audit rows hold ops' text and who changed
it, never anything of a caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ivr.domain.announcements import Announcement
from ivr.domain.outages import format_time
from ivr.store.control import ControlBoard, ControlError, record_audit, transaction
from ivr.store.dbapi import Connection, Location

__all__ = [
    "AnnouncementBoard",
    "active_announcement",
    "end_announcement",
    "get_announcement",
    "list_announcements",
    "set_announcement",
]

_COLUMNS = "id, message, starts_at, until, created_by, ended_at, ended_by"


def _announcement(row: Sequence[Any]) -> Announcement:
    return Announcement(
        id=row[0],
        message=row[1],
        starts_at=row[2],
        until=row[3],
        created_by=row[4],
        ended_at=row[5],
        ended_by=row[6],
    )


def _subject(announcement_id: int) -> str:
    return f"announcement:{announcement_id}"


def get_announcement(conn: Connection, announcement_id: int) -> Announcement | None:
    """One announcement by id, or None."""
    found = conn.execute(
        f"SELECT {_COLUMNS} FROM announcements WHERE id = ?", (announcement_id,)
    ).fetchone()
    return None if found is None else _announcement(found)


def _open(conn: Connection, now: float) -> list[Announcement]:
    """Announcements not ended by hand whose end is after ``now``, newest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM announcements WHERE ended_at IS NULL AND until > ?"
        " ORDER BY id DESC",
        (now,),
    )
    return [_announcement(row) for row in rows]


def active_announcement(conn: Connection, now: float) -> Announcement | None:
    """The announcement callers hear at ``now``, or None."""
    for announcement in _open(conn, now):
        if announcement.is_active(now):
            return announcement
    return None


def list_announcements(conn: Connection, limit: int = 20) -> list[Announcement]:
    """The latest announcements, newest first, at most ``limit``."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM announcements ORDER BY id DESC LIMIT ?", (limit,))
    return [_announcement(row) for row in rows]


def _end(conn: Connection, before: Announcement, actor: str, now: float) -> Announcement:
    """End ``before`` at ``now`` and audit it (inside the caller's transaction)."""
    conn.execute(
        "UPDATE announcements SET ended_at = ?, ended_by = ? WHERE id = ?", (now, actor, before.id)
    )
    after = get_announcement(conn, before.id)
    assert after is not None
    record_audit(
        conn, actor, "announcement.end", _subject(before.id), before.as_json(), after.as_json(), now
    )
    return after


def set_announcement(
    conn: Connection, *, message: str, until: float, actor: str, now: float
) -> Announcement:
    """Announce ``message`` (checked beforehand:
    :func:`ivr.domain.announcements.check_new_announcement`) from ``now`` to ``until``;
    the one in force before (or one scheduled) is ended first, in the same transaction.
    Audit ``announcement.end`` (of the one replaced) and ``announcement.set``."""
    if not message.strip():
        raise ControlError("an announcement needs a message")
    if until <= now:
        raise ControlError(f"until {format_time(until)} is not after {format_time(now)}")
    with transaction(conn):
        for previous in _open(conn, now):
            _end(conn, previous, actor, now)
        cursor = conn.execute(
            "INSERT INTO announcements (message, starts_at, until, created_by) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            (message, now, until, actor),
        )
        added = get_announcement(conn, int(cursor.fetchone()[0]))
        assert added is not None
        record_audit(
            conn, actor, "announcement.set", _subject(added.id), None, added.as_json(), now
        )
    return added


def end_announcement(conn: Connection, actor: str, now: float) -> Announcement:
    """End the announcement in force now; returns it as ended. Audit
    ``announcement.end``. :class:`ControlError` when none is in force."""
    with transaction(conn):
        current = active_announcement(conn, now)
        if current is None:
            raise ControlError("no announcement is in force")
        return _end(conn, current, actor, now)


class AnnouncementBoard(ControlBoard[Announcement]):
    """The announcement in force, in memory, for the call path (polling as
    :class:`~ivr.store.control.ControlBoard`: a call costs a version read at most every
    ``poll_seconds``, and the end time is checked against ``now`` at each lookup)."""

    what = "announcements"

    def __init__(
        self, path: Location, *, poll_seconds: float = 2.0, reread_seconds: float = 30.0
    ) -> None:
        super().__init__(path, poll_seconds=poll_seconds, reread_seconds=reread_seconds)
        self._open: tuple[Announcement, ...] = ()

    def _load(self, conn: Connection, now: float) -> Sequence[Announcement]:
        return _open(conn, now)

    def _index(self, records: Sequence[Announcement]) -> None:
        self._open = tuple(records)

    def current(self, now: float) -> Announcement | None:
        """The announcement callers hear at ``now``, or None."""
        for announcement in self._open:
            if announcement.is_active(now):
                return announcement
        return None
