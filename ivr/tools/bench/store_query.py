"""What the store holds of a bench's calls, read after the run.

Plain SQL on the tables both stores share (``calls``, ``answers``, ``reports``,
``journeys``), through the store's own connections; only the calls of this run (their
call ids) are read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ivr.store.calls import connect_read_only
from ivr.store.dbapi import Connection, Location
from ivr.store.health import CLI_BUSY_MS

#: Call ids per statement (SQLite allows 32,766 parameters, PostgreSQL 65,535).
CHUNK = 500


@dataclass
class StoredCalls:
    """The store's view of a set of calls."""

    #: Outcome by call id (None: the call's record has no outcome yet).
    outcomes: dict[str, str | None] = field(default_factory=dict)
    #: Call ids with a filed report.
    reported: set[str] = field(default_factory=set)
    #: The asks stored as answers, by call id.
    answers: dict[str, set[str]] = field(default_factory=dict)
    #: Every stored answer, ``(ask, value)`` in the order taken, by call id.
    values: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: Why a call reached a CSO (the IVR's reason; '' for none), by call id.
    cso_reasons: dict[str, str] = field(default_factory=dict)
    #: Each call's node exits other than going on (``node noinput``), in order.
    misses: dict[str, list[str]] = field(default_factory=dict)

    def outcome_counts(self) -> Counter[str]:
        return Counter(outcome or "open" for outcome in self.outcomes.values())


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _read(run: Connection, call_ids: Iterable[str]) -> StoredCalls:
    ids = sorted(set(call_ids))
    stored = StoredCalls()
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        for call_id, outcome, reason in run.execute(
            f"SELECT id, outcome, cso_reason FROM calls WHERE id IN ({marks})", chunk
        ):
            stored.outcomes[str(call_id)] = None if outcome is None else str(outcome)
            stored.cso_reasons[str(call_id)] = str(reason or "")
        for call_id, node, exit_ in run.execute(
            f"SELECT call_id, node, exit FROM journeys WHERE call_id IN ({marks})"
            " AND exit NOT IN ('next', 'end', 'returned') ORDER BY call_id, seq",
            chunk,
        ):
            stored.misses.setdefault(str(call_id), []).append(f"{node} {exit_}")
        for (call_id,) in run.execute(
            f"SELECT DISTINCT call_id FROM reports WHERE call_id IN ({marks})", chunk
        ):
            stored.reported.add(str(call_id))
        for call_id, ask, value in run.execute(
            f"SELECT call_id, ask, value FROM answers WHERE call_id IN ({marks})"
            " ORDER BY call_id, seq",
            chunk,
        ):
            stored.answers.setdefault(str(call_id), set()).add(str(ask))
            stored.values.setdefault(str(call_id), []).append((str(ask), str(value)))
    return stored


def read_calls(location: Location, call_ids: Iterable[str]) -> StoredCalls:
    """The calls ``call_ids`` in the store at ``location`` (a SQLite file or a
    PostgreSQL URL)."""
    conn = connect_read_only(location, CLI_BUSY_MS)
    try:
        return _read(conn, call_ids)
    finally:
        conn.close()


def postgres_writes(url: str) -> tuple[int, int]:
    """Transactions committed and rows written (inserted, updated, deleted) in the
    database of ``url`` so far, from the server's own statistics (``pg_stat_database``;
    a backend's figures arrive when it ends, so read them after the IVR stopped)."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted"
            " FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
