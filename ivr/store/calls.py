"""Call records in SQLite: every answer is in the file before the call moves on.

Each write is one autocommit statement on the event loop's thread, so once
``record_answer`` returns, the answer survives a hangup, a transfer or the IVR process
dying. In WAL mode with ``synchronous=NORMAL`` a commit appends to the WAL file without
flushing it to the disk (about 15 microseconds of CPU here); handing writes to a thread,
or gathering them into group commits, cost more than that in hand-offs at 500 calls
(``pln123 bench agi``). The one slow part, the checkpoint that copies the WAL
into the database and flushes it, is switched off on the write connection and run by a
background thread with a connection of its own. WAL also lets readers (the scenario
runner, the screen-pop) read while calls are written.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ivr.domain.outages import EVENTS, call_events
from ivr.store.schema import migrate

T = TypeVar("T")

#: Seconds a node exit may wait in memory before it is written with the others: one
#: transaction for all calls' exits costs a few microseconds a row, one statement
#: each about twenty (see :meth:`CallStore.record_exit`).
EXIT_FLUSH_SECONDS = 0.1


class _Clock:
    """UTC timestamps as ``datetime.isoformat(timespec="milliseconds")`` writes them,
    with the part up to the second made once per second: every write of a call record
    is stamped, and formatting a datetime costs more than the rest of the stamp."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._prefix}.{int((now - second) * 1000):03d}+00:00"


_now = _Clock()


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the pragmas every user of the file needs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA mmap_size=268435456")
    return conn


@dataclass
class CallSummary:
    """What a call did, as the scenario runner and the tests report it."""

    call_id: str
    flow: str
    caller: str
    outcome: str | None
    path: list[str]
    asks: list[str]
    answers: list[dict[str, Any]]
    queue: str | None
    screenpop: dict[str, Any] | None
    report: dict[str, Any] | None
    variables: dict[str, str] = field(default_factory=dict)
    #: APKT "Issue Closed" records the call made: their ``Keterangan``, in order.
    issues: list[str] = field(default_factory=list)
    #: ITSM tickets the call made (``event`` "baru", with the ticket it ``cites``) or
    #: added a note to (``event`` "catatan"), in order: ``{"number", "event", "cites"}``.
    tickets: list[dict[str, str]] = field(default_factory=list)
    #: What the call did after an outage announcement, as ops count it
    #: (:func:`ivr.domain.outages.call_events`): ``heard``, ``attached``, ...
    outage_events: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` shape of a scenario result."""
        return {
            "call_id": self.call_id,
            "flow": self.flow,
            "outcome": self.outcome,
            "path": self.path,
            "asks": self.asks,
            "answers": self.answers,
            "report": self.report,
            "issues": self.issues,
            "tickets": self.tickets,
            "outage_events": self.outage_events,
            "queue": self.queue,
            "screenpop": self.screenpop,
        }


class Checkpointer:
    """Moves the WAL into the database file now and then, off the event loop."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self._conn = connect(path)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callstore-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """A last full checkpoint, then stop."""
        self._stop.set()
        self._thread.join()
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()


class CallStore:
    """Writes and reads call records."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        migrate(self._conn)
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpointer = Checkpointer(path)
        #: Node exits not yet written: (call id, exit).
        self._exits: list[tuple[str, tuple[Any, ...]]] = []
        self._flush_timer: asyncio.TimerHandle | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        """The write connection, for backends that share it (see EmbeddedDatabase)."""
        return self._conn

    def checkpoint(self) -> None:
        """Move the WAL into the database file now (the background thread does this
        every second; the benchmark counts the last round's share itself)."""
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Write what is pending, checkpoint and close the file."""
        self.flush_exits()
        self._checkpointer.close()
        self._conn.close()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run one write now, as one autocommit statement (see the module docstring)."""
        return work(self._conn)

    # -- writes -----------------------------------------------------------------------

    async def start_call(
        self, call_id: str, flow: str, caller: str, channel: str, uniqueid: str
    ) -> None:
        """Open the record of a new call."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO calls (id, flow, caller, channel, uniqueid, started_at, path, asks)"
                " VALUES (?, ?, ?, ?, ?, ?, '[]', '[]')",
                (call_id, flow, caller, channel, uniqueid, _now()),
            )

        await self._run(work)

    async def record_answer(
        self, call_id: str, seq: int, node: str, ask: str, value: str, via: str
    ) -> None:
        """Store the call's answer number ``seq``. (The path is stored when the call ends.)"""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (call_id, seq, node, ask, value, via, _now()),
            )

        await self._run(work)

    async def record_screenpop(self, call_id: str, queue: str, data: dict[str, Any]) -> str:
        """Store the data a CSO's screen shows for this call; returns the pop id."""
        pop_id = call_id

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO screenpops (id, call_id, queue, data, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (pop_id, call_id, queue, json.dumps(data, ensure_ascii=False), _now()),
            )

        await self._run(work)
        return pop_id

    def record_exit(self, call_id: str, exit: tuple[Any, ...]) -> None:
        """Keep one node exit of a call's journey: ``exit`` is ``(seq, flow, node, exit,
        target, cause, via, seconds, at)`` (an :class:`ivr.engine.journey.NodeExit`).
        It is in the file within :data:`EXIT_FLUSH_SECONDS` (all calls' exits in one
        transaction), and at once when the call ends. A crash loses at most that last
        fraction of a second."""
        self._exits.append((call_id, exit))
        if self._flush_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush_exits()
                return
            self._flush_timer = loop.call_later(EXIT_FLUSH_SECONDS, self.flush_exits)

    def flush_exits(self) -> None:
        """Write the node exits kept so far, in one transaction."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._exits:
            return
        rows, self._exits = self._exits, []
        conn = self._conn
        conn.execute("BEGIN")
        try:
            _insert_exits(conn, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def end_call(
        self,
        call_id: str,
        outcome: str,
        path: list[str],
        asks: list[str],
        queue: str | None,
        variables: dict[str, str],
        *,
        result: str | None = None,
        cso_reason: str = "",
        idpel: str = "",
        seconds: float | None = None,
    ) -> None:
        """Close the record with its outcome (and ops' outcome, ``result``), writing
        the node exits still pending in the same transaction."""
        rows, self._exits = self._exits, []
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

        def work(conn: sqlite3.Connection) -> None:
            update = (
                "UPDATE calls SET ended_at = ?, outcome = ?, path = ?, asks = ?, queue = ?,"
                " variables = ?, result = ?, cso_reason = ?, idpel = ?, seconds = ?"
                " WHERE id = ?"
            )
            values = (
                _now(),
                outcome,
                json.dumps(path),
                json.dumps(asks),
                queue,
                json.dumps(variables, ensure_ascii=False),
                result,
                cso_reason,
                idpel,
                seconds,
                call_id,
            )
            if not rows:
                conn.execute(update, values)
                return
            conn.execute("BEGIN")
            try:
                _insert_exits(conn, rows)
                conn.execute(update, values)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(work)

    # -- reads ------------------------------------------------------------------------

    def summary(self, call_id: str) -> CallSummary | None:
        """Everything recorded for a call."""
        return read_summary(self._conn, call_id)


def _insert_exits(conn: sqlite3.Connection, rows: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    conn.executemany(
        "INSERT INTO journeys (call_id, seq, flow, node, exit, target, cause, via, seconds, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(call_id, *exit) for call_id, exit in rows],
    )


def read_journey(conn: sqlite3.Connection, call_id: str) -> list[dict[str, Any]]:
    """A call's node exits in order, as stored."""
    return [
        {
            "flow": flow,
            "node": node,
            "exit": exit,
            "target": target,
            "cause": cause,
            "via": via,
            "seconds": seconds,
        }
        for flow, node, exit, target, cause, via, seconds in conn.execute(
            # Journeys are indexed by time: the call's own start bounds the scan.
            "SELECT flow, node, exit, target, cause, via, seconds FROM journeys"
            " WHERE at >= (SELECT unixepoch(started_at) - 60 FROM calls"
            " WHERE id = ?1) AND call_id = ?1 ORDER BY seq",
            (call_id,),
        )
    ]


def read_summary(conn: sqlite3.Connection, call_id: str) -> CallSummary | None:
    """A call's summary from any connection to the file."""
    row = conn.execute(
        "SELECT id, flow, caller, outcome, path, asks, queue, variables, result FROM calls"
        " WHERE id = ?",
        (call_id,),
    ).fetchone()
    if row is None:
        return None
    answers = [
        {"node": node, "ask": ask, "value": value, "via": via}
        for node, ask, value, via in conn.execute(
            "SELECT node, ask, value, via FROM answers WHERE call_id = ? ORDER BY seq", (call_id,)
        )
    ]
    pop = conn.execute("SELECT data FROM screenpops WHERE call_id = ?", (call_id,)).fetchone()
    report = conn.execute(
        "SELECT number, wo_type, problem_text FROM reports WHERE call_id = ?"
        " ORDER BY created_at DESC",
        (call_id,),
    ).fetchone()
    issues = [
        description
        for (description,) in conn.execute(
            "SELECT description FROM apkt_issues WHERE call_id = ? ORDER BY id", (call_id,)
        )
    ]
    tickets = [
        {"number": str(number), "event": event, "cites": cites}
        for number, event, cites in conn.execute(
            "SELECT a.ticket, a.event,"
            " CASE a.event WHEN 'baru' THEN t.cites_ticket ELSE '' END"
            " FROM itsm_activity a JOIN itsm_tickets t ON t.number = a.ticket"
            " WHERE a.call_id = ? ORDER BY a.id",
            (call_id,),
        )
    ]
    heard: dict[int, set[str]] = {}
    for outage_id, event in conn.execute(
        "SELECT outage_id, event FROM outage_events WHERE call_id = ?", (call_id,)
    ):
        heard.setdefault(outage_id, set()).add(event)
    outage_events = sorted(
        {event for recorded in heard.values() for event in call_events(recorded, row[8])},
        key=EVENTS.index,
    )
    return CallSummary(
        call_id=row[0],
        flow=row[1],
        caller=row[2],
        outcome=row[3],
        path=json.loads(row[4] or "[]"),
        asks=json.loads(row[5] or "[]"),
        answers=answers,
        queue=row[6],
        screenpop=json.loads(pop[0]) if pop else None,
        report=(
            {"number": report[0], "wo_type": report[1], "problem_text": report[2]}
            if report
            else None
        ),
        variables=json.loads(row[7] or "{}"),
        issues=issues,
        tickets=tickets,
        outage_events=outage_events,
    )
