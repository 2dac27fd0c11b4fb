"""Time limits for AGI commands without a timer per command.

Every AGI command must have a time limit, but an ``asyncio.timeout`` per command puts
a timer on the event loop's heap and takes it off again: with hundreds of calls that
is the largest cost of the whole AGI layer. Instead each channel writes its deadline
in a :class:`Deadline`, and one :class:`Watchdog` per server looks at all of them a
few times a second and cancels the command that has run over. A limit may so fire up
to one tick late, which is nothing next to limits of seconds.
"""

from __future__ import annotations

import asyncio
import contextlib


class Deadline:
    """The running command of one channel, and when it must have its answer."""

    __slots__ = ("expired", "task", "when")

    def __init__(self) -> None:
        self.when: float | None = None
        self.task: asyncio.Task[object] | None = None
        self.expired = False


class Watchdog:
    """Cancels the commands whose deadline has passed."""

    def __init__(self, tick: float = 0.25) -> None:
        self._tick = tick
        self._deadlines: set[Deadline] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, deadline: Deadline) -> None:
        """Start watching a channel's deadline (starting the watchdog if needed)."""
        self._deadlines.add(deadline)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def forget(self, deadline: Deadline) -> None:
        """Stop watching a channel's deadline."""
        self._deadlines.discard(deadline)

    async def stop(self) -> None:
        """Stop the watchdog task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._deadlines:
            await asyncio.sleep(self._tick)
            now = loop.time()
            for deadline in list(self._deadlines):
                when, task = deadline.when, deadline.task
                if when is not None and task is not None and now >= when and not deadline.expired:
                    deadline.expired = True
                    task.cancel()
