"""Indonesia's holiday calendar: hari libur nasional and cuti bersama, as data.

The dates come from ``flows/data/hari_libur.yaml``, which ops keep in step with the
government's yearly SKB 3 Menteri (Menteri Agama, Menteri Ketenagakerjaan, Menteri
PANRB). The lunar holidays (Idul Fitri, Idul Adha, Nyepi, Waisak, Imlek...) move every
year and are only fixed by that decree, so no rule here computes them: a year that is
missing from the file is a year in which every day counts as a working day, and
:func:`coverage_warnings` says so for ``pln123 flows check``.

Two kinds, because a queue may close on one and not on the other:

* ``libur_nasional``: a national public holiday (tanggal merah);
* ``cuti_bersama``: a collective leave day the SKB adds next to a holiday (bridging to
  a weekend); government offices close, many businesses do too.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

TABLE = "hari_libur"

HolidayKind = Literal["libur_nasional", "cuti_bersama"]
LIBUR_NASIONAL: HolidayKind = "libur_nasional"
CUTI_BERSAMA: HolidayKind = "cuti_bersama"
HOLIDAY_KINDS: tuple[HolidayKind, ...] = (LIBUR_NASIONAL, CUTI_BERSAMA)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Holiday(_Strict):
    """One day off: a national holiday or a cuti bersama day."""

    date: dt.date
    #: In Indonesian, as the SKB writes it ("Idul Fitri 1447 Hijriah").
    name: str = Field(min_length=1)
    kind: HolidayKind
    #: True while the date is a computation, not yet fixed by the year's SKB.
    provisional: bool = False


class HolidayCalendar(_Strict):
    """``flows/data/hari_libur.yaml``."""

    #: Where the dates come from (the SKB and its number, or how they were computed).
    source: str = Field(min_length=1)
    holidays: list[Holiday]

    _by_date: dict[dt.date, Holiday] = PrivateAttr(default_factory=dict)

    @field_validator("holidays")
    @classmethod
    def _one_entry_a_day(cls, holidays: list[Holiday]) -> list[Holiday]:
        # Two holidays on one day are one entry ("Nyepi dan ..."): a second entry for
        # the same date would make the day's kind ambiguous.
        seen: dict[dt.date, Holiday] = {}
        for holiday in holidays:
            first = seen.setdefault(holiday.date, holiday)
            if first is not holiday:
                raise ValueError(
                    f"date {holiday.date.isoformat()} given twice ({first.name!r} and "
                    f"{holiday.name!r}); one entry a day, join the names if both fall on it"
                )
        return holidays

    def model_post_init(self, context: object, /) -> None:
        self._by_date = {holiday.date: holiday for holiday in self.holidays}

    def on(self, day: dt.date) -> Holiday | None:
        """The holiday on ``day``, or None for a working day (or a plain weekend)."""
        return self._by_date.get(day)


def holiday_on(calendar: HolidayCalendar, day: dt.date) -> Holiday | None:
    """The holiday on ``day`` (a local date), or None."""
    return calendar.on(day)


def years_covered(calendar: HolidayCalendar) -> set[int]:
    """The years with at least one entry."""
    return {holiday.date.year for holiday in calendar.holidays}


def coverage_warnings(calendar: HolidayCalendar, today: dt.date) -> list[str]:
    """What ops should fix in ``hari_libur.yaml``, as of ``today``; empty when nothing.

    Warns when this year or next year has no entries at all (every day of it would be
    a working day) and when such a year has no cuti bersama (the SKB sets some every
    year; they are left out until it is published rather than guessed, because a wrong
    guess would close queues on a working day).
    """
    warnings: list[str] = []
    covered = years_covered(calendar)
    for year in (today.year, today.year + 1):
        if year not in covered:
            warnings.append(
                f"{TABLE}: no holidays for {year}: every day of {year} counts as a "
                f"working day; add the year from the SKB 3 Menteri"
            )
        elif not any(h.kind == CUTI_BERSAMA and h.date.year == year for h in calendar.holidays):
            warnings.append(
                f"{TABLE}: no cuti bersama for {year}: add them once the SKB 3 Menteri "
                f"for {year} is out"
            )
    return warnings
