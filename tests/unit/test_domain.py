"""PLN facts: the greeting period by local time, greeting hours, caller ID."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ivr.config import GreetingHours, Settings
from ivr.domain.callerid import MOBILE, PSTN, UNKNOWN, caller_class, mask, national
from ivr.domain.greeting import PERIODS, greeting_period, local_period

STARTS = GreetingHours().model_dump()
WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"

# --- greeting period ------------------------------------------------------------------


def test_default_starts() -> None:
    assert STARTS == {"pagi": 4, "siang": 11, "sore": 15, "malam": 18}
    assert PERIODS == ("pagi", "siang", "sore", "malam")


@pytest.mark.parametrize(
    ("hhmm", "period"),
    [
        ("00:00", "malam"),
        ("03:59", "malam"),
        ("04:00", "pagi"),
        ("10:59", "pagi"),
        ("11:00", "siang"),
        ("14:59", "siang"),
        ("15:00", "sore"),
        ("17:59", "sore"),
        ("18:00", "malam"),
        ("23:59", "malam"),
    ],
)
def test_boundaries_in_local_time(hhmm: str, period: str) -> None:
    hour, minute = (int(part) for part in hhmm.split(":"))
    now = datetime(2024, 6, 1, hour, minute, tzinfo=ZoneInfo(WIB))
    assert local_period(now, WIB, STARTS) == period
    assert greeting_period(hour, STARTS) == period


def test_every_hour_has_exactly_one_period() -> None:
    periods = [greeting_period(hour, STARTS) for hour in range(24)]
    assert periods == ["malam"] * 4 + ["pagi"] * 7 + ["siang"] * 4 + ["sore"] * 3 + ["malam"] * 6


@pytest.mark.parametrize("hour", [-1, 24, 99])
def test_hour_out_of_range(hour: int) -> None:
    with pytest.raises(ValueError, match=f"hour out of range: {hour}"):
        greeting_period(hour, STARTS)


def test_custom_starts() -> None:
    starts = {"pagi": 5, "siang": 10, "sore": 14, "malam": 19}
    assert greeting_period(4, starts) == "malam"
    assert greeting_period(5, starts) == "pagi"
    assert greeting_period(10, starts) == "siang"
    assert greeting_period(18, starts) == "sore"
    assert greeting_period(19, starts) == "malam"


@pytest.mark.parametrize(
    ("utc", "wib", "wita", "wit"),
    [
        # UTC time -> period in WIB (+7), WITA (+8), WIT (+9).
        ("20:30", "malam", "pagi", "pagi"),  # 03:30, 04:30, 05:30
        ("03:30", "pagi", "siang", "siang"),  # 10:30, 11:30, 12:30
        ("07:30", "siang", "sore", "sore"),  # 14:30, 15:30, 16:30
        ("10:30", "sore", "malam", "malam"),  # 17:30, 18:30, 19:30
        ("08:00", "sore", "sore", "sore"),  # 15:00, 16:00, 17:00
        ("09:00", "sore", "sore", "malam"),  # 16:00, 17:00, 18:00
    ],
)
def test_local_period_by_zone(utc: str, wib: str, wita: str, wit: str) -> None:
    hour, minute = (int(part) for part in utc.split(":"))
    now = datetime(2024, 6, 1, hour, minute, tzinfo=UTC)
    assert local_period(now, WIB, STARTS) == wib
    assert local_period(now, WITA, STARTS) == wita
    assert local_period(now, WIT, STARTS) == wit


def test_local_period_converts_from_any_zone() -> None:
    # 18:00 in Jayapura is 16:00 in Jakarta: malam there, still sore here.
    now = datetime(2024, 6, 1, 18, 0, tzinfo=ZoneInfo(WIT))
    assert local_period(now, WIT, STARTS) == "malam"
    assert local_period(now, WIB, STARTS) == "sore"


# --- greeting hours in the settings -----------------------------------------------------


def test_greeting_hours_in_order_are_accepted() -> None:
    hours = GreetingHours(pagi=5, siang=10, sore=14, malam=19)
    assert hours.model_dump() == {"pagi": 5, "siang": 10, "sore": 14, "malam": 19}


@pytest.mark.parametrize(
    "hours",
    [
        {"pagi": 12, "siang": 11, "sore": 15, "malam": 18},
        {"pagi": 4, "siang": 16, "sore": 15, "malam": 18},
        {"pagi": 4, "siang": 11, "sore": 15, "malam": 3},
    ],
)
def test_greeting_hours_out_of_order_are_refused(hours: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match="greeting hours must rise"):
        GreetingHours(**hours)


@pytest.mark.parametrize("hours", [{"pagi": 24}, {"malam": -1}])
def test_greeting_hours_out_of_range(hours: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        GreetingHours(**hours)


def test_greeting_hours_out_of_order_without_malam_are_refused() -> None:
    with pytest.raises(ValidationError, match="greeting hours must rise"):
        GreetingHours(pagi=12)


def test_greeting_hours_equal_are_refused() -> None:
    with pytest.raises(ValidationError, match="greeting hours must rise"):
        GreetingHours(pagi=4, siang=15, sore=15, malam=18)


def test_greeting_hours_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLN123_CONFIG", "")
    monkeypatch.setenv("PLN123_GREETING_HOURS__PAGI", "5")
    monkeypatch.setenv("PLN123_GREETING_HOURS__MALAM", "19")
    assert Settings().greeting_hours.model_dump() == {
        "pagi": 5,
        "siang": 11,
        "sore": 15,
        "malam": 19,
    }
    monkeypatch.setenv("PLN123_GREETING_HOURS__MALAM", "10")
    with pytest.raises(ValidationError, match="greeting hours must rise"):
        Settings()


# --- caller ID --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+6281234567890", "081234567890"),
        ("6281234567890", "081234567890"),
        ("081234567890", "081234567890"),
        ("81234567890", "081234567890"),
        ("+62 812-3456-7890", "081234567890"),
        ("(021) 555-1234", "0215551234"),
        ("+62215551234", "0215551234"),
        ("", ""),
        ("anonymous", ""),
    ],
)
def test_national(raw: str, expected: str) -> None:
    assert national(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("081234567890", MOBILE),
        ("+6281234567890", MOBILE),
        ("81234567890", MOBILE),
        ("0215551234", PSTN),
        ("+62215551234", PSTN),
        ("0361234567", PSTN),
        ("", UNKNOWN),
        ("anonymous", UNKNOWN),
        ("12345", UNKNOWN),
        ("1001", UNKNOWN),
        ("0812345", UNKNOWN),  # 7 digits: too short for a mobile (10-13)
    ],
)
def test_caller_class(raw: str, expected: str) -> None:
    assert caller_class(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("081234567890", "*********890"),
        ("+6281234567890", "**********890"),
        ("+62 812-3456-7890", "**********890"),
        ("512345678901", "*********901"),
        ("1234", "*234"),
        ("123", "***"),
        ("12", "**"),
        ("", ""),
        ("anonymous", ""),
    ],
)
def test_mask(raw: str, expected: str) -> None:
    assert mask(raw) == expected
