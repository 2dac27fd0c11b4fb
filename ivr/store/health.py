"""Whether the call store can be written now, and why not.

A locked, full, unwritable or corrupt store must never stop a call: the store keeps
what it could not write in memory, tells the engine (which hands the caller to a CSO
at once), and says so on ``/healthz``. This module holds that state and logs each
change of it once, not once per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: How long (ms) a connection used on the event loop waits for another writer's lock
#: before the operation counts as failed: a locked store may hold the loop no longer.
LOOP_BUSY_MS = 50
#: The same for command-line tools, which may wait for a running IVR's short writes.
CLI_BUSY_MS = 5000


class StoreUnavailable(Exception):
    """The call store cannot be written now. What was to be written is kept in memory
    and written when the store is back; the call goes to a CSO."""


class StoreHealth:
    """The store's state: healthy, or degraded since a moment and for a reason."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.ok = True
        self.reason = ""
        self.since: float | None = None
        #: Writes that failed since the store last worked, for the recovery log line.
        self.failures = 0
        #: Called with the new state (True: works again) at each change.
        self.listeners: list[Callable[[bool], None]] = []

    def failed(self, reason: str) -> None:
        """An operation failed: the first failure logs, the others count."""
        self.failures += 1
        if not self.ok:
            return
        self.ok = False
        self.reason = reason
        self.since = time.time()
        log.error(
            "%s cannot be written (%s): calls go to a CSO with their pops kept in memory"
            " until it works again",
            self.what,
            reason,
        )
        for listener in self.listeners:
            listener(False)

    def recovered(self, written: int) -> None:
        """The store works again and what was kept has been written."""
        if self.ok:
            return
        down = time.time() - (self.since or time.time())
        log.warning(
            "%s works again after %.1f s: %d kept writes stored (%d operations had failed)",
            self.what,
            down,
            written,
            self.failures,
        )
        self.ok = True
        self.reason = ""
        self.since = None
        self.failures = 0
        for listener in self.listeners:
            listener(True)

    def as_json(self) -> dict[str, Any]:
        """What ``/healthz`` says of the store."""
        if self.ok:
            return {"ok": True}
        return {"ok": False, "reason": self.reason, "since": self.since}
