"""The embedded announcement port: the :class:`~ivr.store.announcements.AnnouncementBoard`
in memory. A lookup touches the store only for the board's poll of ``control_version``
(at most every ``poll_seconds``), and a store that cannot be read leaves the last good
announcement in force (the board never raises into a call).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ivr.domain.announcements import Announcement
from ivr.store.announcements import AnnouncementBoard


class EmbeddedAnnouncements:
    """:class:`~ivr.backends.ports.AnnouncementPort` over an :class:`AnnouncementBoard`.

    ``clock`` gives epoch seconds (tests pass a fixed one).
    """

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    def __init__(self, board: AnnouncementBoard, clock: Callable[[], float] = time.time) -> None:
        self.board = board
        self._clock = clock

    async def current(self) -> Announcement | None:
        now = self._clock()
        self.board.refresh(now)
        return self.board.current(now)
