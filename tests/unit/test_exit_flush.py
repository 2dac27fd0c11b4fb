"""A flush of node exits is one transaction on either store, not a commit per row.

Both stores' connections autocommit, so a write over many rows must open a
transaction itself: a commit per exit cost about 19 µs a row on the ``report`` path of
``pln123 bench agi`` and held the event loop for milliseconds at every flush.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from ivr.config import Settings
from ivr.engine.journey import Exit, Journey
from ivr.store import pg_calls
from ivr.store.calls import connect, read_journey
from ivr.store.dbapi import Location, is_postgres
from ivr.store.open import open_call_store

EXITS = 40


def _settings(location: Location) -> Settings:
    if is_postgres(location):
        return Settings(store={"url": location})
    return Settings(db_path=location)


@pytest.mark.parametrize("store_location", ["sqlite", "postgres"], indirect=True)
async def test_a_flush_is_one_transaction(
    store_location: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_call_store(_settings(store_location))
    # What runs each write: on SQLite the statements as SQLite sees them, on PostgreSQL
    # whether the connection was inside a transaction when a write ran.
    statements: list[str] = []
    in_transaction: list[bool] = []
    if is_postgres(store_location):
        run = pg_calls._run

        async def watched(conn: psycopg.AsyncConnection[Any], write: Any) -> None:
            status = conn.info.transaction_status
            in_transaction.append(status == psycopg.pq.TransactionStatus.INTRANS)
            await run(conn, write)

        monkeypatch.setattr(pg_calls, "_run", watched)
    try:
        await store.start_call("c1", "main", "081234567890", "SIP/x", "u1")  # stored on return
        in_transaction.clear()
        journey = Journey()
        for n in range(EXITS):
            store.record_exit(journey.left("c1", "main", f"n{n}", Exit.NEXT, 0.0, f"n{n + 1}"))
        if not is_postgres(store_location):
            store.connection.set_trace_callback(statements.append)  # type: ignore[attr-defined]
        store.flush_exits()
        await store.drain()  # the PostgreSQL store writes the flush in a task
    finally:
        store.close()
    if is_postgres(store_location):
        assert in_transaction == [True]
    else:
        assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
        assert statements.count("BEGIN") == 1
        assert len(statements) == EXITS + 2
    with connect(store_location) as conn:
        rows = read_journey(conn, "c1")  # type: ignore[arg-type]
    assert [row["node"] for row in rows] == [f"n{n}" for n in range(EXITS)]
