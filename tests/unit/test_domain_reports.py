"""Report numbers (G/K + 13 digits) and CTT tokens (20 digits)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ivr.domain.reports import (
    MAX_SEQUENCE,
    PREFIXES,
    CttTokenError,
    ReportNumberError,
    ctt_groups,
    decode_report_number,
    digits_for_speech,
    format_report_number,
    is_ctt_token,
    is_report_number,
    parse_ctt_token,
    parse_report_number,
)

# --- report numbers -------------------------------------------------------------------


def wide(text: str) -> str:
    """Full-width digits (U+FF10..U+FF19): ``str.isdigit()`` is True, yet no ASCII digit."""
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in text)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("G2611230000012", "G2611230000012"),
        ("K2611230000012", "K2611230000012"),
        ("g2611230000012", "G2611230000012"),
        ("k 2611 2300 0001 2", "K2611230000012"),
        ("G 261123 0000012", "G2611230000012"),
        ("  G2611230000012\n", "G2611230000012"),
        ("G-2611-2300-0001-2", "G2611230000012"),
        ("G0000000000000", "G0000000000000"),
    ],
)
def test_parse_report_number(text: str, canonical: str) -> None:
    assert parse_report_number(text) == canonical
    assert is_report_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "G",
        "2611230000012",  # no letter
        "G261123000001",  # 12 digits (the SOP's placeholder length)
        "G26112300000123",  # 14 digits
        "A2611230000012",
        "GG2611230000012",
        "2611230000012G",
        "G2611230000O12",  # letter O
        "G2611230000012.",
        "G_2611230000012",
        wide("G2611230000012"),
    ],
)
def test_not_report_numbers(text: str) -> None:
    assert not is_report_number(text)
    with pytest.raises(ReportNumberError):
        parse_report_number(text)


@pytest.mark.parametrize(
    ("prefix", "sequence", "day", "number"),
    [
        ("G", 12, date(2026, 11, 23), "G2611230000012"),
        ("K", 1, date(2024, 1, 5), "K2401050000001"),
        ("G", MAX_SEQUENCE, date(2099, 12, 31), "G9912319999999"),
        ("G", 1234567, date(2000, 2, 29), "G0002291234567"),
        ("G", 5, datetime(2026, 11, 23, 23, 59), "G2611230000005"),
    ],
)
def test_format_report_number(prefix: str, sequence: int, day: date, number: str) -> None:
    made = format_report_number(prefix, sequence, day)
    assert made == number
    assert is_report_number(made)
    assert decode_report_number(made) == (prefix, date(day.year, day.month, day.day), sequence)


def test_numbers_are_unique_per_prefix_day_and_sequence() -> None:
    days = [date(2026, 1, 1), date(2026, 1, 2), date(2027, 1, 1)]
    made = {
        format_report_number(prefix, sequence, day)
        for prefix in PREFIXES
        for sequence in (1, 2, 10, MAX_SEQUENCE)
        for day in days
    }
    assert len(made) == len(PREFIXES) * 4 * len(days)


def test_numbers_sort_by_day_then_sequence() -> None:
    made = [
        format_report_number("G", 9, date(2026, 1, 1)),
        format_report_number("G", 10, date(2026, 1, 1)),
        format_report_number("G", 1, date(2026, 1, 2)),
        format_report_number("G", 1, date(2026, 10, 1)),
    ]
    assert made == sorted(made)


@pytest.mark.parametrize(
    ("prefix", "sequence"),
    [
        ("X", 1),
        ("", 1),
        ("GK", 1),
        ("g", 1),
        ("G", 0),
        ("G", -1),
        ("G", MAX_SEQUENCE + 1),
        ("G", True),
    ],
)
def test_format_report_number_refused(prefix: str, sequence: int) -> None:
    with pytest.raises(ReportNumberError):
        format_report_number(prefix, sequence, date(2026, 1, 1))


@pytest.mark.parametrize(
    "number",
    [
        "G2613010000001",  # month 13
        "G2602300000001",  # 30 February
        "G2600000000001",  # month 0
        "G2601010000000",  # sequence 0
        "G261301",
    ],
)
def test_decode_refused(number: str) -> None:
    with pytest.raises(ReportNumberError):
        decode_report_number(number)


@pytest.mark.parametrize(
    ("number", "groups"),
    [
        ("G2611230000012", ["G", "2611", "2300", "0001", "2"]),
        ("k 2401 0500 0000 1", ["K", "2401", "0500", "0000", "1"]),
        ("G9912319999999", ["G", "9912", "3199", "9999", "9"]),
    ],
)
def test_digits_for_speech(number: str, groups: list[str]) -> None:
    assert digits_for_speech(number) == groups
    assert "".join(groups) == parse_report_number(number)


def test_digits_for_speech_refuses_bad_numbers() -> None:
    with pytest.raises(ReportNumberError):
        digits_for_speech("G123")


# --- CTT tokens -----------------------------------------------------------------------

TOKEN = "12345678901234567890"


@pytest.mark.parametrize(
    "text",
    [
        TOKEN,
        "1234 5678 9012 3456 7890",
        "1234-5678-9012-3456-7890",
        " 1234 5678 9012 3456 7890 ",
    ],
)
def test_ctt_token_forms(text: str) -> None:
    assert is_ctt_token(text)
    assert parse_ctt_token(text) == TOKEN
    assert ctt_groups(text) == ["1234", "5678", "9012", "3456", "7890"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1234567890123456789",  # 19
        "123456789012345678901",  # 21
        "1234 5678 9012 3456 789O",
        "1234.5678.9012.3456.7890",
        "G2611230000012",
        wide("12345678901234567890"),
    ],
)
def test_not_ctt_tokens(text: str) -> None:
    assert not is_ctt_token(text)
    with pytest.raises(CttTokenError):
        ctt_groups(text)


def test_ctt_error_does_not_repeat_the_token() -> None:
    with pytest.raises(CttTokenError) as raised:
        parse_ctt_token("1234567890123456789")
    assert "1234567890123456789" not in str(raised.value)
