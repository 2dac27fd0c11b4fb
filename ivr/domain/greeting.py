"""Salam by the caller's local time: pagi, siang, sore, malam."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

PERIODS = ("pagi", "siang", "sore", "malam")


def greeting_period(hour: int, starts: dict[str, int]) -> str:
    """The period an hour (0-23) falls in, given each period's starting hour.

    Hours before the first start belong to the last period (after midnight it is
    still ``malam`` until ``pagi`` begins).
    """
    if not 0 <= hour <= 23:
        raise ValueError(f"hour out of range: {hour}")
    current = PERIODS[-1]
    for period in PERIODS:
        if hour >= starts[period]:
            current = period
    return current


def local_period(now: datetime, timezone: str, starts: dict[str, int]) -> str:
    """The greeting period at ``now`` in ``timezone`` (WIB, WITA or WIT zone name)."""
    return greeting_period(now.astimezone(ZoneInfo(timezone)).hour, starts)
