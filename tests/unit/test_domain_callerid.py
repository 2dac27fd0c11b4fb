"""Caller ID: every form Asterisk may deliver, area codes, and what is refused."""

from __future__ import annotations

import dataclasses

import pytest

from ivr.domain.callerid import (
    AREA_CODES,
    INTERNATIONAL_PREFIXES,
    MOBILE,
    PROVINCES,
    PSTN,
    TWO_DIGIT_AREA_CODES,
    UNKNOWN,
    CallerId,
    area_code_of,
    caller_class,
    national,
    parse_caller_id,
)

# --- mobile ---------------------------------------------------------------------------


def wide(text: str) -> str:
    """Full-width digits (U+FF10..U+FF19): ``str.isdigit()`` is True, yet no ASCII digit."""
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in text)


@pytest.mark.parametrize(
    "raw",
    [
        "081234567890",
        "6281234567890",
        "+6281234567890",
        "81234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "0812.3456.7890",
        "(0812) 3456 7890",
        "+62 812-3456-7890",
        "+62 (0)812 3456 7890",
        "62 0812 3456 7890",
        "  +6281234567890  ",
        "0062 812 3456 7890",
        "006281234567890",
        "001 62 812 3456 7890",
        "00762 81234567890",
        "008-62-812-3456-7890",
        "017 62 812 3456 7890",
        "01017 62 812 3456 7890",
        "0100062 81234567890",
        "0101662 81234567890",
    ],
)
def test_mobile_forms(raw: str) -> None:
    caller = parse_caller_id(raw)
    assert caller == CallerId(
        raw=raw, national="081234567890", kind=MOBILE, area_code="", valid=True
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0811234567", "0811234567"),  # 10 digits: shortest mobile
        ("08123456789", "08123456789"),
        ("0812345678901", "0812345678901"),  # 13 digits: longest
        ("0821 1234 5678", "082112345678"),
        ("0838-1234-5678", "083812345678"),
        ("+62 857 1234 5678", "085712345678"),
        ("0877 1234 5678", "087712345678"),
        ("0881 1234 5678", "088112345678"),
        ("0896 1234 5678", "089612345678"),
    ],
)
def test_mobile_ranges_and_lengths(raw: str, expected: str) -> None:
    caller = parse_caller_id(raw)
    assert (caller.kind, caller.national, caller.valid) == (MOBILE, expected, True)


@pytest.mark.parametrize(
    "raw",
    [
        "081234567",  # 9 digits: too short
        "08123456789012",  # 14 digits: too long
        "0812345",
        "08",
        "0800 1234 567",  # toll-free
        "0809 1234 567",  # premium rate
        "0804 1234 567",  # no mobile range
        "0841 2345 6789",
        "+62 800 1234 567",
    ],
)
def test_not_mobile(raw: str) -> None:
    caller = parse_caller_id(raw)
    assert (caller.kind, caller.valid, caller.national) == (UNKNOWN, False, "")


# --- fixed line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0215551234",
        "(021) 555-1234",
        "021-555-1234",
        "021 5551234",
        "+62215551234",
        "+62 21 555 1234",
        "+62 (0)21 555 1234",
        "62215551234",
        "6221 555 1234",
        "215551234",
        "21 555 1234",
        "0062215551234",
        "001 62 21 5551234",
        "00762 215551234",
        "008 62 21 555 1234",
        "01762215551234",
    ],
)
def test_jakarta_forms(raw: str) -> None:
    assert parse_caller_id(raw) == CallerId(
        raw=raw, national="0215551234", kind=PSTN, area_code="021", valid=True
    )


@pytest.mark.parametrize(
    ("raw", "area_code", "national_number"),
    [
        ("021 2345 6789", "021", "02123456789"),  # Jakarta 8-digit subscriber
        ("022 7654321", "022", "0227654321"),
        ("024 7654321", "024", "0247654321"),
        ("031 5012345", "031", "0315012345"),
        ("061 4512345", "061", "0614512345"),
        ("0274 512345", "0274", "0274512345"),
        ("(0361) 234567", "0361", "0361234567"),
        ("0361234567", "0361", "0361234567"),
        ("+62 361 234567", "0361", "0361234567"),
        ("361234567", "0361", "0361234567"),
        ("0411 872345", "0411", "0411872345"),
        ("0431 862345", "0431", "0431862345"),
        ("0967 533123", "0967", "0967533123"),
        ("0911 352123", "0911", "0911352123"),
        ("0370 632123", "0370", "0370632123"),
        ("0380 821234", "0380", "0380821234"),
        ("0511 3351234", "0511", "05113351234"),
        ("0541 741234", "0541", "0541741234"),
        ("0561 734123", "0561", "0561734123"),
        ("0651 21234", "0651", "065121234"),  # 5-digit subscriber
        ("0778 12345678", "0778", "077812345678"),  # 8-digit subscriber
        ("0901 321234", "0901", "0901321234"),  # Timika
        ("901 321234", "0901", "0901321234"),  # Timika without its 0
        ("6222 7654321", "022", "0227654321"),
    ],
)
def test_fixed_lines(raw: str, area_code: str, national_number: str) -> None:
    caller = parse_caller_id(raw)
    assert caller == CallerId(
        raw=raw, national=national_number, kind=PSTN, area_code=area_code, valid=True
    )


@pytest.mark.parametrize(
    "raw",
    [
        "0211234",  # 4-digit subscriber
        "0274 1234",
        "021 123456789",  # 9-digit subscriber
        "0274 123456789",
        "0201234567",  # 020x: no such area code
        "0364 123456",  # not a code (libphonenumber lists it but no number is valid)
        "0999 123456",
        "0123 456789",
        "0501 234567",
    ],
)
def test_fixed_lines_refused(raw: str) -> None:
    caller = parse_caller_id(raw)
    assert (caller.kind, caller.valid, caller.national, caller.area_code) == (
        UNKNOWN,
        False,
        "",
        "",
    )


# --- withheld, foreign, malformed -------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        None,
        "   ",
        "anonymous",
        "Anonymous",
        "unknown",
        "UNKNOWN",
        "private",
        "restricted",
        "withheld",
        "unavailable",
        "+",
        "()",
        "-",
        "1001",  # internal extension
        "123",
        "12345",
        "1234567890",  # no 0: would be area code 012x
        "+6581234567",  # Singapore
        "+1 626 555 1234",  # United States
        "0065 8123 4567",
        "+0812 3456 7890",  # a + must be followed by a country code
        "0812345678a",
        "sip:081234567890@pbx",
        "0812*3456#7890",
        "08123456789+",
        "+62",
        "62",
        "0062",
        "00",
        wide("081234567890"),  # full-width digits are not ASCII digits
    ],
)
def test_unknown(raw: str | None) -> None:
    caller = parse_caller_id(raw)
    assert caller == CallerId(raw=raw or "", national="", kind=UNKNOWN, area_code="", valid=False)
    assert caller.area is None
    assert caller.international == ""


# --- trunk-out digits are not guessed ----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "9081234567890",  # 9 + mobile: reads 0908..., no such area code
        "9 0215551234",  # 9 + Jakarta: would read as Agats 0902; ambiguous, refused
        "9 0274512345",
        "00812 3456 7890",  # 0 + mobile: 008 without 62
        "0 0215551234",  # 0 + Jakarta: 00 without 62
        "99 0812 3456 7890",
    ],
)
def test_trunk_out_digit_not_guessed(raw: str) -> None:
    assert parse_caller_id(raw).kind == UNKNOWN


def test_zero_before_country_code_reads_as_north_sumatra() -> None:
    # Documented: "0" + "62..." cannot be told from a 062x area code.
    caller = parse_caller_id("0628 123456")
    assert (caller.kind, caller.area_code) == (PSTN, "0628")
    assert caller.area is not None and caller.area.places == "Kabanjahe"


def test_bare_62_reads_country_code_first_then_062x() -> None:
    # E.164 without "+" first: 62 21 234567 is Jakarta, not 0622 (Pematangsiantar) 1234567.
    assert parse_caller_id("6221234567").area_code == "021"
    # +62 39... is no number (no area code 039x); as 0623 (Kisaran) 912345 it is one.
    caller = parse_caller_id("6239 12345")
    assert (caller.kind, caller.national, caller.area_code) == (PSTN, "0623912345", "0623")
    # Neither reading fits.
    assert parse_caller_id("6221 2345 6789 1").kind == UNKNOWN


# --- the dataclass --------------------------------------------------------------------


def test_caller_id_is_frozen() -> None:
    caller = parse_caller_id("081234567890")
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.kind = PSTN  # type: ignore[misc]


def test_raw_is_kept_as_delivered() -> None:
    assert parse_caller_id(" +62 812-3456-7890 ").raw == " +62 812-3456-7890 "


def test_repr_masks_the_number() -> None:
    text = repr(parse_caller_id("+62 812-3456-7890"))
    assert "3456" not in text
    assert "890" in text
    assert "kind='mobile'" in text
    assert "'anonymous'" in repr(parse_caller_id("anonymous"))


def test_area_and_international() -> None:
    caller = parse_caller_id("(0274) 512345")
    assert caller.area is not None
    assert caller.area.province == "DI Yogyakarta"
    assert caller.international == "+62274512345"
    assert parse_caller_id("081234567890").international == "+6281234567890"
    assert parse_caller_id("081234567890").area is None


# --- legacy helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0062 812 3456 7890", "081234567890"),
        ("6221 555 1234", "0215551234"),
        ("1001", ""),
        ("0812345", ""),
    ],
)
def test_national(raw: str, expected: str) -> None:
    assert national(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0062 812 3456 7890", MOBILE),
        ("+62 361 234567", PSTN),
        ("0800 1234 567", UNKNOWN),
        ("9 0215551234", UNKNOWN),
    ],
)
def test_caller_class_is_the_kind(raw: str, expected: str) -> None:
    assert caller_class(raw) == expected == parse_caller_id(raw).kind


# --- the area-code table --------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "place", "province"),
    [
        ("021", "Jakarta", "DKI Jakarta"),
        ("022", "Bandung", "Jawa Barat"),
        ("024", "Semarang", "Jawa Tengah"),
        ("031", "Surabaya", "Jawa Timur"),
        ("0274", "Yogyakarta", "DI Yogyakarta"),
        ("0361", "Denpasar", "Bali"),
        ("061", "Medan", "Sumatera Utara"),
        ("0411", "Makassar", "Sulawesi Selatan"),
        ("0431", "Manado", "Sulawesi Utara"),
        ("0967", "Jayapura", "Papua"),
        ("0911", "Ambon", "Maluku"),
        ("0370", "Mataram", "Nusa Tenggara Barat"),
        ("0380", "Kupang", "Nusa Tenggara Timur"),
        ("0511", "Banjarmasin", "Kalimantan Selatan"),
        ("0541", "Samarinda", "Kalimantan Timur"),
        ("0561", "Pontianak", "Kalimantan Barat"),
        ("0536", "Palangka Raya", "Kalimantan Tengah"),
        ("0552", "Tanjung Selor", "Kalimantan Utara"),
        ("0651", "Banda Aceh", "Aceh"),
        ("0751", "Padang", "Sumatera Barat"),
        ("0761", "Pekanbaru", "Riau"),
        ("0771", "Tanjung Pinang", "Kepulauan Riau"),
        ("0741", "Jambi", "Jambi"),
        ("0711", "Palembang", "Sumatera Selatan"),
        ("0717", "Pangkal Pinang", "Kepulauan Bangka Belitung"),
        ("0736", "Bengkulu", "Bengkulu"),
        ("0721", "Bandar Lampung", "Lampung"),
        ("0254", "Serang", "Banten"),
        ("0435", "Gorontalo", "Gorontalo"),
        ("0451", "Palu", "Sulawesi Tengah"),
        ("0426", "Mamuju", "Sulawesi Barat"),
        ("0401", "Kendari", "Sulawesi Tenggara"),
        ("0921", "Ternate", "Maluku Utara"),
        ("0986", "Manokwari", "Papua Barat"),
        ("0951", "Sorong", "Papua Barat Daya"),
        ("0984", "Nabire", "Papua Tengah"),
        ("0969", "Wamena", "Papua Pegunungan"),
        ("0971", "Merauke", "Papua Selatan"),
    ],
)
def test_province_capitals_and_big_cities(code: str, place: str, province: str) -> None:
    area = AREA_CODES[code]
    assert area.code == code
    assert place in area.places
    assert province in area.provinces


def test_every_province_has_an_area_code() -> None:
    covered = {province for area in AREA_CODES.values() for province in area.provinces}
    assert covered == set(PROVINCES)
    assert len(PROVINCES) == 38


def test_area_code_table_is_well_formed() -> None:
    for code, area in AREA_CODES.items():
        assert code == area.code
        assert code.startswith("0") and code.isdigit()
        assert code[1] in "2345679", code
        assert len(code) == (3 if code in TWO_DIGIT_AREA_CODES else 4), code
        assert area.places and area.provinces
        assert set(area.provinces) <= set(PROVINCES), code
        # No code is a prefix of another, so the split is never ambiguous.
        assert not any(other != code and other.startswith(code) for other in AREA_CODES)


def test_multi_province_code() -> None:
    assert AREA_CODES["0526"].province == "Kalimantan Tengah / Kalimantan Selatan"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("0215551234", "021"),
        ("0274512345", "0274"),
        ("0364123456", ""),
        ("081234567890", ""),
        ("021", ""),
        ("", ""),
        ("215551234", ""),
        ("0012345678", ""),
    ],
)
def test_area_code_of(number: str, expected: str) -> None:
    assert area_code_of(number) == expected


def test_international_prefixes_longest_first() -> None:
    # A shorter prefix listed before a longer one it begins would shadow it.
    for i, prefix in enumerate(INTERNATIONAL_PREFIXES):
        assert not any(p.startswith(prefix) for p in INTERNATIONAL_PREFIXES[i + 1 :])
