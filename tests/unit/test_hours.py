"""Queue opening hours: flows/data/jam_layanan.yaml with hari_libur.yaml, time injected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from ivr.domain import hours
from ivr.domain.holidays import Holiday, HolidayCalendar
from ivr.domain.hours import (
    QueueHours,
    QueueStatus,
    ServiceHoursTable,
    is_open,
    next_opening,
    opening_text,
    parse_span,
    queue_status,
)
from ivr.engine.library import load_tables
from ivr.engine.loader import FlowError, load_data_file
from ivr.tables import TABLE_MODELS
from tests.support import REPO

DATA = REPO / "flows" / "data"
TABLE_FILE = DATA / "jam_layanan.yaml"
WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")
OFFICE = "tambah_daya"  # Mon-Fri 08-17, Sat 08-12 WIB, closed on both holiday kinds


def wib(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=WIB)


@pytest.fixture(scope="module")
def queue_hours() -> QueueHours:
    tables, problems = load_tables(DATA, TABLE_MODELS)
    assert problems == []
    return QueueHours.from_tables(tables)


# --- the data files -------------------------------------------------------------------


def test_both_data_files_validate_and_are_registered(queue_hours: QueueHours) -> None:
    assert TABLE_MODELS[hours.TABLE] is ServiceHoursTable
    assert {2026, 2027} <= {h.date.year for h in queue_hours.calendar.holidays}


def test_every_queue_of_the_product_has_hours(queue_hours: QueueHours) -> None:
    conf = (REPO / "asterisk_conf" / "queues.conf").read_text(encoding="utf-8")
    sections = {
        line.strip()[1:].split("]")[0]
        for line in conf.splitlines()
        if line.startswith("[") and "(pln123-queue)" in line
    }
    assert sections <= set(queue_hours.schedule.queues)


@pytest.mark.parametrize("queue", ["periksa", "gangguan", "status"])
def test_the_outage_path_is_open_all_the_time(queue_hours: QueueHours, queue: str) -> None:
    entry = queue_hours.schedule.queues[queue]
    assert entry.always_open


# --- open or closed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (wib(2026, 3, 3, 10), QueueStatus(True)),  # Tuesday morning
        (wib(2026, 3, 3, 7, 59), QueueStatus(False, "jam", wib(2026, 3, 3, 8))),
        (wib(2026, 3, 3, 16, 59), QueueStatus(True)),
        (wib(2026, 3, 3, 17), QueueStatus(False, "jam", wib(2026, 3, 4, 8))),
        (wib(2026, 3, 7, 11, 59), QueueStatus(True)),  # Saturday, half day
        (wib(2026, 3, 7, 12), QueueStatus(False, "jam", wib(2026, 3, 9, 8))),
        (wib(2026, 3, 8, 10), QueueStatus(False, "jam", wib(2026, 3, 9, 8))),  # Sunday
        (wib(2026, 8, 17, 10), QueueStatus(False, "libur", wib(2026, 8, 18, 8))),  # HUT RI
        (wib(2026, 5, 15, 10), QueueStatus(False, "cuti_bersama", wib(2026, 5, 16, 8))),
    ],
)
def test_an_office_hours_queue(
    queue_hours: QueueHours, at: dt.datetime, expected: QueueStatus
) -> None:
    assert queue_hours.status(OFFICE, at) == expected
    assert queue_hours.is_open(OFFICE, at) is expected.open


def test_an_always_open_queue_on_a_holiday_at_three_in_the_morning(
    queue_hours: QueueHours,
) -> None:
    at = wib(2026, 3, 21, 3)  # Idul Fitri
    assert queue_hours.status("periksa", at) == QueueStatus(True)
    assert queue_hours.next_opening("periksa", at) == at
    assert not queue_hours.is_open(OFFICE, at)


def test_the_moment_may_come_in_any_zone(queue_hours: QueueHours) -> None:
    utc = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)  # 08:00 WIB
    assert queue_hours.is_open(OFFICE, utc)
    assert not queue_hours.is_open(OFFICE, utc - dt.timedelta(minutes=1))
    assert queue_hours.is_open(OFFICE, dt.datetime(2026, 3, 3, 18, 59, tzinfo=WIT))
    assert not queue_hours.is_open(OFFICE, dt.datetime(2026, 3, 3, 19, 0, tzinfo=WIT))


def test_a_naive_moment_is_refused(queue_hours: QueueHours) -> None:
    with pytest.raises(ValueError, match="aware"):
        queue_hours.is_open(OFFICE, dt.datetime(2026, 3, 3, 10))


def test_a_queue_missing_from_the_table_is_always_open(queue_hours: QueueHours) -> None:
    at = wib(2026, 3, 21, 3)
    assert queue_hours.status("antrean_baru", at) == QueueStatus(True)
    assert queue_hours.next_opening("antrean_baru", at) == at
    assert queue_hours.out_of_hours("antrean_baru") == hours.OutOfHours()
    assert QueueHours.from_tables({}).is_open(OFFICE, at)


def test_out_of_hours_offers(queue_hours: QueueHours) -> None:
    assert queue_hours.out_of_hours("umum").alternative_queue == "periksa"
    assert queue_hours.out_of_hours(OFFICE).callback


# --- next opening ---------------------------------------------------------------------


def test_next_opening_across_nyepi_idul_fitri_and_cuti_bersama(queue_hours: QueueHours) -> None:
    # Tuesday 17 March 2026 after five: 18 cuti bersama, 19 Nyepi, 20 cuti bersama,
    # 21-22 Idul Fitri (a weekend), 23-24 cuti bersama; open again Wednesday 25th.
    at = wib(2026, 3, 17, 17, 30)
    opening = queue_hours.next_opening(OFFICE, at)
    assert opening == wib(2026, 3, 25, 8)
    assert opening is not None and opening.tzinfo == WIB
    status = queue_hours.status(OFFICE, wib(2026, 3, 23, 9))
    assert status == QueueStatus(False, "cuti_bersama", wib(2026, 3, 25, 8))


def test_a_caller_in_wit_hears_the_opening_in_wit(queue_hours: QueueHours) -> None:
    opening = queue_hours.next_opening(OFFICE, wib(2026, 3, 17, 17, 30))
    assert opening is not None
    text = opening_text(opening, "Asia/Jayapura")
    assert (text.day_name, text.date, text.month_name, text.time, text.zone) == (
        "Rabu",
        dt.date(2026, 3, 25),
        "Maret",
        "10:00",
        "WIT",
    )
    assert text.days_after(wib(2026, 3, 17, 17, 30)) == 8
    same = opening_text(opening, "WIB")
    assert (same.time, same.zone) == ("08:00", "WIB")


def test_an_unknown_caller_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown zone"):
        opening_text(wib(2026, 3, 3, 8), "Asia/Tokyo")


def _table(**queues: dict[str, Any]) -> ServiceHoursTable:
    return ServiceHoursTable.model_validate({"queues": queues})


def _week(**days: list[str]) -> dict[str, list[str]]:
    return {day: days.get(day, []) for day in hours.DAY_KEYS}


def test_a_queue_closed_on_national_holidays_only_opens_on_cuti_bersama(
    queue_hours: QueueHours,
) -> None:
    weekdays = ["08:00-17:00"]
    table = _table(
        q={
            "zone": "WIB",
            "hours": _week(senin=weekdays, selasa=weekdays, rabu=weekdays, kamis=weekdays,
                           jumat=weekdays),
            "closed_on_holidays": True,
            "holiday_kinds": ["libur_nasional"],
        }
    )  # fmt: skip
    calendar = queue_hours.calendar
    assert is_open(table, calendar, "q", wib(2026, 5, 15, 10))  # cuti bersama
    status = queue_status(table, calendar, "q", wib(2026, 5, 14, 10))  # Kenaikan
    assert status == QueueStatus(False, "libur", wib(2026, 5, 15, 8))


def test_a_night_shift_runs_through_midnight() -> None:
    table = _table(
        q={"zone": "WITA", "hours": _week(senin=["22:00-24:00"], selasa=["00:00-06:00"])}
    )
    empty = HolidayCalendar(source="-", holidays=[])
    wita = ZoneInfo("Asia/Makassar")
    assert is_open(table, empty, "q", dt.datetime(2026, 3, 2, 23, 59, tzinfo=wita))
    assert is_open(table, empty, "q", dt.datetime(2026, 3, 3, 0, 30, tzinfo=wita))
    assert not is_open(table, empty, "q", dt.datetime(2026, 3, 3, 6, 0, tzinfo=wita))
    # 21:30 WIB is 22:30 WITA: the zone of the table counts, not the moment's.
    assert is_open(table, empty, "q", wib(2026, 3, 2, 21, 30))
    opening = next_opening(table, empty, "q", dt.datetime(2026, 3, 3, 6, 0, tzinfo=wita))
    assert opening == dt.datetime(2026, 3, 9, 22, 0, tzinfo=wita)


def test_next_opening_gives_up_after_two_weeks() -> None:
    table = _table(
        q={"zone": "WIB", "hours": _week(senin=["08:00-17:00"]), "closed_on_holidays": True}
    )
    mondays = [dt.date(2026, 3, 2) + dt.timedelta(weeks=n) for n in range(3)]
    calendar = HolidayCalendar(
        source="-",
        holidays=[Holiday(date=day, name="x", kind="libur_nasional") for day in mondays],
    )
    assert next_opening(table, calendar, "q", wib(2026, 3, 1, 10)) is None
    assert queue_status(table, calendar, "q", wib(2026, 3, 1, 10)) == QueueStatus(False, "jam")


# --- refused entries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("08:00-17:00", 480, 1020), ("00:00-24:00", 0, 1440), ("22:00-24:00", 1320, 1440)],
)
def test_spans(text: str, start: int, end: int) -> None:
    span = parse_span(text)
    assert (span.start, span.end, str(span)) == (start, end, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8:00-17:00", "not HH:MM-HH:MM"),
        ("08.00-17.00", "not HH:MM-HH:MM"),
        ("17:00-08:00", "start must be before the end"),
        ("08:00-08:00", "start must be before the end"),
        ("08:00-24:30", "not a time of day"),
        ("08:60-17:00", "not a time of day"),
        ("24:00-24:00", "cannot start at 24:00"),
    ],
)
def test_bad_spans_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_span(text)


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = TABLE_FILE.read_text(encoding="utf-8")
    assert old in text
    file = tmp_path / TABLE_FILE.name
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return file


def test_a_bad_span_in_the_file_is_refused_with_file_and_line(tmp_path: Path) -> None:
    file = _broken(tmp_path, 'selasa: ["08:00-17:00"]', 'selasa: ["17:00-08:00"]')
    with pytest.raises(FlowError) as caught:
        load_data_file(file, ServiceHoursTable)
    [problem] = caught.value.problems
    line = next(
        number
        for number, row in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        if "17:00-08:00" in row
    )
    assert (problem.file, problem.line) == (file, line)
    assert "queues.umum.hours.selasa.0" in problem.message
    assert "start must be before the end" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    zone: WIB\n    hours:", "    zone: WITB\n    hours:", "'WIB', 'WITA' or 'WIT'"),
        ("closed_on_holidays: true", "tutup_hari_libur: true", "unknown field"),
        ("      minggu: []\n", "", "missing: minggu"),
        ('jumat: ["08:00-17:00"]', 'jumat: ["08:00-12:00", "11:00-17:00"]', "overlap"),
        ('jumat: ["08:00-17:00"]', 'jumaat: ["08:00-17:00"]', "jumaat"),
        ("alternative_queue: periksa", "alternative_queue: umum", "is the queue itself"),
        (
            "    zone: WIB\n    always_open: true\n",
            '    zone: WIB\n    always_open: true\n    hours: {senin: ["08:00-17:00"]}\n',
            "always_open queue has no hours",
        ),
    ],
)
def test_invalid_entries_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    file = _broken(tmp_path, old, new)
    with pytest.raises(FlowError, match=message):
        load_data_file(file, ServiceHoursTable)


def test_a_queue_that_never_opens_is_refused() -> None:
    with pytest.raises(ValidationError, match="never open"):
        _table(q={"zone": "WIB", "hours": _week()})


def test_the_table_round_trips() -> None:
    data = yaml.safe_load(TABLE_FILE.read_text(encoding="utf-8"))
    table = ServiceHoursTable.model_validate(data)
    assert ServiceHoursTable.model_validate(table.model_dump()) == table
    assert table.model_dump()["queues"]["umum"]["hours"]["sabtu"] == ["08:00-12:00"]
