"""The queue side of the ops statistics: each caller that joined a CSO queue, from AMI.

:class:`QueueLog` writes one ``queue_calls`` row per caller channel (``Uniqueid``) from
the AMI queue events, and keeps the ``pln123_queue_waiting`` gauge; :func:`queue_stats`
reads the rows back as per-queue figures. Times are Asterisk's own event ``Timestamp``
(``timestampevents = yes`` in manager.conf), epoch seconds.

What a row says:

* ``joined_at``: the caller's *first* ``QueueCallerJoin``. A caller who waited
  ``queue_max_wait`` seconds is offered a call back and, if they choose to wait, joins
  the same queue again with the same channel: that is still one caller, whose wait
  runs from the first join.
* ``answered_at`` / ``wait_seconds``: ``AgentConnect``; the wait is ``answered_at -
  joined_at``, so it includes any call-back offer in between. Asterisk's ``HoldTime``
  (whole seconds since the *last* join) is used only when the join was not seen (the
  IVR started while the caller was already waiting).
* ``abandoned_at`` / ``wait_seconds``: ``QueueCallerAbandon`` (the caller hung up while
  waiting); ``wait_seconds`` is then how long they waited before giving up. This is not
  a wait to an answer: :func:`queue_stats` leaves these rows out of the wait
  percentiles (select ``abandoned_at IS NOT NULL`` to study them on their own).
* neither: still waiting, or left the queue another way (``queue_max_wait`` ran out
  and the caller took a call back). ``QueueCallerLeave`` is not stored: Asterisk sends
  it for every way out, an answer included.

Every write is one small autocommit statement on the event loop, as for call records
(:mod:`ivr.store.calls`), and each is idempotent per ``Uniqueid``: an event seen twice
(after an AMI reconnect) changes nothing the second time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ivr import metrics
from ivr.store.calls import connect, memory_store
from ivr.store.dbapi import Connection, DatabaseError, Location, describe
from ivr.store.schema import migrate

__all__ = ["AmiEventLike", "QueueLog", "percentile", "queue_stats"]

log = logging.getLogger(__name__)

#: The channel variable with the caller's pop id (``ivr.agi.variables.POP_ID``; the
#: store sits below the AGI layer, so it names it again).
POP_ID_VARIABLE = "PLN123_POP_ID"
#: The AMI events :meth:`QueueLog.handle` acts on.
EVENTS = frozenset({"QueueCallerJoin", "AgentConnect", "QueueCallerAbandon", "QueueCallerLeave"})

# Floating point slack for the nearest rank: 0.07 * 100 is 7.000000000000001.
_RANK_EPSILON = 1e-9


class AmiEventLike(Protocol):
    """What :meth:`QueueLog.handle` reads of an AMI event
    (:class:`ivr.asterisk.ami.AmiEvent` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def variables(self) -> Mapping[str, str]: ...

    def get(self, key: str, default: str = "") -> str: ...


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``sorted_values`` (ascending), or None if empty.

    ``fraction`` is in [0, 1] (0.9 for p90): the value at rank ``ceil(fraction * n)``,
    counting from 1 (rank 1 for fraction 0). Always one of the values, never an
    interpolation.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], not {fraction}")
    count = len(sorted_values)
    if count == 0:
        return None
    rank = max(1, math.ceil(fraction * count - _RANK_EPSILON))
    return sorted_values[min(rank, count) - 1]


def queue_stats(conn: Connection, since: float, until: float) -> dict[str, dict[str, Any]]:
    """Per queue, for the callers who joined it within [since, until) (epoch seconds).

    ``{"joined", "answered", "abandoned", "wait_p50", "wait_p90"}``: callers, callers a
    CSO answered, callers who hung up while waiting, and the nearest-rank p50 / p90 of
    the answered callers' waits (join to answer, seconds; None when nobody was
    answered). Abandoned callers' waits are not in the percentiles (see the module
    docstring). ``joined - answered - abandoned`` are still waiting or left otherwise.
    Queues nobody joined in the window are absent.
    """
    stats: dict[str, dict[str, Any]] = {}
    waits: dict[str, list[float]] = {}
    rows = conn.execute(
        "SELECT queue, answered_at IS NOT NULL, abandoned_at IS NOT NULL, wait_seconds"
        " FROM queue_calls WHERE joined_at >= ? AND joined_at < ?",
        (since, until),
    ).fetchall()
    for queue, answered, abandoned, wait in rows:
        entry = stats.setdefault(queue, {"joined": 0, "answered": 0, "abandoned": 0})
        entry["joined"] += 1
        if answered:
            entry["answered"] += 1
            if wait is not None:
                waits.setdefault(queue, []).append(float(wait))
        elif abandoned:
            entry["abandoned"] += 1
    for queue, entry in stats.items():
        answered_waits = sorted(waits.get(queue, []))
        entry["wait_p50"] = percentile(answered_waits, 0.5)
        entry["wait_p90"] = percentile(answered_waits, 0.9)
    return stats


def _at(event: AmiEventLike) -> float:
    """Asterisk's time of the event, or now when it sent none."""
    try:
        return float(event.get("timestamp"))
    except ValueError:
        return time.time()


def _hold_time(event: AmiEventLike) -> float | None:
    try:
        return float(event.get("holdtime"))
    except ValueError:
        return None


class QueueLog:
    """Records AMI queue events in ``queue_calls`` and keeps the waiting gauge.

    Callers waiting now are held in memory per queue (a set of ``Uniqueid``), so a
    caller counts once however many times an event about them arrives, and the several
    ways out of a queue (``AgentConnect`` then ``QueueCallerLeave`` for one answer)
    take them out once. After an AMI login, :meth:`begin_resync` and :meth:`resync`
    replace that memory with Asterisk's own list (``QueueStatus``): callers who left
    while the connection was down, or before an Asterisk restart, are not left
    counted.
    """

    def __init__(self, location: Location) -> None:
        self.location = location
        try:
            self._conn = connect(location)
            migrate(self._conn)
        except DatabaseError as exc:
            log.error(
                "queue statistics: cannot open %s (%s); counting in memory", describe(location), exc
            )
            self._conn = memory_store()
        self._failing = False
        self._waiting: dict[str, set[str]] = {}
        # While a resync is under way: callers who joined / went since it began, which
        # Asterisk's list may not show yet / may still show.
        self._joined_during: set[tuple[str, str]] | None = None
        self._gone_during: set[str] | None = None

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    # -- events -----------------------------------------------------------------------

    def handle(self, event: AmiEventLike) -> None:
        """Record one AMI event; events other than :data:`EVENTS` are ignored."""
        if event.name not in EVENTS:
            return
        uniqueid = event.get("uniqueid")
        queue = event.get("queue")
        if not uniqueid or not queue:
            return
        try:
            if event.name == "QueueCallerJoin":
                self._join(event, queue, uniqueid)
            elif event.name == "AgentConnect":
                self._connect(event, queue, uniqueid)
            elif event.name == "QueueCallerAbandon":
                self._abandon(event, queue, uniqueid)
            else:
                self._gone(queue, uniqueid)
        except DatabaseError as exc:
            # A failing store loses this event's row, never the AMI reader.
            if not self._failing:
                log.error("queue statistics: the store fails (%s); events go unrecorded", exc)
                self._failing = True
            return
        if self._failing:
            log.warning("queue statistics: the store works again")
            self._failing = False

    def _join(self, event: AmiEventLike, queue: str, uniqueid: str) -> None:
        pop_id = event.variables.get(POP_ID_VARIABLE, "")
        cursor = self._conn.execute(
            "INSERT INTO queue_calls (uniqueid, queue, pop_id, joined_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (uniqueid) DO NOTHING",
            (uniqueid, queue, pop_id, _at(event)),
        )
        if cursor.rowcount == 0:  # seen before: a re-join after a call-back offer, or
            # the same event twice; an answered or abandoned caller waits no more
            row = self._conn.execute(
                "SELECT answered_at IS NOT NULL OR abandoned_at IS NOT NULL"
                " FROM queue_calls WHERE uniqueid = ?",
                (uniqueid,),
            ).fetchone()
            if row is not None and row[0]:
                return
        self._waiting.setdefault(queue, set()).add(uniqueid)
        if self._joined_during is not None:
            self._joined_during.add((queue, uniqueid))
        waiting = self._set_gauge(queue)
        log.info("queue %s: caller %s joined (%d waiting)", queue, uniqueid, waiting)

    def _connect(self, event: AmiEventLike, queue: str, uniqueid: str) -> None:
        wait = self._leave(event, queue, uniqueid, "answered_at")
        if wait is not None:
            log.info(
                "queue %s: caller %s answered by %s after %.1f s (%d waiting)",
                queue,
                uniqueid,
                event.get("membername") or event.get("interface"),
                wait,
                self.waiting(queue),
            )

    def _abandon(self, event: AmiEventLike, queue: str, uniqueid: str) -> None:
        wait = self._leave(event, queue, uniqueid, "abandoned_at")
        if wait is not None:
            log.info(
                "queue %s: caller %s abandoned after %.1f s (%d waiting)",
                queue,
                uniqueid,
                wait,
                self.waiting(queue),
            )

    def _leave(self, event: AmiEventLike, queue: str, uniqueid: str, column: str) -> float | None:
        """Record that the caller was answered or abandoned (``column``), once; the
        seconds since the join, or None when the row had already ended."""
        assert column in ("answered_at", "abandoned_at")
        at = _at(event)
        hold = _hold_time(event)
        # Without the join (it came before the IVR started) the row starts here, its
        # join put back by Asterisk's HoldTime.
        joined_at = at - hold if hold is not None else at
        row = self._conn.execute(
            f"INSERT INTO queue_calls (uniqueid, queue, pop_id, joined_at, {column},"
            " wait_seconds) VALUES (?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT (uniqueid) DO UPDATE SET {column} = excluded.{column},"
            f" wait_seconds = CASE WHEN excluded.{column} > queue_calls.joined_at"
            f" THEN excluded.{column} - queue_calls.joined_at ELSE 0 END"
            " WHERE queue_calls.answered_at IS NULL AND queue_calls.abandoned_at IS NULL"
            " RETURNING wait_seconds",
            (
                uniqueid,
                queue,
                event.variables.get(POP_ID_VARIABLE, ""),
                joined_at,
                at,
                max(at - joined_at, 0.0),
            ),
        ).fetchone()
        self._gone(queue, uniqueid)
        return None if row is None else float(row[0])

    def _gone(self, queue: str, uniqueid: str) -> None:
        """The caller is out of the queue (answered, abandoned, or left otherwise)."""
        if self._gone_during is not None:
            self._gone_during.add(uniqueid)
        waiting = self._waiting.get(queue)
        if waiting is None or uniqueid not in waiting:
            return
        waiting.discard(uniqueid)
        self._set_gauge(queue)

    def _set_gauge(self, queue: str) -> int:
        count = len(self._waiting.get(queue, ()))
        metrics.METRICS.queue_waiting.labels(queue).set(count)
        return count

    # -- live count ---------------------------------------------------------------------

    def waiting(self, queue: str) -> int:
        """Callers waiting in ``queue`` now, as far as the events seen tell."""
        return len(self._waiting.get(queue, ()))

    def begin_resync(self) -> None:
        """Asterisk's list of waiting callers was asked for: note what happens until it
        arrives, so :meth:`resync` neither loses a join nor revives a caller gone."""
        self._joined_during = set()
        self._gone_during = set()

    def resync(self, entries: Iterable[tuple[str, str]]) -> None:
        """Replace the callers waiting with Asterisk's list: ``(queue, uniqueid)`` each
        (``QueueEntry`` events of ``QueueStatus``), merged with the events seen since
        :meth:`begin_resync`."""
        joined = self._joined_during or set()
        gone = self._gone_during or set()
        self._joined_during = self._gone_during = None
        fresh: dict[str, set[str]] = {}
        for queue, uniqueid in entries:
            if uniqueid not in gone:
                fresh.setdefault(queue, set()).add(uniqueid)
        for queue, uniqueid in joined:
            if uniqueid in self._waiting.get(queue, ()):
                fresh.setdefault(queue, set()).add(uniqueid)
        queues = set(self._waiting) | set(fresh)
        self._waiting = fresh
        for queue in queues:
            self._set_gauge(queue)

    def cancel_resync(self) -> None:
        """Asterisk's list did not come: keep counting from the events alone."""
        self._joined_during = self._gone_during = None
