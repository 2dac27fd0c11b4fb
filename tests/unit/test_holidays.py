"""The holiday calendar: flows/data/hari_libur.yaml and the rules that read it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.domain import holidays
from ivr.domain.holidays import (
    Holiday,
    HolidayCalendar,
    coverage_warnings,
    holiday_on,
    years_covered,
)
from ivr.engine.library import load_tables
from ivr.engine.loader import FlowError, load_data_file
from ivr.tables import TABLE_MODELS
from tests.support import REPO

TABLE_FILE = REPO / "flows" / "data" / "hari_libur.yaml"


@pytest.fixture(scope="module")
def calendar() -> HolidayCalendar:
    return load_data_file(TABLE_FILE, HolidayCalendar)


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = TABLE_FILE.read_text(encoding="utf-8")
    assert old in text
    file = tmp_path / TABLE_FILE.name
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return file


def test_the_table_is_registered_and_covers_2026_and_2027(calendar: HolidayCalendar) -> None:
    assert TABLE_MODELS[holidays.TABLE] is HolidayCalendar
    assert {2026, 2027} <= years_covered(calendar)


def test_2026_follows_the_skb_17_holidays_and_8_cuti_bersama(calendar: HolidayCalendar) -> None:
    of_2026 = [h for h in calendar.holidays if h.date.year == 2026]
    kinds = [h.kind for h in of_2026]
    assert (kinds.count("libur_nasional"), kinds.count("cuti_bersama")) == (17, 8)
    assert not any(h.provisional for h in of_2026)
    assert "1497 Tahun 2025" in calendar.source


@pytest.mark.parametrize(
    ("day", "kind", "name_part"),
    [
        (dt.date(2026, 3, 21), "libur_nasional", "Idul Fitri 1447"),
        (dt.date(2026, 3, 23), "cuti_bersama", "Idul Fitri"),
        (dt.date(2026, 8, 17), "libur_nasional", "Kemerdekaan"),
        (dt.date(2026, 12, 24), "cuti_bersama", "Kelahiran Yesus Kristus"),
        (dt.date(2027, 3, 26), "libur_nasional", "Wafat Yesus Kristus"),
        (dt.date(2027, 5, 6), "libur_nasional", "Kenaikan Yesus Kristus"),
    ],
)
def test_holiday_on(calendar: HolidayCalendar, day: dt.date, kind: str, name_part: str) -> None:
    found = holiday_on(calendar, day)
    assert found is not None
    assert found.kind == kind
    assert name_part in found.name


def test_a_working_day_has_no_holiday(calendar: HolidayCalendar) -> None:
    assert holiday_on(calendar, dt.date(2026, 3, 25)) is None


def test_2027_fixed_dates_are_exact_and_lunar_ones_provisional(
    calendar: HolidayCalendar,
) -> None:
    fixed = {(1, 1), (5, 1), (6, 1), (8, 17), (12, 25)}
    of_2027 = {h.date: h for h in calendar.holidays if h.date.year == 2027}
    for month, day in fixed:
        holiday = of_2027[dt.date(2027, month, day)]
        assert holiday.kind == "libur_nasional" and not holiday.provisional
    idul_fitri = [h for h in of_2027.values() if "Idul Fitri" in h.name]
    assert idul_fitri and all(h.provisional for h in idul_fitri)


def test_a_date_given_twice_is_refused(tmp_path: Path) -> None:
    file = _broken(tmp_path, 'date: "2026-01-16"', 'date: "2026-01-01"')
    with pytest.raises(FlowError, match="date 2026-01-01 given twice"):
        load_data_file(file, HolidayCalendar)


def test_an_unknown_kind_is_refused_with_its_line(tmp_path: Path) -> None:
    file = _broken(
        tmp_path,
        "kind: libur_nasional, name: Hari Buruh",
        "kind: libur_daerah, name: Hari Buruh",
    )
    tables, problems = load_tables(tmp_path, TABLE_MODELS)
    assert tables == {}
    [problem] = problems
    line = next(
        number
        for number, row in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        if "libur_daerah" in row
    )
    assert (problem.file, problem.line) == (file, line)
    assert "kind" in problem.message and "libur_nasional" in problem.message


def test_an_impossible_date_is_refused(tmp_path: Path) -> None:
    file = _broken(tmp_path, 'date: "2026-05-31"', 'date: "2026-02-30"')
    with pytest.raises(FlowError, match="date"):
        load_data_file(file, HolidayCalendar)


def test_an_unquoted_impossible_date_is_refused_with_its_line(tmp_path: Path) -> None:
    file = _broken(tmp_path, 'date: "2026-05-31"', "date: 2026-02-30")
    tables, problems = load_tables(tmp_path, TABLE_MODELS)
    assert tables == {}
    line = next(
        number
        for number, row in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        if "2026-02-30" in row
    )
    assert [(problem.file, problem.line) for problem in problems][:1] == [(file, line)]
    assert "2026-02-30" in problems[0].message and "not a valid value" in problems[0].message


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    file = _broken(tmp_path, "kind: cuti_bersama, name:", "jenis: cuti_bersama, name:")
    with pytest.raises(FlowError, match="unknown field"):
        load_data_file(file, HolidayCalendar)


def _calendar(*days: tuple[dt.date, str]) -> HolidayCalendar:
    return HolidayCalendar(
        source="test",
        holidays=[Holiday(date=day, name="x", kind=kind) for day, kind in days],
    )


def test_no_warning_when_this_and_next_year_are_there(calendar: HolidayCalendar) -> None:
    assert coverage_warnings(calendar, dt.date(2026, 6, 1)) == [
        "hari_libur: no cuti bersama for 2027: add them once the SKB 3 Menteri for 2027 is out"
    ]
    full = _calendar((dt.date(2026, 3, 23), "cuti_bersama"), (dt.date(2027, 1, 4), "cuti_bersama"))
    assert coverage_warnings(full, dt.date(2026, 6, 1)) == []


def test_a_missing_year_is_warned_about(calendar: HolidayCalendar) -> None:
    warnings = coverage_warnings(calendar, dt.date(2027, 10, 1))
    assert any("no holidays for 2028" in warning for warning in warnings)
    assert not any("2026" in warning for warning in warnings)
