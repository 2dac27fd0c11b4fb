"""Keeping a set of named worker processes running: the supervisor's decisions.

Which process to start, when to start a dead one again, where each signal goes and when
everything has stopped. The processes themselves come from a ``spawn`` function, so the
tests drive this with fakes; :mod:`ivr.workers.run` gives it real ones.

A worker that dies is started again after a backoff: :attr:`Backoff.first` seconds,
doubled for each death in a row of a worker that ran less than :attr:`Backoff.stable`
seconds, up to :attr:`Backoff.most`; a crash loop thus costs a fork every 30 s, not a
spinning CPU.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)


class Handle(Protocol):
    """A started worker process."""

    @property
    def pid(self) -> int: ...

    @property
    def exitcode(self) -> int | None:
        """Its exit code once gone (negative: the signal that killed it)."""

    def send_signal(self, signum: int) -> None: ...


H = TypeVar("H", bound=Handle)


@dataclass(frozen=True)
class Backoff:
    """Seconds before a dead worker is started again."""

    first: float = 1.0
    most: float = 30.0
    #: A worker that ran this long was no crash loop: its next restart waits ``first``.
    stable: float = 60.0

    def delay(self, quick_deaths: int) -> float:
        """The wait after ``quick_deaths`` deaths in a row (1: the first)."""
        return float(min(self.most, self.first * 2.0 ** max(0, quick_deaths - 1)))


@dataclass
class _Slot(Generic[H]):
    name: str
    handle: H | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None


def describe_exit(code: int | None) -> str:
    """How a process ended, for the log."""
    if code is None:
        return "is gone"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor(Generic[H]):
    """Starts the named workers, starts a dead one again after its backoff, forwards
    signals, and says when all have stopped after SIGTERM or SIGINT.

    ``spawn`` starts the worker of a name; ``gone`` is told of a worker that is gone
    (reaped), before it is started again.
    """

    def __init__(
        self,
        names: Iterable[str],
        spawn: Callable[[str], H],
        gone: Callable[[str, H], None],
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slots: dict[str, _Slot[H]] = {name: _Slot(name) for name in names}
        self._spawn = spawn
        self._gone = gone
        self.backoff = backoff or Backoff()
        self._clock = clock
        #: True once SIGTERM or SIGINT came: no worker is started again.
        self.stopping = False

    def start(self) -> None:
        """Start every worker."""
        for slot in self._slots.values():
            self._start(slot)

    def live(self) -> dict[str, H]:
        """The workers running now, by name."""
        return {s.name: s.handle for s in self._slots.values() if s.handle is not None}

    @property
    def finished(self) -> bool:
        """True when stopping and every worker has stopped."""
        return self.stopping and not self.live()

    def exited(self, name: str) -> None:
        """Worker ``name`` is gone (reaped): tell ``gone``, then plan its restart."""
        slot = self._slots[name]
        handle, slot.handle = slot.handle, None
        if handle is None:
            return
        code = handle.exitcode
        try:
            self._gone(name, handle)
        except Exception:  # closing its calls failed: restart anyway, the log says why
            log.exception("worker %s (pid %d): cleaning up after it failed", name, handle.pid)
        if self.stopping:
            log.info("worker %s (pid %d) %s", name, handle.pid, describe_exit(code))
            return
        lived = self._clock() - slot.started
        slot.quick_deaths = 1 if lived >= self.backoff.stable else slot.quick_deaths + 1
        delay = self.backoff.delay(slot.quick_deaths)
        slot.restart_at = self._clock() + delay
        log.error(
            "worker %s (pid %d) %s after %.0f s; starting it again in %.1f s",
            name,
            handle.pid,
            describe_exit(code),
            lived,
            delay,
        )

    def next_restart(self) -> float | None:
        """Seconds until the next planned restart (0: due), or None: none planned."""
        planned = [s.restart_at for s in self._slots.values() if s.restart_at is not None]
        if not planned:
            return None
        return max(0.0, min(planned) - self._clock())

    def restart_due(self) -> None:
        """Start the workers whose backoff is over."""
        now = self._clock()
        for slot in self._slots.values():
            if slot.restart_at is not None and slot.restart_at <= now and not self.stopping:
                slot.restart_at = None
                self._start(slot)

    def signal(self, signum: int) -> None:
        """SIGHUP goes to every worker; SIGTERM or SIGINT stops them all (each lets its
        calls finish up to the grace period) and cancels planned restarts."""
        if signum in (signal.SIGTERM, signal.SIGINT):
            if not self.stopping:
                log.info("stopping %d worker(s)", len(self.live()))
            self.stopping = True
            for slot in self._slots.values():
                slot.restart_at = None
            signum = signal.SIGTERM
        for name, handle in self.live().items():
            try:
                handle.send_signal(signum)
            except ProcessLookupError:  # died just now: reaped on the next look
                log.debug("worker %s is gone already", name)

    def _start(self, slot: _Slot[H]) -> None:
        try:
            slot.handle = self._spawn(slot.name)
        except OSError as exc:  # no fork now (memory, process limit): try again later
            slot.quick_deaths += 1
            delay = self.backoff.delay(slot.quick_deaths)
            slot.restart_at = self._clock() + delay
            log.error("worker %s cannot start (%s); trying again in %.1f s", slot.name, exc, delay)
            return
        slot.started = self._clock()
        log.info("worker %s started (pid %d)", slot.name, slot.handle.pid)
