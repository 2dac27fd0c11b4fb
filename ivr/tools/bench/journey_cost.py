"""``pln123 bench agi --without-journeys``: what recording a call's journey costs.

Two more servers join the run: the IVR, and the same IVR with its node exits switched
off (:func:`switch_journeys_off`: no journey record, no row in the store, no node-exit
metric; everything else the same), each on a store of its own. Each round, after the
IVR and the bare handler have taken their turns as usual, a paired round deals the
calls to the two in turn, both serving at once, so they count their CPU over the same
seconds of the same machine and a slow spell of a shared host falls on both alike.

The pair is started afresh every round: two processes of the same code differ in CPU
per call by up to several per cent for as long as they live (memory layout, hash
seeds; the same IVR against itself read +0.17 ratio points in one run and 0.00 in the
next). Restarted, that difference is a round's noise, seen in the spread, and the mean
over rounds settles. The cost is read per round as ratio points, ``(IVR - IVR without
journeys) / bare``, with the bare handler's figure of the same round.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import mean
from typing import Any

#: The benchmark server kind of the IVR without journeys.
KIND = "ivr-no-journeys"
#: The most the journeys may move the CPU-per-call ratio (issue 14).
TARGET_RATIO_POINTS = 0.05


def switch_journeys_off() -> None:
    """Make every node exit a no-op in this process (a benchmark server's only)."""
    from ivr.engine import interpreter

    def no_exit(*args: Any, **kwargs: Any) -> None:
        return None

    # The bench's switch, in its own server process only.
    interpreter._left = no_exit


def cost_lines(ivr: Sequence[float], without: Sequence[float], bare: Sequence[float]) -> list[str]:
    """The journeys' cost, round by round and overall, from each side's CPU seconds
    per call in each round (the same number of rounds on every side)."""
    points = [(on - off) / floor for on, off, floor in zip(ivr, without, bare, strict=True)]
    overall = (sum(ivr) - sum(without)) / sum(bare)
    each = ", ".join(f"{p:+.3f}" for p in points)
    per_call_us = (mean(ivr) - mean(without)) * 1e6
    verdict = "PASS" if overall <= TARGET_RATIO_POINTS else "FAIL"
    return [
        f"journeys: {per_call_us:+.0f} us CPU per call; {overall:+.3f} of the ratio"
        f" (rounds: {each}; spread {max(points) - min(points):.3f})",
        f"{verdict}  journeys move the CPU per call ratio by <= {TARGET_RATIO_POINTS}"
        f" ({overall:+.3f})",
    ]
