"""The embedded outage port: the :class:`~ivr.store.control.OutageBoard` in memory for
lookups, the shared store connection for what callers did.

Lookups never touch the store beyond the board's poll of ``control_version`` (at most
every ``poll_seconds``), so a call pays nothing for outages when none changed; a store
that cannot be read leaves the last good list in force (the board never raises into
a call). Recording an event is one autocommit ``INSERT OR IGNORE`` on the call store's
connection, as the call store writes answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ivr.backends.ports import BackendError
from ivr.domain.outages import Outage
from ivr.store.control import ControlError, OutageBoard, record_outage_event
from ivr.store.dbapi import Connection, DatabaseError


class EmbeddedOutages:
    """:class:`~ivr.backends.ports.OutagePort` over an :class:`OutageBoard` and the store.

    ``clock`` gives epoch seconds (tests pass a fixed one).
    """

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    def __init__(
        self,
        board: OutageBoard,
        conn: Connection,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.board = board
        self.conn = conn
        self._clock = clock

    def _now(self) -> float:
        now = self._clock()
        self.board.refresh(now)
        return now

    async def covering(self, unit: str, posko: str) -> Outage | None:
        now = self._now()
        return self.board.covering(unit, posko, now)

    async def covering_area_code(self, code: str) -> Outage | None:
        now = self._now()
        return self.board.covering_area_code(code, now)

    async def record(self, outage_id: int, call_id: str, event: str) -> None:
        try:
            record_outage_event(self.conn, outage_id, call_id, event, self._clock())
        except (*DatabaseError, ControlError) as exc:
            raise BackendError(f"embedded outages record {event}: {exc}") from exc
