"""Closing the records of calls whose worker died, from the supervisor.

A call worker killed mid-call leaves its calls open in the store; Asterisk's dialplan
has already queued those callers with their pops (``PLN123_POP_ID``). The supervisor
closes them once the worker is reaped, and at its start those that processes of an
earlier run on this host left: never a live worker's, never another host's.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ivr.config import Settings
from ivr.screenpop.recovered import close_interrupted
from ivr.store.dbapi import DatabaseError
from ivr.store.open import open_call_store

log = logging.getLogger(__name__)

#: Seconds between two calls closed: the workers still serving get the store between
#: them (a dead worker's calls are in the CSO queue already; their records can wait).
CLOSE_PAUSE = 0.02
#: Call ids named in the log line (a worker may die with hundreds of calls).
SHOWN_IDS = 10


def close_calls_of(
    settings: Settings, *, worker: str | None = None, host: str | None = None
) -> list[str]:
    """Close the open calls of ``worker``, or of every earlier process of ``host`` (see
    :func:`close_interrupted`); the ids closed. A failing store is logged, not raised:
    the calls stay open until the next start."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    store = open_call_store(settings)
    try:
        closed = close_interrupted(
            store.connection, now, worker=worker, host=host, pause=CLOSE_PAUSE
        )
    except DatabaseError as exc:
        log.warning("calls left open by %s: cannot close them now (%s)", worker or host, exc)
        return []
    finally:
        store.close()
    if closed:
        log.warning(
            "%d call(s) of %s were cut by it stopping (the dialplan queued them): closed as"
            " queued, reason error, with their pops: %s",
            len(closed),
            f"worker {worker}" if worker else f"earlier processes on {host}",
            ", ".join(closed[:SHOWN_IDS]) + (" ..." if len(closed) > SHOWN_IDS else ""),
        )
    return closed
