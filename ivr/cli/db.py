"""``pln123 db``: the store's schema version, and bringing it up to date."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from ivr.config import load_settings
from ivr.store.calls import connect
from ivr.store.dbapi import Connection, DatabaseError, describe
from ivr.store.health import CLI_BUSY_MS
from ivr.store.schema import MIGRATIONS, migrate, schema_version

T = TypeVar("T")


def _on_store(work: Callable[[Connection], T]) -> tuple[str, T]:
    """``work`` on the store the settings name; its description (no password) and
    what ``work`` gave. A clear message, not a traceback, when it cannot be reached."""
    try:
        location = load_settings().store_location
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    try:
        conn = connect(location, CLI_BUSY_MS)
        try:
            return describe(location), work(conn)
        finally:
            conn.close()
    except DatabaseError as exc:
        raise click.ClickException(f"{describe(location)}: {exc}") from exc


@click.group()
def db() -> None:
    """The store's schema: which version it has, and upgrading it."""


@db.command("status")
def db_status() -> None:
    """Print the store's schema version and the one this IVR needs (exit 1 when older)."""
    where, version = _on_store(schema_version)
    click.echo(f"{where}: schema version {version}, this IVR needs {len(MIGRATIONS)}")
    if version < len(MIGRATIONS):
        click.echo("run `pln123 db upgrade` (back the store up first)")
        raise SystemExit(1)


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations the store lacks, each in a transaction of its own."""
    where, (before, after) = _on_store(lambda conn: (schema_version(conn), migrate(conn)))
    if after == before:
        click.echo(f"{where}: already at schema version {after}")
    else:
        click.echo(f"{where}: schema version {before} -> {after}")
