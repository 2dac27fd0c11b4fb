"""Self diagnosis of a kWh meter showing PERIKSA (SOP step 10, points a to i).

The caller keys a code on the meter's keypad (``08``, then Enter), reads the value the
display shows, and keys that value on the phone: digits, ``*`` for the decimal comma,
``#`` to finish. The nine values fill the APKT form "Self Diagnosis - Respon Kode kWh
Meter", where a display without a number is entered as ``Null`` (the form's
"Tidak Ada Angka" box).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: The nine codes in the order the SOP asks them (points a to i).
CODES = ("08", "70", "71", "41", "44", "45", "46", "37", "47")

MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "08": "Penyebab periksa",
        "70": "Berapa kali open terminal",
        "71": "Berapa kali open cover meter",
        "41": "Tegangan di meter",
        "44": "Arus RMS",
        "45": "Arus phasa",
        "46": "Arus netral",
        "37": "Sisa pulsa",
        "47": "Daya sesaat (Watt)",
    }
)
"""What each code shows on the meter: for the CSO's screen and the report only.

NEVER speak these to the caller. The SOP's note to step 10: the explanations of points
a to i "Tidak Boleh" be told to the caller, who hears only "tekan angka 08 kemudian
Enter, berapa nilai yang tertera"; e.g. that 08 reveals the cause of PERIKSA, or that 70
and 71 count how often the terminal or cover was opened, must not be said.
"""

#: The APKT form's word for "the display showed no number".
NULL = "Null"
#: The answer a scenario or a CSO gives for a display without a number.
KOSONG = "kosong"
#: Most digits a value may have (a meter display has at most eight; room to spare).
MAX_DIGITS = 10
DECIMAL_KEY = "*"
END_KEY = "#"
#: Prefix of the flow's ask tag for each code: ``meter_code.08`` ... ``meter_code.47``.
ASK_PREFIX = "meter_code."

_VALUE = re.compile(r"[0-9]+(?:[*,][0-9]+)?")


class MeterValueError(ValueError):
    """The keyed value is not a number the meter could show.

    ``reason``: ``characters`` (a key other than digits, ``*``, ``#``), ``terminator``
    (``#`` other than once at the end), ``decimal`` (more than one ``*``, or one at the
    start or end), ``too_long`` (more than :data:`MAX_DIGITS` digits).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_meter_value(keys: str) -> str:
    """The value for the form, in Indonesian notation: ``"220*5#"`` gives ``"220,5"``.

    * ``#`` ends the entry and may be included or not (Asterisk's GET DATA drops it);
    * a lone ``#``, an empty entry, ``kosong`` or ``Null`` (any case) give ``"Null"``:
      the display showed no number. A GET DATA timeout also returns an empty entry,
      so the flow must tell a timeout from a lone ``#`` before calling this;
    * ``*`` is the decimal comma, at most once and between digits; ``,`` is accepted
      for it too, so a value already in Indonesian notation parses to itself;
    * leading zeros are kept: the value is what the display showed, not a quantity;
    * surrounding whitespace is ignored; anything else raises :class:`MeterValueError`.
    """
    text = (keys or "").strip()
    if text.lower() in (KOSONG, NULL.lower()):
        return NULL
    body = text[:-1] if text.endswith(END_KEY) else text
    if not body:
        return NULL
    if END_KEY in body:
        raise MeterValueError("terminator", "tanda pagar hanya di akhir")
    if not set(body) <= set("0123456789*,"):
        raise MeterValueError("characters", "nilai hanya angka, bintang untuk koma, pagar")
    if not _VALUE.fullmatch(body):
        raise MeterValueError("decimal", "bintang (koma) hanya sekali, di antara angka")
    if sum(char.isdigit() for char in body) > MAX_DIGITS:
        raise MeterValueError("too_long", f"nilai paling banyak {MAX_DIGITS} angka")
    return body.replace(DECIMAL_KEY, ",")


def check_code(code: str) -> str:
    """``code`` itself if it is one of the nine :data:`CODES`, else ``ValueError``."""
    if code not in CODES:
        raise ValueError(f"not a self-diagnosis code: {code!r}")
    return code


def ask_tag(code: str) -> str:
    """The flow's ask tag for a code: ``meter_code.08``."""
    return ASK_PREFIX + check_code(code)


def next_code(values: Mapping[str, str]) -> str | None:
    """The first code in SOP order without a value yet; None when all nine are in."""
    return next((code for code in CODES if code not in values), None)


@dataclass(frozen=True)
class SelfDiagnosisValue:
    """One answer of the self diagnosis: the code and its value as the form takes it."""

    code: str
    value: str

    @classmethod
    def from_keys(cls, code: str, keys: str) -> SelfDiagnosisValue:
        """Parse what the caller keyed for ``code`` (see :func:`parse_meter_value`)."""
        return cls(check_code(code), parse_meter_value(keys))

    @property
    def is_null(self) -> bool:
        """True when the display showed no number."""
        return self.value == NULL
