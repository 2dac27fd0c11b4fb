"""The caller's local time zone: WIB, WITA or WIT.

The greeting (SOP step 1, *selamat pagi/siang/sore/malam*) and the closing (step 22)
follow the caller's local time, not the contact centre's. Indonesia has three zones
without daylight saving:

* WIB (``Asia/Jakarta``, UTC+7): Sumatra, Java, Kalimantan Barat and Tengah;
* WITA (``Asia/Makassar``, UTC+8): Bali, Nusa Tenggara, Kalimantan Selatan, Timur and
  Utara, Sulawesi;
* WIT (``Asia/Jayapura``, UTC+9): Maluku, Maluku Utara, Papua.

The best evidence is the customer's region from the customer data (where the meter
is, which is what the report is about); next the area code of a fixed-line caller;
a mobile number says nothing about where the caller is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from ivr.domain import callerid as cid
from ivr.domain.callerid import AREA_CODES, PSTN, CallerId

WIB = "Asia/Jakarta"
WITA = "Asia/Makassar"
WIT = "Asia/Jayapura"
ZONES = (WIB, WITA, WIT)
#: The Indonesian abbreviation of each zone, as said to callers and shown to CSOs.
ZONE_NAMES = {WIB: "WIB", WITA: "WITA", WIT: "WIT"}

PROVINCE_ZONES: dict[str, str] = {
    **dict.fromkeys(
        (
            cid.ACEH,
            cid.SUMUT,
            cid.SUMBAR,
            cid.RIAU,
            cid.KEPRI,
            cid.JAMBI,
            cid.SUMSEL,
            cid.BABEL,
            cid.BENGKULU,
            cid.LAMPUNG,
            cid.DKI,
            cid.BANTEN,
            cid.JABAR,
            cid.JATENG,
            cid.DIY,
            cid.JATIM,
            cid.KALBAR,
            cid.KALTENG,
        ),
        WIB,
    ),
    **dict.fromkeys(
        (
            cid.BALI,
            cid.NTB,
            cid.NTT,
            cid.KALSEL,
            cid.KALTIM,
            cid.KALTARA,
            cid.SULUT,
            cid.GORONTALO,
            cid.SULTENG,
            cid.SULBAR,
            cid.SULSEL,
            cid.SULTRA,
        ),
        WITA,
    ),
    **dict.fromkeys(
        (
            cid.MALUKU,
            cid.MALUT,
            cid.PAPUA,
            cid.PAPUA_BARAT,
            cid.PAPUA_BARAT_DAYA,
            cid.PAPUA_TENGAH,
            cid.PAPUA_PEGUNUNGAN,
            cid.PAPUA_SELATAN,
        ),
        WIT,
    ),
}


def _one_zone(zones: Iterable[str]) -> str | None:
    found = set(zones)
    return found.pop() if len(found) == 1 else None


def zone_for_area_code(code: str) -> str | None:
    """The zone of a fixed-line area code (``021``, ``0274``; the ``0`` may be left out).

    None for a code not in :data:`~ivr.domain.callerid.AREA_CODES`, and for the one code
    whose places lie in two zones (``0526``: Tamiang Layang in Kalimantan Tengah, WIB,
    and Tanjung in Kalimantan Selatan, WITA).
    """
    digits = re.sub(r"\D", "", code or "")
    if not digits:
        return None
    area = AREA_CODES.get(digits if digits.startswith("0") else "0" + digits)
    if area is None:
        return None
    return _one_zone(PROVINCE_ZONES[province] for province in area.provinces)


_BOTH_KALIMANTAN = frozenset({WIB, WITA})

# Keywords of PLN unit names (UID = Unit Induk Distribusi, UIW = Unit Induk Wilayah,
# UP3 = Unit Pelaksana Pelayanan Pelanggan), province names and their abbreviations,
# and the cities that name UP3 units. Matched as whole words, longest first, so
# "kalimantan barat" is taken before "kalimantan" and "papua barat" before "papua".
# A keyword may stand for more than one zone: a unit spanning two zones (UID
# Kalimantan Selatan dan Tengah, "Kalselteng"; the SOP's "SULMAPANA") narrows to one
# zone only together with a more specific word (a UP3 city, a province).
_REGION_KEYWORDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            # Sumatra
            "aceh",
            "nad",
            "sumatera",
            "sumatra",
            "sumatera utara",
            "sumatra utara",
            "sumut",
            "sumatera barat",
            "sumatra barat",
            "sumbar",
            "sumatera selatan",
            "sumatra selatan",
            "sumsel",
            "s2jb",
            "riau",
            "kepulauan riau",
            "kepri",
            "wrkr",
            "jambi",
            "bengkulu",
            "lampung",
            "bangka",
            "belitung",
            "babel",
            "medan",
            "padang",
            "pekanbaru",
            "batam",
            "palembang",
            # Java
            "jawa",
            "jakarta",
            "jakarta raya",
            "dki",
            "banten",
            "tangerang",
            "jawa barat",
            "jabar",
            "bandung",
            "bekasi",
            "bogor",
            "jawa tengah",
            "jateng",
            "semarang",
            "diy",
            "yogyakarta",
            "jogja",
            "jogjakarta",
            "jawa timur",
            "jatim",
            "surabaya",
            "malang",
            # Kalimantan Barat and Tengah
            "kalimantan barat",
            "kalbar",
            "pontianak",
            "kalimantan tengah",
            "kalteng",
            "palangkaraya",
            "palangka raya",
        ),
        frozenset({WIB}),
    ),
    **dict.fromkeys(
        (
            "bali",
            "denpasar",
            "nusa tenggara",
            "nusa tenggara barat",
            "ntb",
            "mataram",
            "nusa tenggara timur",
            "ntt",
            "kupang",
            "kalimantan selatan",
            "kalsel",
            "banjarmasin",
            "kalimantan timur",
            "kaltim",
            "kalimantan utara",
            "kaltara",
            "kaltimra",
            "samarinda",
            "balikpapan",
            "tarakan",
            "sulawesi",
            "sulawesi utara",
            "sulut",
            "gorontalo",
            "sulawesi tengah",
            "sulteng",
            "suluttenggo",
            "sulawesi barat",
            "sulbar",
            "sulawesi selatan",
            "sulsel",
            "sulawesi tenggara",
            "sultra",
            "sulselrabar",
            "sulselbar",
            "makassar",
            "manado",
            "palu",
            "kendari",
            "mamuju",
        ),
        frozenset({WITA}),
    ),
    **dict.fromkeys(
        (
            "maluku",
            "maluku utara",
            "malut",
            "ambon",
            "ternate",
            "papua",
            "papua barat",
            "papua barat daya",
            "papua tengah",
            "papua pegunungan",
            "papua selatan",
            "pabar",
            "irian",
            "jayapura",
            "sorong",
            "manokwari",
            "merauke",
            "timika",
        ),
        frozenset({WIT}),
    ),
    "kalimantan": _BOTH_KALIMANTAN,
    "kalselteng": _BOTH_KALIMANTAN,
    "kskt": _BOTH_KALIMANTAN,
    "sulmapana": frozenset({WITA, WIT}),
}
_REGION_PATTERNS = tuple(
    (re.compile(rf"(?<!\S){re.escape(keyword)}(?!\S)"), zones)
    for keyword, zones in sorted(_REGION_KEYWORDS.items(), key=lambda item: -len(item[0]))
)


@lru_cache(maxsize=1024)
def zone_for_region(region_name: str | None) -> str | None:
    """The zone of a PLN unit or region name, by keywords; None if unknown or ambiguous.

    ``"UID Jakarta Raya"`` → WIB, ``"UID Bali"`` → WITA, ``"UIW Papua dan Papua Barat"``
    → WIT, ``"UID Kaltimra"`` → WITA, ``"UIW Kalbar"`` → WIB. Every keyword found narrows
    the candidate zones; a name that names no known place, or places in two zones
    (``"UID Kalselteng"``, ``"Bali dan Papua"``), gives None, so that the caller's zone
    falls back to the area code or the default rather than to a guess.
    """
    text = " ".join(re.sub(r"[^0-9a-z]+", " ", (region_name or "").lower()).split())
    zones: set[str] | None = None
    for pattern, keyword_zones in _REGION_PATTERNS:
        if pattern.search(text):
            zones = set(keyword_zones) if zones is None else zones & keyword_zones
            text = pattern.sub("|", text)
    return _one_zone(zones or ())


def caller_zone(caller: CallerId, customer_region: str | None, default: str) -> str:
    """The caller's zone: from the customer's region, else a fixed line's area code, else default.

    The customer's region wins because it is where the meter is, and the call is about
    the meter; a fixed line is where the caller is; a mobile number tells nothing.
    """
    zone = zone_for_region(customer_region)
    if zone is None and caller.kind == PSTN:
        zone = zone_for_area_code(caller.area_code)
    return zone or default
