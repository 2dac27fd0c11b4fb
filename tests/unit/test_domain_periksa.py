"""The SOP's APKT texts, WO types and notes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.domain.periksa import (
    BAPAK,
    BAPAK_IBU,
    CONTACT_CHANNELS,
    IBU,
    PROBLEM_BLANK_DISPLAY,
    PROBLEM_GUIDED,
    PROBLEM_NO_IDPEL,
    PROBLEM_NOT_GUIDED,
    PROBLEM_TYPE_ONE_HOUSE,
    TMP_HOURS,
    WO_AUTODISPATCH,
    WO_KWH_PERIKSA,
    WO_TYPES,
    TimeOfDayError,
    confirmation_note,
    confirmation_time,
    contact_note,
    estimated_completion,
    parse_hhmm,
    salutation_for,
)

SOP = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_7c50983ccb3faabd.txt"


def test_sop_texts_exact() -> None:
    assert PROBLEM_BLANK_DISPLAY == (
        "1 RUMAH PADAM (LAYAR APP BLANK/GELAP, SEBELUMNYA TERTERA PERIKSA)"
    )
    assert PROBLEM_NOT_GUIDED == (
        "1 RUMAH PADAM (DISPLAY PADA APP TERTERA PERIKSA, PELANGGAN TIDAK BERSEDIA DIPANDU)"
    )
    assert WO_AUTODISPATCH == "WO Autodispatch"
    assert WO_KWH_PERIKSA == "KWH PERIKSA"
    assert WO_TYPES == (WO_AUTODISPATCH, WO_KWH_PERIKSA)
    assert PROBLEM_TYPE_ONE_HOUSE == "Tetangga Tidak Turut Padam"
    assert TMP_HOURS == 3


@pytest.mark.skipif(not SOP.exists(), reason="the SOP seed is beside the repository")
@pytest.mark.parametrize(
    "text",
    [
        PROBLEM_BLANK_DISPLAY,
        PROBLEM_NOT_GUIDED,
        WO_AUTODISPATCH,
        WO_KWH_PERIKSA,
        PROBLEM_TYPE_ONE_HOUSE,
        "Pelanggan dapat dihubungi via Telepon, WA & SMS",
        "Pelanggan dapat dihubungi via Telepon & SMS",
        "Pelanggan dapat dihubungi via WA & SMS",
        "Penelepon minta dikonfirmasi pukul",
        "karena baru ada dilokasi",
    ],
)
def test_sop_texts_are_in_the_sop(text: str) -> None:
    assert text in SOP.read_text(encoding="utf-8")


def test_our_texts_are_distinct_and_upper_case() -> None:
    ours = [PROBLEM_GUIDED, PROBLEM_NO_IDPEL]
    problems = [PROBLEM_BLANK_DISPLAY, PROBLEM_NOT_GUIDED, *ours]
    assert len(set(problems)) == len(problems)
    assert all(text == text.upper() and "PERIKSA" in text for text in problems)


# --- contact note ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "note"),
    [
        ("telepon_wa_sms", "Pelanggan dapat dihubungi via Telepon, WA & SMS"),
        ("telepon_sms", "Pelanggan dapat dihubungi via Telepon & SMS"),
        ("wa_sms", "Pelanggan dapat dihubungi via WA & SMS"),
    ],
)
def test_contact_note(channels: str, note: str) -> None:
    assert contact_note(channels) == note


def test_contact_channels() -> None:
    assert CONTACT_CHANNELS == ("telepon_wa_sms", "telepon_sms", "wa_sms")


@pytest.mark.parametrize("channels", ["", "wa", "telepon", "TELEPON_SMS", "sms_wa", " wa_sms"])
def test_contact_note_refused(channels: str) -> None:
    with pytest.raises(ValueError, match="contact channels must be one of"):
        contact_note(channels)


# --- confirmation time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hhmm"),
    [
        ("0000", "00:00"),
        ("0930", "09:30"),
        ("09:30", "09:30"),
        ("1200", "12:00"),
        ("2359", "23:59"),
        (" 1830 ", "18:30"),
    ],
)
def test_parse_hhmm(text: str, hhmm: str) -> None:
    assert parse_hhmm(text) == hhmm


@pytest.mark.parametrize(
    "text",
    ["", "930", "9:30", "12345", "2400", "2360", "9999", "12:3", "ab:cd", "12.30", "1 30", "-100"],
)
def test_parse_hhmm_refused(text: str) -> None:
    with pytest.raises(TimeOfDayError):
        parse_hhmm(text)
    with pytest.raises(ValueError):
        confirmation_note(text)


def test_confirmation_note_sop_wording() -> None:
    assert confirmation_note("1930") == (
        "Penelepon minta dikonfirmasi pukul 19:30, karena baru ada dilokasi"
    )


JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("now", "hhmm", "expected"),
    [
        (datetime(2026, 3, 1, 10, 0), "1930", datetime(2026, 3, 1, 19, 30)),
        (datetime(2026, 3, 1, 20, 0), "1930", datetime(2026, 3, 2, 19, 30)),
        (datetime(2026, 3, 1, 19, 30), "1930", datetime(2026, 3, 2, 19, 30)),
        (datetime(2026, 3, 1, 19, 29, 59), "1930", datetime(2026, 3, 1, 19, 30)),
        (datetime(2026, 12, 31, 23, 0), "0000", datetime(2027, 1, 1, 0, 0)),
    ],
)
def test_confirmation_time(now: datetime, hhmm: str, expected: datetime) -> None:
    at = confirmation_time(hhmm, now.replace(tzinfo=JAKARTA))
    assert at == expected.replace(tzinfo=JAKARTA)
    assert at.tzinfo is JAKARTA


def test_estimated_completion() -> None:
    reported = datetime(2026, 3, 1, 22, 15, tzinfo=JAKARTA)
    assert estimated_completion(reported) == reported + timedelta(hours=3)


# --- salutation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "salutation"),
    [
        ("L", BAPAK),
        ("l", BAPAK),
        ("Laki-laki", BAPAK),
        ("pria", BAPAK),
        ("M", BAPAK),
        ("male", BAPAK),
        ("P", IBU),
        ("Perempuan", IBU),
        ("wanita", IBU),
        ("F", IBU),
        ("Bapak Budi", BAPAK),
        ("Bpk. Budi", BAPAK),
        ("Pak Budi", BAPAK),
        ("Ibu Sari", IBU),
        ("Bu Sari", IBU),
        ("Ny. Ani", IBU),
        ("ibu", IBU),
        ("bapak", BAPAK),
        # Never guessed from a name or an initial.
        ("Budi Santoso", BAPAK_IBU),
        ("Sari", BAPAK_IBU),
        ("M. Rizki", BAPAK_IBU),
        ("F. Sari", BAPAK_IBU),
        ("Pakpahan", BAPAK_IBU),
        ("Ibunda", BAPAK_IBU),
        ("", BAPAK_IBU),
        (None, BAPAK_IBU),
        ("X", BAPAK_IBU),
    ],
)
def test_salutation_for(value: str | None, salutation: str) -> None:
    assert salutation_for(value) == salutation


def test_salutations() -> None:
    assert (BAPAK, IBU, BAPAK_IBU) == ("Bapak", "Ibu", "Bapak/Ibu")
