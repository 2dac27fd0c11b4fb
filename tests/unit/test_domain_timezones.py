"""Time zones: by area code, by PLN unit name, and the caller's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.domain.callerid import AREA_CODES, PROVINCES, parse_caller_id
from ivr.domain.greeting import local_period
from ivr.domain.timezones import (
    PROVINCE_ZONES,
    WIB,
    WIT,
    WITA,
    ZONE_NAMES,
    ZONES,
    caller_zone,
    zone_for_area_code,
    zone_for_region,
)


def test_zone_names_are_iana_zones_with_the_right_offsets() -> None:
    assert ZONES == ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
    assert ZONE_NAMES == {WIB: "WIB", WITA: "WITA", WIT: "WIT"}
    noon_utc = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    hours = [noon_utc.astimezone(ZoneInfo(zone)).hour for zone in ZONES]
    assert hours == [19, 20, 21]


def test_every_province_has_a_zone() -> None:
    assert set(PROVINCE_ZONES) == set(PROVINCES)
    assert set(PROVINCE_ZONES.values()) == set(ZONES)


@pytest.mark.parametrize(
    ("province", "zone"),
    [
        ("Aceh", WIB),
        ("DKI Jakarta", WIB),
        ("Kalimantan Barat", WIB),
        ("Kalimantan Tengah", WIB),
        ("Kalimantan Selatan", WITA),
        ("Kalimantan Timur", WITA),
        ("Kalimantan Utara", WITA),
        ("Bali", WITA),
        ("Nusa Tenggara Barat", WITA),
        ("Nusa Tenggara Timur", WITA),
        ("Sulawesi Selatan", WITA),
        ("Gorontalo", WITA),
        ("Maluku", WIT),
        ("Maluku Utara", WIT),
        ("Papua Barat Daya", WIT),
        ("Papua Selatan", WIT),
    ],
)
def test_province_zones(province: str, zone: str) -> None:
    assert PROVINCE_ZONES[province] == zone


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        ("021", WIB),
        ("022", WIB),
        ("024", WIB),
        ("031", WIB),
        ("061", WIB),
        ("0274", WIB),
        ("0651", WIB),
        ("0778", WIB),
        ("0561", WIB),  # Pontianak, Kalimantan Barat
        ("0536", WIB),  # Palangka Raya, Kalimantan Tengah
        ("0513", WIB),  # Muara Teweh, Kalimantan Tengah in the 051x block
        ("0511", WITA),  # Banjarmasin, Kalimantan Selatan
        ("0541", WITA),
        ("0551", WITA),  # Tarakan, Kalimantan Utara
        ("0361", WITA),
        ("0370", WITA),
        ("0380", WITA),
        ("0411", WITA),
        ("0431", WITA),
        ("0911", WIT),
        ("0921", WIT),
        ("0967", WIT),
        ("0951", WIT),
        ("0901", WIT),
        ("0356", WIB),  # Tuban and Rembang: two provinces, one zone
        ("0730", WIB),
        ("0627", WIB),
        # The 0 may be left out, separators are ignored.
        ("21", WIB),
        ("361", WITA),
        ("(0967)", WIT),
    ],
)
def test_zone_for_area_code(code: str, zone: str) -> None:
    assert zone_for_area_code(code) == zone


@pytest.mark.parametrize(
    "code",
    [
        "0526",  # Tamiang Layang (WIB) and Tanjung (WITA)
        "0364",
        "0999",
        "08",
        "0812",
        "",
        "abc",
        "0",
    ],
)
def test_zone_for_area_code_unknown_or_ambiguous(code: str) -> None:
    assert zone_for_area_code(code) is None


def test_every_area_code_but_one_has_a_zone() -> None:
    without = [code for code in AREA_CODES if zone_for_area_code(code) is None]
    assert without == ["0526"]


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("UID Aceh", WIB),
        ("UID Sumatera Utara", WIB),
        ("UIW Sumatera Barat", WIB),
        ("UIW Riau dan Kepulauan Riau", WIB),
        ("UIW Bangka Belitung", WIB),
        ("UID Sumatera Selatan, Jambi dan Bengkulu", WIB),
        ("UID S2JB", WIB),
        ("UID Lampung", WIB),
        ("UID Jakarta Raya", WIB),
        ("UID Banten", WIB),
        ("UID Jawa Barat", WIB),
        ("UID Jawa Tengah dan DIY", WIB),
        ("UID Jawa Timur", WIB),
        ("UIW Kalbar", WIB),
        ("UIW Kalimantan Barat", WIB),
        ("UID Bali", WITA),
        ("UIW NTB", WITA),
        ("UIW NTT", WITA),
        ("UIW Nusa Tenggara Timur", WITA),
        ("UID Kaltimra", WITA),
        ("UID Kalimantan Timur dan Kalimantan Utara", WITA),
        ("UID Sulselrabar", WITA),
        ("UIW Suluttenggo", WITA),
        ("UIW Sulawesi Utara, Tengah dan Gorontalo", WITA),
        ("UIW Maluku dan Maluku Utara", WIT),
        ("UIW Papua dan Papua Barat", WIT),
        # Case, punctuation and extra words do not matter.
        ("uid  JAKARTA-RAYA / UP3 Bulungan", WIB),
        ("UIW N.T.B", None),  # the abbreviation must be whole
        ("Bali", WITA),
        ("Jawa Barat", WIB),
        ("Papua Selatan", WIT),
        # A unit spanning two zones narrows with its UP3 city or province.
        ("UID Kalselteng", None),
        ("UID Kalimantan Selatan dan Kalimantan Tengah", None),
        ("UID Kalselteng UP3 Palangkaraya", WIB),
        ("UID Kalselteng UP3 Banjarmasin", WITA),
        ("UID Kalselteng - Kalimantan Tengah", WIB),
        ("KSKT", None),
        ("SULMAPANA", None),
        ("SULMAPANA Papua", WIT),
        ("Kalimantan", None),
        # Contradictions, unknown places, nothing at all.
        ("Bali dan Papua", None),
        ("UID Balikpapan", WITA),  # a city, not "Bali"
        ("UP3 Bulungan", None),
        ("UID", None),
        ("", None),
        (None, None),
    ],
)
def test_zone_for_region(name: str | None, zone: str | None) -> None:
    assert zone_for_region(name) == zone


@pytest.mark.parametrize(
    ("raw", "region", "default", "zone"),
    [
        # The customer's region wins over everything.
        ("0215551234", "UIW Papua dan Papua Barat", WIB, WIT),
        ("081234567890", "UID Bali", WIB, WITA),
        ("anonymous", "UIW Maluku dan Maluku Utara", WIB, WIT),
        # Without a usable region, a fixed line's area code.
        ("0361 234567", None, WIB, WITA),
        ("0967 533123", "", WIB, WIT),
        ("0967 533123", "UID Kalselteng", WIB, WIT),
        ("0411 872345", "UP3 Somewhere", WIB, WITA),
        # A mobile number, a withheld number or an ambiguous code: the default.
        ("+6281234567890", None, WIB, WIB),
        ("081234567890", None, WITA, WITA),
        ("anonymous", None, WIB, WIB),
        ("0526 21234", None, WIB, WIB),
        ("9 0215551234", None, WIT, WIT),
    ],
)
def test_caller_zone(raw: str, region: str | None, default: str, zone: str) -> None:
    assert caller_zone(parse_caller_id(raw), region, default) == zone


def test_caller_zone_drives_the_greeting() -> None:
    starts = {"pagi": 4, "siang": 11, "sore": 15, "malam": 18}
    now = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)  # 16:30 WIB, 17:30 WITA, 18:30 WIT
    jayapura = caller_zone(parse_caller_id("0967 533123"), None, WIB)
    jakarta = caller_zone(parse_caller_id("081234567890"), None, WIB)
    assert local_period(now, jayapura, starts) == "malam"
    assert local_period(now, jakarta, starts) == "sore"
