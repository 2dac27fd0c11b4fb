"""The embedded hours port: the :class:`~ivr.store.hours.HoursBoard` in memory. A lookup
touches the store only for the board's poll of ``control_version`` (at most every
``poll_seconds``); a store that cannot be read leaves the last good changes in force
(the board never raises into a call).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ivr.domain.hours_overrides import HoursOverrides
from ivr.store.hours import HoursBoard


class EmbeddedHours:
    """:class:`~ivr.backends.ports.HoursPort` over an :class:`HoursBoard`.

    ``clock`` (epoch seconds) paces the board's polls only: a closure's times are
    checked against each call's own clock by the caller.
    """

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    def __init__(self, board: HoursBoard, clock: Callable[[], float] = time.time) -> None:
        self.board = board
        self._clock = clock

    async def overrides(self) -> HoursOverrides:
        self.board.refresh(self._clock())
        return self.board.overrides
