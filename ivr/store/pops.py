"""Screen-pops as agents saw them, and call-back tasks, in the call record file.

The pop itself (what the caller gave) is written by the transfer step
(:meth:`ivr.store.calls.CallStore.record_screenpop`); this module records which agent's
phone rang for it and what became of that ring, so a page opened or reloaded later,
or after an IVR restart, shows the same pops. Writes are single autocommit statements
on the event loop, as for call records.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from ivr.store.calls import connect, memory_store
from ivr.store.dbapi import Connection, DatabaseError, Location, describe
from ivr.store.schema import migrate

log = logging.getLogger(__name__)

#: What became of a pop at one agent.
RINGING = "ringing"
CONNECTED = "connected"
ABANDONED = "abandoned"
TAKEN = "taken"
MISSED = "missed"
DONE = "done"
#: States after which nothing more happens to a delivery.
FINAL_STATES = frozenset({ABANDONED, TAKEN, MISSED, DONE})


@dataclass(frozen=True)
class Delivery:
    """One pop at one agent."""

    pop_id: str
    agent: str
    queue: str
    state: str
    caller: str
    #: Epoch seconds the agent's phone started ringing (Asterisk's event time).
    rang_at: float


@dataclass(frozen=True)
class Callback:
    """A caller who gave up waiting and asked to be called back."""

    id: int
    call_id: str
    pop_id: str
    number: str
    queue: str
    requested_at: float
    state: str


def insert_callback(
    conn: Connection, call_id: str, pop_id: str, number: str, queue: str
) -> Callback:
    """Store a call-back request on any connection to the file."""
    now = time.time()
    cursor = conn.execute(
        "INSERT INTO callbacks (call_id, pop_id, number, queue, requested_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (call_id, pop_id, number, queue, now),
    )
    return Callback(int(cursor.fetchone()[0]), call_id, pop_id, number, queue, now, "open")


class PopStore:
    """Deliveries of pops to agents, and call-back tasks."""

    def __init__(self, location: Location) -> None:
        self.location = location
        try:
            self._conn = connect(location)
            migrate(self._conn)
        except DatabaseError as exc:
            # The call store says why on /healthz; the pages still open and pop from
            # the IVR's memory.
            log.error(
                "screen-pop: cannot open %s (%s); keeping deliveries in memory",
                describe(location),
                exc,
            )
            self._conn = memory_store()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @property
    def connection(self) -> Connection:
        """The connection, for reads of the call records beside the pops."""
        return self._conn

    # -- pops -------------------------------------------------------------------------

    def pop_data(self, pop_id: str) -> dict[str, Any] | None:
        """What the IVR collected for this pop, or None (a call that bypassed the IVR)."""
        row = self._conn.execute("SELECT data FROM screenpops WHERE id = ?", (pop_id,)).fetchone()
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row[0])
        report = self._conn.execute(
            "SELECT number FROM reports WHERE call_id = ? ORDER BY created_at DESC LIMIT 1",
            (data.get("call_id", pop_id),),
        ).fetchone()
        if report is not None and not data.get("report_number"):
            data["report_number"] = report[0]
        return data

    def ring(self, pop_id: str, agent: str, queue: str, caller: str, at: float) -> Delivery:
        """The agent's phone rings for this pop (again, after a miss: a fresh ring)."""
        self._conn.execute(
            "INSERT INTO pop_deliveries (pop_id, agent, queue, caller, state, rang_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (pop_id, agent) DO UPDATE SET state = excluded.state,"
            " rang_at = excluded.rang_at, updated_at = excluded.updated_at",
            (pop_id, agent, queue, caller, RINGING, at, time.time()),
        )
        return Delivery(pop_id, agent, queue, RINGING, caller, at)

    def set_state(
        self, pop_id: str, state: str, *, agent: str | None = None, only_from: str | None = None
    ) -> list[Delivery]:
        """Move deliveries of a pop to ``state``: one agent's, or all of them; only those
        in ``only_from`` when given. Returns the deliveries that changed."""
        sql = "UPDATE pop_deliveries SET state = ?, updated_at = ? WHERE pop_id = ? AND state != ?"
        params: list[Any] = [state, time.time(), pop_id, state]
        if agent is not None:
            sql += " AND agent = ?"
            params.append(agent)
        if only_from is not None:
            sql += " AND state = ?"
            params.append(only_from)
        sql += " RETURNING pop_id, agent, queue, state, caller, rang_at"
        return [Delivery(*row) for row in self._conn.execute(sql, params).fetchall()]

    def recent(self, agent: str, since: float, limit: int) -> list[Delivery]:
        """The agent's pops since ``since`` (epoch seconds), newest first."""
        rows = self._conn.execute(
            "SELECT pop_id, agent, queue, state, caller, rang_at FROM pop_deliveries"
            " WHERE agent = ? AND rang_at >= ? ORDER BY rang_at DESC LIMIT ?",
            (agent, since, limit),
        ).fetchall()
        return [Delivery(*row) for row in rows]

    # -- call-back tasks ---------------------------------------------------------------

    def add_callback(self, call_id: str, pop_id: str, number: str, queue: str) -> Callback:
        """Store a call-back request."""
        return insert_callback(self._conn, call_id, pop_id, number, queue)

    def open_callbacks(self) -> list[Callback]:
        """Open call-back tasks, oldest first."""
        rows = self._conn.execute(
            "SELECT id, call_id, pop_id, number, queue, requested_at, state FROM callbacks"
            " WHERE state = 'open' ORDER BY requested_at"
        ).fetchall()
        return [Callback(*row) for row in rows]

    def close_callback(self, callback_id: int, agent: str) -> bool:
        """Mark a task done; False when it was not open."""
        cursor = self._conn.execute(
            "UPDATE callbacks SET state = 'done', done_by = ?, done_at = ?"
            " WHERE id = ? AND state = 'open'",
            (agent, time.time(), callback_id),
        )
        return cursor.rowcount == 1
