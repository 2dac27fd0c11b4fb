"""What the store's code asks of a database connection, whichever the database.

The store speaks one SQL to both databases it runs on: the SQLite file (one host, the
default) and a PostgreSQL server (several workers and hosts). Statements are written
with ``?`` placeholders in the SQL both understand (``INSERT ... ON CONFLICT``,
``RETURNING``, ``COALESCE``); :class:`ivr.store.postgres.PgConnection` turns them into
psycopg's. A :class:`sqlite3.Connection` is a :class:`Connection` as it is.

A *location* names the store: a :class:`~pathlib.Path` is a SQLite file, a string
``postgresql://...`` a PostgreSQL server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import psycopg

#: Where the store is: a SQLite file, or a PostgreSQL URL.
Location = Path | str

#: Errors of either database.
DatabaseError = (sqlite3.Error, psycopg.Error)
#: A statement broke a constraint (a duplicate key, a missing reference).
IntegrityError = (sqlite3.IntegrityError, psycopg.IntegrityError)


class Cursor(Protocol):
    """The part of a DB-API cursor the store reads."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    @property
    def lastrowid(self) -> int | None: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of :class:`sqlite3.Connection` the store uses, in autocommit mode
    (``isolation_level=None``): a transaction is ``BEGIN`` / ``BEGIN IMMEDIATE`` ...
    ``COMMIT`` written out."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...


def is_postgres(location: Location) -> bool:
    """True when ``location`` names a PostgreSQL server."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def store_exists(location: Location) -> bool:
    """True when there is a store to read: a server, or a SQLite file that exists."""
    return is_postgres(location) or Path(location).exists()


def store_failing(exc: BaseException) -> bool:
    """True when ``exc`` says the store cannot be used now (locked, full, unwritable,
    corrupt, the server gone or restarting), as opposed to a statement that is wrong
    (a constraint, a bad value): the first is waited out, the second is a bug."""
    if isinstance(exc, psycopg.Error):
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def describe(location: Location) -> str:
    """``location`` for a log line: a PostgreSQL URL without its password."""
    if not is_postgres(location):
        return str(location)
    from urllib.parse import urlsplit

    parts = urlsplit(str(location))
    host = parts.hostname or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{host}{port}{parts.path}"
