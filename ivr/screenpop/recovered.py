"""The pop of a call whose IVR stopped before handing it over.

When the IVR process dies in the middle of a call (killed, out of memory, a crash),
Asterisk's dialplan fallback queues the caller with the IVR's call id as the pop id
(``PLN123_POP_ID=${PLN123_CALL_ID}``). No pop was stored for that call, but its record
and every answer given before the stop were (each answer is in the file before the
call moves on): the CSO's page shows those, so the caller is not asked again.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from ivr.backends.sqlite_base import immediate
from ivr.domain.callerid import caller_class
from ivr.engine.journey import CallResult, CsoReason
from ivr.engine.pop import Answer, Caller, Customer, Note, ScreenPop
from ivr.engine.port import Outcome
from ivr.store.dbapi import Connection

#: The queue the dialplan's fallback sends a caller to (``extensions.conf``).
FALLBACK_QUEUE = "umum"

#: The line the CSO reads on such a pop.
STOPPED_NOTE = Note("Catatan", "IVR terhenti sebelum mengalihkan panggilan; jawaban tersimpan")
#: The answers that name the customer (the flows' ``ask:`` tags).
CUSTOMER_ASKS = ("idpel",)


def recovered_pop(conn: Connection, call_id: str) -> dict[str, Any] | None:
    """A pop built from the call's record and answers, or None: no such call."""
    row = conn.execute("SELECT flow, caller, queue FROM calls WHERE id = ?", (call_id,)).fetchone()
    if row is None:
        return None
    flow, caller, queue = row
    answers = tuple(
        Answer(ask, value)
        for ask, value in conn.execute(
            "SELECT ask, value FROM answers WHERE call_id = ? ORDER BY seq", (call_id,)
        )
    )
    keyed = next((a.value for a in answers if a.ask in CUSTOMER_ASKS and a.value), "")
    pop = ScreenPop(
        call_id=call_id,
        flow=flow,
        queue=queue or "",
        caller=Caller(number=caller, line=caller_class(caller)),
        customer=Customer(keyed=keyed) if keyed else None,
        answers=answers,
        asks=tuple(a.ask for a in answers),
        notes=(STOPPED_NOTE,),
    )
    return pop.to_stored()


#: How far back a call left open by a stopped IVR is closed at the next start.
INTERRUPTED_WITHIN_SECONDS = 24 * 3600


def close_interrupted(
    conn: Connection,
    started_before: str,
    *,
    worker: str | None = None,
    host: str | None = None,
    pause: float = 0.0,
) -> list[str]:
    """Close the records of calls an earlier IVR process left open (it was killed or
    crashed mid-call): the dialplan's fallback queued those callers, so each becomes
    ``queued`` (ops count it as a CSO call, reason ``error``) with the pop its CSO saw,
    stored. ``started_before`` is this process's start (ISO time): calls begun since
    are its own. The call ids closed.

    Whose calls (``calls.worker``, ``"<host>:<pid>"``, see :mod:`ivr.workers`): only
    ``worker``'s (a worker that died), or those of every process of ``host`` and of no
    worker (stored before workers were recorded): ``pln123 serve`` starting on ``host``
    (one per host and store). Neither: every open call. Other hosts close their own.

    Each call is closed in a transaction of its own, ``pause`` seconds apart: a worker
    dying with hundreds of calls must not keep the store's write lock from the workers
    still taking calls (on SQLite they wait at most 50 ms for it).
    """
    since = (
        datetime.fromisoformat(started_before) - timedelta(seconds=INTERRUPTED_WITHIN_SECONDS)
    ).isoformat(timespec="milliseconds")
    sql = "SELECT id FROM calls WHERE started_at >= ? AND started_at < ? AND ended_at IS NULL"
    params: list[Any] = [since, started_before]
    if worker is not None:
        sql += " AND worker = ?"
        params.append(worker)
    elif host is not None:
        prefix = f"{host}:"
        sql += " AND (worker = '' OR substr(worker, 1, ?) = ?)"
        params += [len(prefix), prefix]
    open_calls = [call_id for (call_id,) in conn.execute(sql, params)]
    for number, call_id in enumerate(open_calls):
        if number and pause:
            time.sleep(pause)
        pop = recovered_pop(conn, call_id)
        assert pop is not None
        queue = pop["queue"] or FALLBACK_QUEUE
        with immediate(conn):
            conn.execute(
                "INSERT INTO screenpops (id, call_id, queue, data, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (call_id, call_id, queue, json.dumps(pop, ensure_ascii=False), started_before),
            )
            conn.execute(
                "UPDATE calls SET ended_at = ?, outcome = ?, queue = ?, result = ?,"
                " cso_reason = ? WHERE id = ? AND ended_at IS NULL",
                (
                    started_before,
                    Outcome.QUEUED.value,
                    queue,
                    CallResult.CSO.value,
                    CsoReason.ERROR.value,
                    call_id,
                ),
            )
    return open_calls
