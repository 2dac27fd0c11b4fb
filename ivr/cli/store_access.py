"""Opening the store the settings name, for a command-line tool: a clear message, not a
traceback, when there is none or it cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ivr.config import Settings
from ivr.store.calls import connect, connect_read_only
from ivr.store.dbapi import Connection, DatabaseError, describe
from ivr.store.health import CLI_BUSY_MS


@contextmanager
def cli_store(settings: Settings, *, read_only: bool = False) -> Iterator[Connection]:
    """A connection to the store of ``settings``; ClickException when a SQLite store
    has no file yet or the store cannot be opened."""
    location = settings.store_location
    if not settings.store.postgres and not Path(location).is_file():
        raise click.ClickException(
            f"no call store at {location}: no call has been taken yet (see db_path)"
        )
    try:
        conn = (connect_read_only if read_only else connect)(location, CLI_BUSY_MS)
    except DatabaseError as exc:
        raise click.ClickException(f"{describe(location)}: {exc}") from exc
    try:
        yield conn
    finally:
        conn.close()
