"""Call-back requests stored by other processes, shown on the open pages.

With ``pln123 serve --workers N`` the flows run in the call workers and the pages in a
process of their own (:mod:`ivr.workers`): a caller's call-back request is stored by
the worker that took the call (the embedded call-back port), and this poll, in the
pages' process, sends every open page the new list once it sees a new request. One
indexed ``max(id)`` a second; in a single process the hub is told directly instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ivr.screenpop.hub import PopHub
from ivr.store.dbapi import DatabaseError

log = logging.getLogger(__name__)

#: Seconds between looks at the store.
POLL_SECONDS = 1.0


class CallbackPoll:
    """Tells the hub when a call-back request it did not make itself was stored."""

    def __init__(self, hub: PopHub, interval: float = POLL_SECONDS) -> None:
        self._hub = hub
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._seen: int | None = None
        self._failing = False

    def start(self) -> None:
        """Look now (what is stored already counts as seen), then every interval."""
        self._seen = self._latest()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.check()

    def check(self) -> bool:
        """Send the pages the list when a request was stored since the last look."""
        latest = self._latest()
        if latest is None or latest == self._seen:
            return False
        self._seen = latest
        self._hub.callbacks_changed()
        return True

    def _latest(self) -> int | None:
        try:
            row = self._hub.store.connection.execute("SELECT max(id) FROM callbacks").fetchone()
        except DatabaseError as exc:
            if not self._failing:
                log.warning("call-back requests: cannot read the store (%s)", exc)
            self._failing = True
            return None
        self._failing = False
        return int(row[0] or 0)

    async def close(self) -> None:
        """Stop looking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
