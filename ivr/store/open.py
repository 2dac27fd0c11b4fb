"""Opening the store the settings name: the SQLite file, or a PostgreSQL server."""

from __future__ import annotations

from ivr.config import Settings
from ivr.store.calls import CallStore, connect
from ivr.store.dbapi import DatabaseError, describe
from ivr.store.health import CLI_BUSY_MS
from ivr.store.schema import SchemaOutOfDate, check_schema, migrate


def open_call_store(settings: Settings, *, upgrade: bool = False) -> CallStore:
    """The call store of ``settings``: ``[store] url`` when set, else ``db_path``.

    Raises :class:`SchemaOutOfDate` when the store has an older (or newer) schema than
    this IVR, unless ``upgrade`` (the sandbox's ``pln123 up``) says to bring it up to
    date first. A store that cannot be reached at all is left to the store itself,
    which keeps calls' writes in memory and sends callers to a CSO.
    """
    location = settings.store_location
    try:
        conn = connect(location, CLI_BUSY_MS)
    except DatabaseError:
        conn = None
    if conn is not None:
        try:
            if upgrade:
                migrate(conn)
            else:
                check_schema(conn)
        except DatabaseError as exc:
            raise SchemaOutOfDate(f"{describe(location)}: cannot read the schema: {exc}") from exc
        finally:
            conn.close()
    if settings.store.postgres:
        from ivr.store.pg_calls import PgCallStore

        return PgCallStore(settings.store.url.get_secret_value(), settings.store.pool_size)
    return CallStore(settings.db_path)
