"""Erasing personal data older than ``[privacy] retention_days`` from the call store.

What is erased (overwritten, the row kept and stamped ``erased_at``):

- ``calls``: ``caller``, ``channel`` (it may name the number), ``idpel`` and
  ``variables`` (``''`` / ``'{}'``); ``flow``, ``started_at``, ``ended_at``,
  ``outcome``, ``result``, ``cso_reason``, ``seconds``, ``queue``, ``path``, ``asks``
  and ``uniqueid`` (Asterisk's CDR key, no one's data) stay, so ``pln123 stats`` counts
  the same. ``caller`` and ``idpel`` make way for a link token that keeps true
  containment as it was (:func:`_link`), and a contained call's 24-hour repeat is
  frozen in ``repeat_24h``.
- ``answers``: every ``value`` becomes :data:`ERASED` (IDPEL, meter numbers, NIK, phone
  numbers, names); which question was asked and how (``node``, ``ask``, ``via``) stays.
- ``screenpops``: ``data`` becomes ``'{}'``; ``pop_deliveries``: ``caller``;
  ``callbacks``: ``number``.
- What the IVR filed in the embedded backends for the call: ``reports`` (``idpel``,
  ``caller_number``, ``mobile_number``, ``fields``, ``problem_text``), ``apkt_issues``
  (``description``, ``caller_number``, ``idpel``), ``itsm_tickets`` (``description``,
  ``caller_number``, ``fields``), ``itsm_activity`` notes and ``ap2t_registrations``
  (``idpel``, ``fields``). Report numbers, statuses and ticket numbers stay.

Master data (``customers``, ``crm_callers``, ``ap2t_accounts``) is the utility's own
record of its customers, not a call record: retention does not touch it.

The work is done in batches of :data:`BATCH_CALLS` calls, each one ``BEGIN
IMMEDIATE`` transaction of indexed updates (a few milliseconds; see the README),
:data:`BATCH_PAUSE` apart, so the serving IVR's writes get the lock in between. The
reads that choose a batch and work out its repeats run outside the transaction (WAL
readers take no lock).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr.backends.sqlite_base import immediate
from ivr.engine.journey import CallResult
from ivr.ops.stats import REPEAT_WINDOW, repeat_keys, stamp
from ivr.store.calls import connect
from ivr.store.dbapi import Connection, DatabaseError, Location
from ivr.store.health import CLI_BUSY_MS
from ivr.store.schema import migrate

log = logging.getLogger(__name__)

#: What an erased free-text or answer field reads.
ERASED = "[dihapus]"
#: Calls erased in one transaction.
BATCH_CALLS = 100
#: Orphan pop deliveries or call-back tasks (no call record) erased in one transaction.
BATCH_ROWS = 500
#: Seconds between batches: the serving IVR's statements wait at most
#: :data:`ivr.store.health.LOOP_BUSY_MS` (50 ms) for the write lock, retrying after 1,
#: 2, 5, 10 and 15 ms; a gap this long between batches of a few milliseconds lets each
#: of them in (measured: README "Personal data").
BATCH_PAUSE = 0.05
#: Batches after which the repeat window forgets the calls behind it.
FORGET_EVERY = 20
#: Seconds between sweeps of :class:`RetentionSweeper`.
SWEEP_INTERVAL = 3600.0
#: The tables :func:`erase_calls` and :func:`erase_expired` count, in report order.
TABLES = (
    "calls",
    "answers",
    "screenpops",
    "pop_deliveries",
    "callbacks",
    "reports",
    "apkt_issues",
    "itsm_tickets",
    "itsm_activity",
    "ap2t_registrations",
)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


#: A link token in an erased call's ``idpel``: ``~`` and a call id (never digits, so
#: it matches no IDPEL). See :func:`erase_calls`.
LINK = "~"


@dataclass(frozen=True)
class Expiring:
    """A call about to be erased: its id, and for a contained call whether its caller
    called again within 24 hours (``repeat``, 1 or 0) and the first call that did
    (``partner``); None for other calls."""

    call_id: str
    repeat: int | None = None
    partner: str | None = None


def _link(conn: Connection, call: Expiring) -> str:
    """The link token an erased call keeps so true containment counts as before.

    ``compute_stats`` counts a contained call as called again when a later call within
    24 hours shares its phone number or IDPEL. Calls are erased oldest first; each one
    that was called again takes the token ``~<its partner's id>``, so when the partner
    is erased in its turn the two share a token: the partner takes over the tokens
    pointing at it (``~<partner>``), passing them on to its own partner if it has one.
    A call with no partner keeps ``~<its id>`` only when earlier calls point at it,
    else nothing. Each chain of repeats ends with one token, a random call id, that
    names no one; a call that had no repeat and was no one's repeat keeps none.
    """
    mine = LINK + call.call_id
    if call.partner:
        token = LINK + call.partner
        conn.execute(
            "UPDATE calls SET idpel = ? WHERE idpel = ? AND erased_at IS NOT NULL",
            (token, mine),
        )
        return token
    pointed_at = conn.execute(
        "SELECT 1 FROM calls WHERE idpel = ? AND erased_at IS NOT NULL LIMIT 1", (mine,)
    ).fetchone()
    return mine if pointed_at else ""


def erase_calls(
    conn: Connection,
    calls: Sequence[Expiring],
    now: float,
    timings: list[float] | None = None,
) -> Counter[str]:
    """Erase the personal data of ``calls`` (oldest first) and of everything the IVR
    stored for them, in one ``BEGIN IMMEDIATE`` transaction; returns rows touched per
    table. A call's ``caller`` and ``idpel`` give way to a link token (:func:`_link`)
    and its 24-hour repeat is frozen in ``repeat_24h``. The seconds the write lock
    was held (``BEGIN IMMEDIATE`` taken to ``COMMIT`` done) go to ``timings``."""
    counts: Counter[str] = Counter()
    if not calls:
        return counts
    ids = [call.call_id for call in calls]
    into = _marks(len(ids))
    with immediate(conn):
        locked = time.perf_counter()
        for call in calls:
            counts["calls"] += conn.execute(
                "UPDATE calls SET caller = '', channel = '', idpel = ?, variables = '{}',"
                " erased_at = ?, repeat_24h = ? WHERE id = ? AND erased_at IS NULL",
                (_link(conn, call), now, call.repeat, call.call_id),
            ).rowcount
        statements = {
            "answers": f"UPDATE answers SET value = '{ERASED}' WHERE call_id IN ({into})"
            f" AND value != '{ERASED}'",
            "screenpops": "UPDATE screenpops SET data = '{}', erased_at = ?"
            f" WHERE id IN ({into}) AND erased_at IS NULL",
            "pop_deliveries": "UPDATE pop_deliveries SET caller = '', erased_at = ?"
            f" WHERE pop_id IN ({into}) AND erased_at IS NULL",
            "callbacks": "UPDATE callbacks SET number = '', erased_at = ?"
            f" WHERE call_id IN ({into}) AND erased_at IS NULL",
            "reports": "UPDATE reports SET idpel = '', caller_number = '', mobile_number = '',"
            f" fields = '{{}}', problem_text = '{ERASED}', erased_at = ?"
            f" WHERE call_id IN ({into}) AND erased_at IS NULL",
            "apkt_issues": f"UPDATE apkt_issues SET description = '{ERASED}',"
            " caller_number = '', idpel = '', erased_at = ?"
            f" WHERE call_id IN ({into}) AND erased_at IS NULL",
            "itsm_tickets": f"UPDATE itsm_tickets SET description = '{ERASED}',"
            " caller_number = '', fields = '{}', erased_at = ?"
            f" WHERE call_id IN ({into}) AND erased_at IS NULL",
            "itsm_activity": "UPDATE itsm_activity SET note = CASE note WHEN '' THEN ''"
            f" ELSE '{ERASED}' END, erased_at = ? WHERE call_id IN ({into})"
            " AND erased_at IS NULL",
            "ap2t_registrations": "UPDATE ap2t_registrations SET idpel = '', fields = '{}',"
            f" erased_at = ? WHERE call_id IN ({into}) AND erased_at IS NULL",
        }
        for table, sql in statements.items():
            params = ids if table == "answers" else [now, *ids]
            counts[table] = conn.execute(sql, params).rowcount
    if timings is not None:
        timings.append(time.perf_counter() - locked)
    return counts


class RepeatWindow:
    """Who called when, read forward through the calls in time order, for telling
    whether a call was followed by another of the same phone number or IDPEL within
    :data:`ivr.ops.stats.REPEAT_WINDOW`, exactly as ``compute_stats`` tells it, and by
    which call first."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._times: dict[str, list[datetime]] = defaultdict(list)
        self._ids: dict[str, list[str]] = defaultdict(list)
        self._loaded_to: str | None = None

    #: The keys a call is known by (as ``compute_stats`` makes them).
    keys = staticmethod(repeat_keys)

    def _load(self, first: str, last: str) -> None:
        """Read the calls that started in ``[first, last]`` not read yet."""
        if self._loaded_to is None:
            sql, start = "started_at >= ?", first
        else:
            if last <= self._loaded_to:
                return
            sql, start = "started_at > ?", self._loaded_to
        for call_id, caller, idpel, started in self._conn.execute(
            f"SELECT id, caller, idpel, started_at FROM calls WHERE {sql} AND started_at <= ?"
            " ORDER BY started_at",
            (start, last),
        ):
            moment = datetime.fromisoformat(started)
            for key in self.keys(caller, idpel):
                self._times[key].append(moment)
                self._ids[key].append(call_id)
        self._loaded_to = last

    def forget_before(self, started: str) -> None:
        """Drop what was read of calls before ``started`` (no later question needs it:
        calls are asked about in time order), so a long backlog does not fill memory."""
        moment = datetime.fromisoformat(started)
        for key in list(self._times):
            times = self._times[key]
            first = bisect.bisect_left(times, moment)
            if first == len(times):
                del self._times[key], self._ids[key]
            elif first:
                del times[:first], self._ids[key][:first]

    def partner(self, caller: str, idpel: str, started: str) -> str | None:
        """The first later call within the window by this caller or about this IDPEL,
        or None. Calls must be asked about in time order."""
        moment = datetime.fromisoformat(started)
        self._load(started, stamp(moment + REPEAT_WINDOW))
        first: tuple[datetime, str] | None = None
        for key in self.keys(caller, idpel):
            times = self._times[key]
            later = bisect.bisect_right(times, moment)
            if (
                later < len(times)
                and times[later] - moment <= REPEAT_WINDOW
                and (first is None or times[later] < first[0])
            ):
                first = (times[later], self._ids[key][later])
        return None if first is None else first[1]

    def expiring(
        self, call_id: str, caller: str, idpel: str, started: str, result: str | None
    ) -> Expiring:
        """A call about to be erased, its repeat worked out when it was contained."""
        if result != CallResult.CONTAINED:
            return Expiring(call_id)
        partner = self.partner(caller, idpel, started)
        return Expiring(call_id, int(partner is not None), partner)


def _cutoff(retention_days: int, now: float) -> float:
    return now - retention_days * 86400.0


def erase_expired(
    conn: Connection,
    retention_days: int,
    now: float | None = None,
    *,
    batch_calls: int = BATCH_CALLS,
    batch_rows: int = BATCH_ROWS,
    timings: list[float] | None = None,
    stop: threading.Event | None = None,
    pause: float = BATCH_PAUSE,
) -> dict[str, int]:
    """Erase the personal data of calls that started more than ``retention_days`` days
    before ``now`` (epoch seconds; the clock by default), with what the IVR stored for
    them, and of pop deliveries and call-back tasks that old; nothing when
    ``retention_days`` is 0 (keep forever). Returns rows touched per table (every
    table of :data:`TABLES`, zeros included).

    Each batch is one short transaction, ``pause`` seconds after the one before; when
    ``timings`` is given, each batch's seconds from ``BEGIN IMMEDIATE`` to ``COMMIT``
    are appended to it. A set ``stop`` ends the work after the batch in progress (the
    next sweep goes on from there).
    """
    totals: Counter[str] = Counter({table: 0 for table in TABLES})
    if retention_days <= 0:
        return dict(totals)
    now = time.time() if now is None else now
    cutoff = _cutoff(retention_days, now)
    before = stamp(datetime.fromtimestamp(cutoff, UTC))
    window = RepeatWindow(conn)
    batches = 0
    while stop is None or not stop.is_set():
        rows = conn.execute(
            "SELECT id, caller, idpel, started_at, result FROM calls"
            " WHERE erased_at IS NULL AND started_at < ? ORDER BY started_at LIMIT ?",
            (before, batch_calls),
        ).fetchall()
        if not rows:
            break
        calls = [window.expiring(*row) for row in rows]
        totals.update(erase_calls(conn, calls, now, timings))
        batches += 1
        if batches % FORGET_EVERY == 0:
            window.forget_before(rows[-1][3])
        if len(rows) < batch_calls:
            break
        _rest(pause, stop)
    for table, column, time_column in (
        ("pop_deliveries", "caller", "rang_at"),
        ("callbacks", "number", "requested_at"),
    ):
        while stop is None or not stop.is_set():
            with immediate(conn):
                locked = time.perf_counter()
                touched = conn.execute(
                    f"UPDATE {table} SET {column} = '', erased_at = ? WHERE rowid IN"
                    f" (SELECT rowid FROM {table} WHERE erased_at IS NULL AND {time_column} < ?"
                    " LIMIT ?)",
                    (now, cutoff, batch_rows),
                ).rowcount
            if timings is not None:
                timings.append(time.perf_counter() - locked)
            totals[table] += touched
            if touched < batch_rows:
                break
            _rest(pause, stop)
    return dict(totals)


def _rest(pause: float, stop: threading.Event | None) -> None:
    """Leave the write lock to others for ``pause`` seconds (less when stopping)."""
    if pause > 0:
        if stop is not None:
            stop.wait(pause)
        else:
            time.sleep(pause)


class RetentionSweeper:
    """Runs :func:`erase_expired` in a thread with a connection of its own: once at
    :meth:`start`, then every ``interval`` seconds, until :meth:`stop`. A sweep that
    erased something logs one line of counts (never what was erased)."""

    def __init__(
        self, location: Location, retention_days: int, *, interval: float = SWEEP_INTERVAL
    ) -> None:
        self.location = location
        self.retention_days = retention_days
        self.interval = interval
        #: Counts of the sweeps that erased something, for tests and the curious.
        self.sweeps: list[dict[str, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep now, then every ``interval`` seconds (not at all with retention 0)."""
        if self.retention_days <= 0:
            log.info("privacy: retention_days = 0, personal data is kept")
            return
        self._thread = threading.Thread(target=self._run, name="privacy-retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn = connect(self.location, CLI_BUSY_MS)  # a thread of its own: it may wait
                migrate(conn)
            except (*DatabaseError, OSError) as exc:
                # The store cannot be opened (the IVR runs on memory then): try again later.
                log.error("privacy: no retention sweep, the store cannot be opened: %s", exc)
                if self._stop.wait(self.interval):
                    return
                continue
            try:
                while True:
                    self.sweep_once(conn)
                    if self._stop.wait(self.interval):
                        return
            finally:
                conn.close()

    def sweep_once(self, conn: Connection) -> dict[str, int]:
        """One sweep on ``conn``; a failure is logged, not raised (the next one retries)."""
        try:
            counts = erase_expired(conn, self.retention_days, stop=self._stop)
        except DatabaseError as exc:
            log.error("privacy: retention sweep failed: %s", exc)
            return {}
        erased = {table: count for table, count in counts.items() if count}
        if erased:
            self.sweeps.append(erased)
            log.info(
                "privacy: erased personal data older than %d days: %s",
                self.retention_days,
                ", ".join(f"{table} {count}" for table, count in erased.items()),
            )
        return counts

    async def stop(self) -> None:
        """Stop after the batch in progress."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join)
