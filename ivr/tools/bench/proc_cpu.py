"""CPU seconds of processes and their descendants, read from ``/proc/<pid>/stat``.

A worker killed mid-run takes its CPU figure with it, so the figures are sampled
every :data:`SAMPLE_SECONDS` and each process keeps the last value seen while it lived;
a process is known by its pid and start time, so a reused pid is a new process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: How often the sampler reads ``/proc``: the most CPU a killed process can take
#: with it unseen.
SAMPLE_SECONDS = 0.5
_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    """The few fields of ``/proc/<pid>/stat`` the sampler needs."""

    pid: int
    ppid: int
    started: int
    #: User plus system CPU seconds of the process (all its threads).
    cpu: float


def read_stat(pid: int) -> ProcStat | None:
    """One process's figures; None when it is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return ProcStat(pid, int(fields[1]), int(fields[19]), (utime + stime) / _TICKS)


def _all_stats() -> list[ProcStat]:
    stats = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            stats.append(stat)
    return stats


def family(root: int, stats: Iterable[ProcStat]) -> list[ProcStat]:
    """``root`` and every process descended from it, among ``stats``."""
    children: dict[int, list[ProcStat]] = {}
    own: ProcStat | None = None
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat)
        if stat.pid == root:
            own = stat
    if own is None:
        return []
    found, todo = [own], [own.pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return found


@dataclass
class CpuMeter:
    """CPU seconds spent by a process tree since :meth:`start`, sampled in the
    background (see the module's docstring)."""

    roots: dict[str, int]
    _base: dict[tuple[int, int], float] = field(default_factory=dict)
    _last: dict[str, dict[tuple[int, int], float]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        """Read every tree once now."""
        stats = _all_stats()
        for name, root in self.roots.items():
            seen = self._last.setdefault(name, {})
            for stat in family(root, stats):
                seen[(stat.pid, stat.started)] = stat.cpu

    def start(self) -> None:
        """Take the baseline and sample until :meth:`stop`."""
        self.sample()
        self._base = {key: cpu for seen in self._last.values() for key, cpu in seen.items()}
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            await asyncio.to_thread(self.sample)

    async def stop(self) -> dict[str, float]:
        """A last sample; the CPU seconds of each tree since :meth:`start`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sample()
        return {
            name: sum(cpu - self._base.get(key, 0.0) for key, cpu in seen.items())
            for name, seen in self._last.items()
        }

    def processes(self, name: str) -> int:
        """How many processes of a tree were seen."""
        return len(self._last.get(name, {}))
