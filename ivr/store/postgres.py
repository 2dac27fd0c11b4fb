"""The store on a PostgreSQL server: connections that speak the store's SQL, and the
schema.

:class:`PgConnection` is a blocking psycopg connection behind the small interface the
store's code uses of :class:`sqlite3.Connection` (:class:`ivr.store.dbapi.Connection`):
the command-line tools, the web pages' reads and the embedded backends run the same
statements on both databases. The call path's writes, where a slow server must never
hold up the other calls, go through psycopg's asynchronous pool instead
(:mod:`ivr.store.pg_calls`).

Translation is small because the statements are written in the SQL both databases
share: ``?`` and ``:name`` placeholders become psycopg's ``%s`` and ``%(name)s``, a
literal ``%`` is doubled, and ``BEGIN IMMEDIATE`` (SQLite's "take the write lock
first", which a read-then-insert such as the next report number relies on) becomes
``BEGIN`` plus one transaction-wide advisory lock, which every such transaction takes:
the same one-writer-at-a-time guarantee, across workers and hosts.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import pq

from ivr.store.dbapi import describe

log = logging.getLogger(__name__)

#: Key of the advisory lock every ``BEGIN IMMEDIATE`` transaction takes ("pln123").
WRITE_LOCK_KEY = 0x706C6E313233

#: Seconds to wait for the server to accept a connection.
CONNECT_TIMEOUT = 3

_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|:[A-Za-z_]\w*|%|\browid\b")


@functools.lru_cache(maxsize=2048)
def pg_sql(sql: str) -> str:
    """``sql`` with SQLite's placeholders as psycopg's, for a statement that has
    parameters: ``?`` and ``:name`` become ``%s`` and ``%(name)s``, a ``%`` (in a
    literal too: psycopg does not read quotes) is doubled, and SQLite's ``rowid`` is
    PostgreSQL's ``ctid`` (a row's place, which stays put within the transaction that
    reads and then updates it)."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token == "rowid":
            return "ctid"
        if token.startswith(":"):
            return f"%({token[1:]})s"
        return token.replace("%", "%%")  # a quoted literal

    return _TOKEN.sub(swap, sql)


def _options(busy_ms: int) -> str:
    """Server settings of a connection: a lock is waited for ``busy_ms`` (as SQLite's
    busy timeout), a statement at most ten times that (a second at least)."""
    statement_ms = min(max(10 * busy_ms, 1000), 600_000)
    return f"-c lock_timeout={int(busy_ms)} -c statement_timeout={statement_ms}"


def open_pg(url: str, busy_ms: int, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A psycopg connection with the store's settings; raises psycopg.OperationalError."""
    return psycopg.connect(
        url,
        autocommit=autocommit,
        connect_timeout=CONNECT_TIMEOUT,
        options=_options(busy_ms),
        application_name="pln123",
        # A server that vanished without closing the connection is noticed in seconds.
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=3,
    )


class PgCursor:
    """A psycopg cursor that answers ``fetchone()`` with None after a statement that
    returns no rows, as sqlite3's does."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> None:
        """PostgreSQL has no row ids: the store's statements use ``RETURNING``."""
        return None

    def fetchone(self) -> Any:
        if self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        if self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        if self._cursor.description is None:
            return iter(())
        return iter(self._cursor)


class PgConnection:
    """A blocking connection to the PostgreSQL store, used like a
    :class:`sqlite3.Connection` in autocommit mode.

    A connection the server dropped (a restart) is opened again at the next statement
    outside a transaction; the statement that found it dropped raised
    ``psycopg.OperationalError``, which the store treats as "failing, try later".
    """

    def __init__(self, url: str, busy_ms: int) -> None:
        self.url = url
        self._busy_ms = busy_ms
        self._conn = open_pg(url, busy_ms)
        self._closed = False

    def __repr__(self) -> str:
        return f"PgConnection({describe(self.url)})"

    def _live(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise psycopg.InterfaceError("the connection is closed")
        if self._conn.closed or self._conn.broken:
            log.info("store %s: connecting again", describe(self.url))
            self._conn = open_pg(self.url, self._busy_ms)
        return self._conn

    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:
        head = sql.lstrip()[:16].upper()
        if head.startswith("BEGIN IMMEDIATE"):
            conn = self._live()
            conn.execute("BEGIN")
            return PgCursor(conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,)))
        if not parameters:  # psycopg reads no placeholders then: only rowid to swap
            bare = pg_sql(sql).replace("%%", "%")
            return self._again_if_dropped(lambda conn: conn.execute(bare))
        return self._again_if_dropped(lambda conn: conn.execute(pg_sql(sql), parameters))

    def _again_if_dropped(self, run: Callable[[psycopg.Connection[Any]], Any]) -> PgCursor:
        """``run`` on the connection; once more on a new one when the server had
        dropped the old one (it restarted) while no transaction was open, since a
        dropped connection is only found out by using it. Inside a transaction the
        error stands: what the transaction did before is gone with it."""
        conn = self._live()
        outside = conn.info.transaction_status == pq.TransactionStatus.IDLE
        try:
            return PgCursor(run(conn))
        except psycopg.OperationalError:
            if not (outside and conn.broken):
                raise
            return PgCursor(run(self._live()))

    def executemany(self, sql: str, parameters: Any, /) -> PgCursor:
        def run(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
            cursor = conn.cursor()
            cursor.executemany(pg_sql(sql), parameters)
            return cursor

        return self._again_if_dropped(run)

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self._closed = True
        self._conn.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
