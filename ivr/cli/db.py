"""``pln123 db``: the store's schema version, and bringing it up to date."""

from __future__ import annotations

import click

from ivr.config import Settings, load_settings
from ivr.store.calls import connect
from ivr.store.dbapi import DatabaseError, describe
from ivr.store.health import CLI_BUSY_MS
from ivr.store.schema import MIGRATIONS, migrate, schema_version


def _settings() -> Settings:
    try:
        return load_settings()
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


@click.group()
def db() -> None:
    """The store's schema: which version it has, and upgrading it."""


@db.command("status")
def db_status() -> None:
    """Print the store's schema version and the one this IVR needs (exit 1 when older)."""
    settings = _settings()
    location = settings.store_location
    try:
        conn = connect(location, CLI_BUSY_MS)
        try:
            version = schema_version(conn)
        finally:
            conn.close()
    except DatabaseError as exc:
        raise click.ClickException(f"{describe(location)}: {exc}") from exc
    click.echo(f"{describe(location)}: schema version {version}, this IVR needs {len(MIGRATIONS)}")
    if version < len(MIGRATIONS):
        click.echo("run `pln123 db upgrade` (back the store up first)")
        raise SystemExit(1)


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations the store lacks, each in a transaction of its own."""
    settings = _settings()
    location = settings.store_location
    try:
        conn = connect(location, CLI_BUSY_MS)
        try:
            before = schema_version(conn)
            after = migrate(conn)
        finally:
            conn.close()
    except DatabaseError as exc:
        raise click.ClickException(f"{describe(location)}: {exc}") from exc
    if after == before:
        click.echo(f"{describe(location)}: already at schema version {after}")
    else:
        click.echo(f"{describe(location)}: schema version {before} -> {after}")
