"""What every embedded backend builds on: the store, its transactions, the clock.

The embedded CRM, customer data and APKT (:mod:`ivr.backends.embedded`), AP2T
(:mod:`ivr.backends.ap2t`) and ITSM (:mod:`ivr.backends.itsm`) all keep their data in the
IVR's own store (the SQLite file, or the PostgreSQL server of ``[store] url``) and share
this module: opening it with every migration applied, the ``BEGIN IMMEDIATE``
transaction a number is picked and inserted in (on PostgreSQL an advisory lock, see
:mod:`ivr.store.postgres`), the base class that turns database errors into
:class:`~ivr.backends.ports.BackendError`, the
default clock and how a moment is stored, and how phone numbers and other keys are
normalised before they are stored or looked up.

It imports no backend, so each backend module (and the wiring in
:class:`ivr.backends.embedded.EmbeddedDatabase`) can import it without a circle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from ivr.backends.ports import BackendError
from ivr.domain.callerid import national
from ivr.store.calls import connect
from ivr.store.dbapi import Connection, DatabaseError, Location, describe, is_postgres
from ivr.store.schema import migrate

T = TypeVar("T")

#: Western Indonesian Time; report and registration numbers carry the WIB date. (No
#: daylight saving.)
WIB = timezone(timedelta(hours=7), "WIB")


def digits_only(text: str) -> str:
    """The digits of ``text`` (``"5321 1234-5678"`` gives ``"532112345678"``)."""
    return re.sub(r"\D", "", text or "")


def normalize_phone(phone: str) -> str:
    """A phone number in national form (``0812...``, ``021...``), or "" when too short."""
    if len(digits_only(phone)) < 7:
        return ""
    return national(phone)


def utc_now() -> datetime:
    """The current time, aware, in UTC (the embedded backends' default clock)."""
    return datetime.now(UTC)


def iso_time(moment: datetime) -> str:
    """How the embedded backends store a moment: UTC ISO 8601 to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@contextmanager
def immediate(conn: Connection) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back
    on any exception (a cancelled call too). Taking the write lock first makes a
    read-then-insert (the next number) safe against other connections and processes."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def open_database(path: Location) -> Connection:
    """A connection to the IVR's SQLite file with every migration applied."""
    try:
        conn = connect(path if is_postgres(path) else Path(path))
        migrate(conn)
    except DatabaseError as exc:
        raise BackendError(f"embedded database {describe(path)}: {exc}") from exc
    return conn


class SqliteBackend:
    """Runs a query on the shared connection; sqlite errors become BackendError.

    ``now`` is the clock of the backends that stamp or number what they store (tests
    pass a fixed one)."""

    _what = "embedded backend"

    def __init__(self, conn: Connection, now: Callable[[], datetime] = utc_now) -> None:
        self.conn = conn
        self._now = now

    def _run(self, action: str, work: Callable[[Connection], T]) -> T:
        try:
            return work(self.conn)
        except DatabaseError as exc:
            raise BackendError(f"{self._what} {action}: {type(exc).__name__}: {exc}") from exc
