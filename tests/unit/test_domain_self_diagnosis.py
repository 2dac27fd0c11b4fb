"""Self diagnosis: the nine codes in SOP order and the values the caller keys."""

from __future__ import annotations

import dataclasses

import pytest

from ivr.domain.self_diagnosis import (
    CODES,
    MAX_DIGITS,
    MEANINGS,
    NULL,
    MeterValueError,
    SelfDiagnosisValue,
    ask_tag,
    check_code,
    next_code,
    parse_meter_value,
)


def wide(text: str) -> str:
    """Full-width digits (U+FF10..U+FF19): ``str.isdigit()`` is True, yet no ASCII digit."""
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in text)


def test_codes_in_sop_order() -> None:
    assert CODES == ("08", "70", "71", "41", "44", "45", "46", "37", "47")


def test_meanings_from_the_sop() -> None:
    assert tuple(MEANINGS) == CODES
    assert MEANINGS["08"] == "Penyebab periksa"
    assert MEANINGS["70"] == "Berapa kali open terminal"
    assert MEANINGS["71"] == "Berapa kali open cover meter"
    assert MEANINGS["41"] == "Tegangan di meter"
    assert MEANINGS["44"] == "Arus RMS"
    assert MEANINGS["45"] == "Arus phasa"
    assert MEANINGS["46"] == "Arus netral"
    assert MEANINGS["37"] == "Sisa pulsa"
    assert MEANINGS["47"] == "Daya sesaat (Watt)"


def test_meanings_are_read_only() -> None:
    with pytest.raises(TypeError):
        MEANINGS["08"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("keys", "value"),
    [
        ("220", "220"),
        ("220#", "220"),
        ("220*5", "220,5"),
        ("220*5#", "220,5"),
        ("0", "0"),
        ("0#", "0"),
        ("0*05", "0,05"),
        ("0007", "0007"),  # leading zeros are what the display showed
        ("1234567890", "1234567890"),  # MAX_DIGITS
        ("12345*67890", "12345,67890"),
        (" 220*5# ", "220,5"),
        ("220,5", "220,5"),  # already Indonesian notation: parses to itself
        # No number on the display.
        ("#", NULL),
        ("", NULL),
        ("  ", NULL),
        ("kosong", NULL),
        ("KOSONG", NULL),
        (" Kosong ", NULL),
        ("Null", NULL),
        ("null", NULL),
    ],
)
def test_parse_meter_value(keys: str, value: str) -> None:
    assert parse_meter_value(keys) == value
    assert parse_meter_value(value) == value  # idempotent


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ("22*0*5", "decimal"),
        ("*5", "decimal"),
        ("5*", "decimal"),
        ("5*#", "decimal"),
        ("*", "decimal"),
        ("*#", "decimal"),
        ("**", "decimal"),
        ("5**5", "decimal"),
        ("5*5,5", "decimal"),
        (",5", "decimal"),
        ("12345678901", "too_long"),
        ("123456*789012", "too_long"),
        ("22#0", "terminator"),
        ("##", "terminator"),
        ("220##", "terminator"),
        ("#220", "terminator"),
        ("220.5", "characters"),
        ("-5", "characters"),
        ("22 0", "characters"),
        ("abc", "characters"),
        ("kosong#", "characters"),
        (wide("220"), "characters"),
        ("A", "characters"),
    ],
)
def test_parse_meter_value_refused(keys: str, reason: str) -> None:
    with pytest.raises(MeterValueError) as raised:
        parse_meter_value(keys)
    assert raised.value.reason == reason
    assert isinstance(raised.value, ValueError)


def test_max_digits() -> None:
    assert MAX_DIGITS == 10


@pytest.mark.parametrize("code", CODES)
def test_ask_tags(code: str) -> None:
    assert ask_tag(code) == f"meter_code.{code}"
    assert check_code(code) == code


@pytest.mark.parametrize("code", ["", "8", "008", "99", "42", " 08", "meter_code.08"])
def test_unknown_codes(code: str) -> None:
    with pytest.raises(ValueError, match="not a self-diagnosis code"):
        check_code(code)
    with pytest.raises(ValueError):
        ask_tag(code)
    with pytest.raises(ValueError):
        SelfDiagnosisValue.from_keys(code, "1#")


def test_next_code_follows_sop_order() -> None:
    values: dict[str, str] = {}
    asked = []
    while (code := next_code(values)) is not None:
        asked.append(code)
        values[code] = "1"
    assert tuple(asked) == CODES
    assert next_code({"08": "1", "71": "2"}) == "70"


def test_self_diagnosis_value() -> None:
    value = SelfDiagnosisValue.from_keys("41", "220*5#")
    assert value == SelfDiagnosisValue("41", "220,5")
    assert not value.is_null
    assert SelfDiagnosisValue.from_keys("08", "#").is_null
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.value = "0"  # type: ignore[misc]
    with pytest.raises(MeterValueError):
        SelfDiagnosisValue.from_keys("41", "2**2")
