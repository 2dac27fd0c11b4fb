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

A store that fails (locked by another process, full, unwritable, corrupt) never holds
the loop longer than :data:`~ivr.store.health.LOOP_BUSY_MS` per statement and never
loses what a call gave: see :class:`CallStore`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivr.domain.outages import EVENTS, call_events
from ivr.store.dbapi import (
    Connection,
    DatabaseError,
    Location,
    is_postgres,
    store_failing,
)
from ivr.store.health import CLI_BUSY_MS, LOOP_BUSY_MS, StoreHealth, StoreUnavailable
from ivr.store.schema import migrate

log = logging.getLogger(__name__)

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


def connect(location: Location, busy_ms: int = LOOP_BUSY_MS) -> Connection:
    """A connection to the store at ``location``: a SQLite file, or a PostgreSQL server
    (:class:`ivr.store.postgres.PgConnection`).

    ``busy_ms`` bounds how long a statement waits for another writer's lock: short for
    connections used on the event loop (:data:`LOOP_BUSY_MS`), longer for tools. No
    memory-mapped reads of the database file: with them, a file error (a truncated
    file, a failing disk) arrives as SIGBUS and kills the process instead of raising.
    """
    if is_postgres(location):
        from ivr.store.postgres import PgConnection

        return PgConnection(str(location), busy_ms)
    return connect_sqlite(Path(location), busy_ms)


def connect_sqlite(path: Path, busy_ms: int = LOOP_BUSY_MS) -> sqlite3.Connection:
    """A connection to the SQLite file at ``path`` (see :func:`connect`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, timeout=busy_ms / 1000, check_same_thread=False, isolation_level=None
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    conn.execute("PRAGMA mmap_size=0")
    return conn


def connect_read_only(location: Location, busy_ms: int = LOOP_BUSY_MS) -> Connection:
    """A connection that can only read the store (the pages' and tools' reads)."""
    if is_postgres(location):
        from ivr.store.postgres import PgConnection

        conn: Connection = PgConnection(str(location), busy_ms)
        conn.execute("SET default_transaction_read_only = on")
        return conn
    uri = Path(location).resolve().as_uri() + "?mode=ro"
    lite = sqlite3.connect(uri, uri=True, timeout=busy_ms / 1000, check_same_thread=False)
    lite.execute("PRAGMA query_only=ON")
    return lite


def memory_store() -> sqlite3.Connection:
    """An empty store in memory, with every migration: what a process whose store file
    cannot be opened runs on (its calls go to a CSO; it stays up and says why)."""
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
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
        self._conn = connect_sqlite(path, CLI_BUSY_MS)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callstore-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self._interval):
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:  # the call store says why; try again later
                if not failing:
                    log.warning("call store checkpoint fails: %s", exc)
                failing = True
            else:
                failing = False

    def close(self) -> None:
        """A last full checkpoint, then stop."""
        self._stop.set()
        self._thread.join()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("call store: no last checkpoint (%s); the WAL keeps the data", exc)
        self._conn.close()


#: Page cache of the write connection, KiB.
WRITE_CACHE_KIB = 32 * 1024

#: One write: ``(sql, parameters, many)``; ``many`` runs ``executemany`` over a list
#: of parameter rows.
Write = tuple[str, Any, bool]
#: Writes kept in memory while the store fails, at most: beyond it the oldest are
#: dropped (and counted in the log); about 200 bytes each.
MAX_KEPT_WRITES = 500_000
#: Kept writes stored per transaction when the store is back: each batch holds the
#: event loop a few milliseconds at most.
REPLAY_BATCH = 200

_INSERT_EXITS = (
    "INSERT INTO journeys (call_id, seq, flow, node, exit, target, cause, via, seconds, at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def execute_write(conn: Connection, write: Write) -> None:
    sql, params, many = write
    if many:
        conn.executemany(sql, params)
    else:
        conn.execute(sql, params)


def needs_transaction(writes: Sequence[Write]) -> bool:
    """Whether ``writes`` must run in a transaction of their own: several writes, or one
    over many rows. The stores' connections autocommit, so such writes would otherwise
    commit statement by statement (a flush of node exits, row by row)."""
    return len(writes) > 1 or writes[0][2]


def rollback_quietly(conn: Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except DatabaseError:
        pass


class CallStore:
    """Writes and reads call records.

    A write that fails because the store cannot be used (locked past
    :data:`~ivr.store.health.LOOP_BUSY_MS`, full, unwritable, corrupt) is kept in
    memory with every later one, in order, and :attr:`ok` turns False: the engine then
    hands calls to a CSO at once, their pops read from :attr:`kept_pops`. Every
    ``retry_seconds`` the kept writes are tried again, in short batches, until the
    store takes them; then :attr:`ok` is True again. A store that cannot even be opened
    keeps its writes until the process stops (see :meth:`close`).
    """

    #: The process whose calls these are (``calls.worker``; see :mod:`ivr.workers`).
    worker = ""

    def __init__(self, path: Path, retry_seconds: float = 1.0, worker: str = "") -> None:
        self.path = path
        self.worker = worker
        #: Where the store is, for whoever opens connections of their own to it.
        self.location: Location = path
        self._init_state(f"call store {path}", retry_seconds)
        self._checkpointer: Checkpointer | None = None
        self._conn: Connection
        try:
            conn = connect_sqlite(path)
            migrate(conn)
            conn.execute("PRAGMA wal_autocheckpoint=0")
            # The indexes' pages a busy hour touches stay in memory (SQLite's default
            # is 2 MB), so a large store is not read from disk again and again.
            conn.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
            self._conn = conn
            self._checkpointer = Checkpointer(path)
        except sqlite3.Error as exc:
            self.broken = True
            self.health.failed(f"cannot open it: {exc}; fix or move the file and restart")
            self._conn = memory_store()

    def _init_state(self, name: str, retry_seconds: float) -> None:
        """What every call store keeps, whatever it writes to."""
        self.health = StoreHealth(name)
        self._retry_seconds = retry_seconds
        self._retry_timer: asyncio.TimerHandle | None = None
        #: Writes not yet in the store, oldest first.
        self._kept: deque[Write] = deque()
        self._dropped = 0
        self._stored_kept = 0
        #: Pops whose write is kept, by pop id: the screen-pop reads them from here.
        self.kept_pops: dict[str, dict[str, Any]] = {}
        #: True when the store could not be opened: writes are kept until the end.
        self.broken = False
        #: Node exits not yet written, as rows of ``journeys``.
        self._exits: list[tuple[Any, ...]] = []
        self._flush_timer: asyncio.TimerHandle | None = None

    @property
    def ok(self) -> bool:
        """True when every write so far is in the file."""
        return not self._kept and not self.broken

    @property
    def connection(self) -> Connection:
        """The write connection, for backends that share it (see EmbeddedDatabase)."""
        return self._conn

    def checkpoint(self) -> None:
        """Move the WAL into the database file now (the background thread does this
        every second; the benchmark counts the last round's share itself)."""
        if self._checkpointer is not None:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Write what is pending, checkpoint and close the file. Writes the store never
        took are saved beside it as JSON lines, so no caller's data is silently lost."""
        self.flush_exits()
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        if self._kept and not self.broken:
            self._replay(len(self._kept))
        if self._kept:
            self._save_kept()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._conn.close()

    def _save_kept(self) -> None:
        target = self.path.with_name(f"{self.path.name}.unwritten-{int(time.time())}.jsonl")
        try:
            with target.open("w", encoding="utf-8") as out:
                for sql, params, many in self._kept:
                    out.write(json.dumps([sql, params, many], ensure_ascii=False) + "\n")
        except OSError as exc:
            log.error("call store: %d writes never stored; %s: %s", len(self._kept), target, exc)
            return
        log.error("call store: %d writes never stored are saved in %s", len(self._kept), target)

    # -- writing, and keeping what cannot be written ------------------------------------

    def _write(self, *writes: Write) -> bool:
        """Run ``writes`` now (several: in one transaction); True when stored. False
        when kept for later: the store is failing, or still has kept writes (order is
        kept, so a call's answers never land before its record)."""
        if self._kept or self.broken:
            self._keep(writes)
            return False
        conn = self._conn
        try:
            if needs_transaction(writes):
                conn.execute("BEGIN")
                for write in writes:
                    execute_write(conn, write)
                conn.execute("COMMIT")
            else:
                execute_write(conn, writes[0])
        except sqlite3.Error as exc:
            rollback_quietly(conn)
            if not store_failing(exc):
                raise
            self._keep(writes)
            self.health.failed(f"{type(exc).__name__}: {exc}")
            self._schedule_retry()
            return False
        return True

    def _keep(self, writes: Sequence[Write]) -> None:
        self._kept.extend(writes)
        while len(self._kept) > MAX_KEPT_WRITES:
            self._kept.popleft()
            self._dropped += 1
            if self._dropped == 1:
                log.error("call store: over %d writes kept; dropping the oldest", MAX_KEPT_WRITES)

    def _schedule_retry(self, delay: float | None = None) -> None:
        if self._retry_timer is not None or self.broken:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._retry_timer = loop.call_later(
            self._retry_seconds if delay is None else delay, self._retry
        )

    def _retry(self) -> None:
        self._retry_timer = None
        if not self._replay(REPLAY_BATCH):
            self._schedule_retry()
        elif self._kept:
            self._schedule_retry(0.0)

    def _replay(self, count: int) -> bool:
        """Store up to ``count`` kept writes in one transaction; False when the store
        still fails. A kept write that is itself wrong is dropped with a log line."""
        conn = self._conn
        batch = [self._kept[i] for i in range(min(count, len(self._kept)))]
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in batch:
                try:
                    execute_write(conn, write)
                except DatabaseError as exc:
                    if store_failing(exc):
                        raise
                    log.error("call store: a kept write is refused (%s): %s", exc, write[0])
            conn.execute("COMMIT")
        except DatabaseError as exc:
            rollback_quietly(conn)
            self.health.reason = f"{type(exc).__name__}: {exc}"
            return False
        self._stored(len(batch))
        return True

    def _stored(self, count: int) -> None:
        """The oldest ``count`` kept writes are in the store now."""
        for _ in range(count):
            self._kept.popleft()
        self._stored_kept += count
        if not self._kept:
            self.kept_pops.clear()
            self.health.recovered(self._stored_kept)
            self._stored_kept = 0

    async def _store(self, *writes: Write) -> bool:
        """Run ``writes`` (several: in one transaction); True when stored, False when
        kept for later. SQLite writes at once, on the loop's thread (see the module's
        docstring for why); the PostgreSQL store awaits the server instead."""
        return self._write(*writes)

    async def drain(self) -> None:
        """Wait for writes in flight (none here: SQLite writes before returning)."""

    # -- writes -----------------------------------------------------------------------

    async def start_call(
        self, call_id: str, flow: str, caller: str, channel: str, uniqueid: str
    ) -> None:
        """Open the record of a new call (kept in memory when the store fails: the
        engine sees :attr:`ok` False and hands the caller to a CSO)."""
        await self._store(
            (
                "INSERT INTO calls (id, flow, caller, channel, uniqueid, started_at, path, asks,"
                " worker) VALUES (?, ?, ?, ?, ?, ?, '[]', '[]', ?)",
                (call_id, flow, caller, channel, uniqueid, _now(), self.worker),
                False,
            )
        )

    async def record_answer(
        self, call_id: str, seq: int, node: str, ask: str, value: str, via: str
    ) -> None:
        """Store the call's answer number ``seq``. (The path is stored when the call ends.)

        Raises :class:`StoreUnavailable` when the answer could only be kept in memory:
        the call must not go on as if it were safe."""
        stored = await self._store(
            (
                "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (call_id, seq, node, ask, value, via, _now()),
                False,
            )
        )
        if not stored:
            raise StoreUnavailable(self.health.reason)

    async def record_screenpop(self, call_id: str, queue: str, data: dict[str, Any]) -> str:
        """Store the data a CSO's screen shows for this call; returns the pop id. When
        the store fails the pop is kept in :attr:`kept_pops` for the screen-pop."""
        pop_id = call_id
        stored = await self._store(
            (
                "INSERT INTO screenpops (id, call_id, queue, data, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET queue = excluded.queue,"
                " data = excluded.data, created_at = excluded.created_at",
                (pop_id, call_id, queue, json.dumps(data, ensure_ascii=False, default=str), _now()),
                False,
            )
        )
        if not stored:
            self.kept_pops[pop_id] = data
        return pop_id

    def record_exit(self, exit: tuple[Any, ...]) -> None:
        """Keep one node exit of a call's journey: ``exit`` is ``(call_id, seq, flow,
        node, exit, target, cause, via, seconds, at)`` (an
        :data:`ivr.engine.journey.NodeExit`).
        It is in the file within :data:`EXIT_FLUSH_SECONDS` (all calls' exits in one
        transaction), and at once when the call ends. A crash loses at most that last
        fraction of a second."""
        self._exits.append(exit)
        if self._flush_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush_exits()
                return
            self._flush_timer = loop.call_later(EXIT_FLUSH_SECONDS, self.flush_exits)

    def _take_exits(self) -> Write | None:
        """The node exits kept so far, as one write."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._exits:
            return None
        rows, self._exits = self._exits, []
        return (_INSERT_EXITS, rows, True)

    def flush_exits(self) -> None:
        """Write the node exits kept so far, in one transaction."""
        exits = self._take_exits()
        if exits is not None:
            self._write(exits)

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
        the node exits still pending in the same transaction. Never raises for what
        the flow stored (a value is written as its text) or for a failing store (the
        write is kept)."""
        update: Write = (
            "UPDATE calls SET ended_at = ?, outcome = ?, path = ?, asks = ?, queue = ?,"
            " variables = ?, result = ?, cso_reason = ?, idpel = ?, seconds = ?"
            " WHERE id = ?",
            (
                _now(),
                str(outcome),
                json.dumps(path, default=str),
                json.dumps(asks, default=str),
                None if queue is None else str(queue),
                json.dumps(variables, ensure_ascii=False, default=str),
                result,
                str(cso_reason),
                str(idpel),
                seconds,
                call_id,
            ),
            False,
        )
        exits = self._take_exits()
        if exits is None:
            await self._store(update)
        else:
            await self._store(exits, update)

    # -- reads ------------------------------------------------------------------------

    def summary(self, call_id: str) -> CallSummary | None:
        """Everything recorded for a call."""
        return read_summary(self._conn, call_id)


def read_journey(conn: Connection, call_id: str) -> list[dict[str, Any]]:
    """A call's node exits in order, as stored."""
    started = conn.execute("SELECT started_at FROM calls WHERE id = ?", (call_id,)).fetchone()
    if started is None:
        return []
    # Journeys are indexed by time: the call's own start bounds the scan.
    since = datetime.fromisoformat(started[0]).timestamp() - 60
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
            "SELECT flow, node, exit, target, cause, via, seconds FROM journeys"
            " WHERE at >= ? AND call_id = ? ORDER BY seq",
            (since, call_id),
        )
    ]


def read_summary(conn: Connection, call_id: str) -> CallSummary | None:
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
