"""The APKT texts of the PERIKSA SOP, and the small rules around them.

``flows/periksa.yaml`` writes these texts into its reports (ops edit the flow, not this
file); ``tests/flows/test_periksa_texts.py`` keeps the two the same.

Texts marked "SOP" are copied exactly from the SOP ("Laporan terkait Display APP Tertera
PERIKSA", Rev 4, 19 Sept 2023); the CSOs and the units that read these reports know them
word for word, so they must not be reworded. Texts marked "ours" fill a gap the SOP
leaves and follow its style.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

# --- problem texts (the APKT "Permasalahan" field) ----------------------------------

#: SOP step 3a.1: padam and the meter's display is blank.
PROBLEM_BLANK_DISPLAY = "1 RUMAH PADAM (LAYAR APP BLANK/GELAP, SEBELUMNYA TERTERA PERIKSA)"
#: SOP step 8b: the caller will not be guided, or is not at the meter.
PROBLEM_NOT_GUIDED = (
    "1 RUMAH PADAM (DISPLAY PADA APP TERTERA PERIKSA, PELANGGAN TIDAK BERSEDIA DIPANDU)"
)
# Ours: the SOP gives no text for the guided report (step 9 only picks the WO type
# "KWH PERIKSA"); the self-diagnosis values travel with it.
PROBLEM_GUIDED = "KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)"
# Ours: SOP step 6b asks for "laporan gangguan satu persil seperti biasa" when the caller
# cannot give an IDPEL and the power is off, without a text.
PROBLEM_NO_IDPEL = "1 RUMAH PADAM (DISPLAY APP TERTERA PERIKSA, TANPA IDPEL)"

#: The form's "Tipe Permasalahan" for one house out, as in the SOP's screenshot (step 8b).
PROBLEM_TYPE_ONE_HOUSE = "Tetangga Tidak Turut Padam"

# --- WO types (the APKT "Tipe WO" field) ---------------------------------------------

WO_AUTODISPATCH = "WO Autodispatch"
WO_KWH_PERIKSA = "KWH PERIKSA"
WO_TYPES = (WO_AUTODISPATCH, WO_KWH_PERIKSA)

#: SOP step 21: "Estimasi waktu penyelesaiannya ± 3 (tiga) jam dari waktu lapor" (TMP).
TMP_HOURS = 3


# --- contact note (SOP step 14c) -----------------------------------------------------

CONTACT_NOTES = {
    "telepon_wa_sms": "Pelanggan dapat dihubungi via Telepon, WA & SMS",
    "telepon_sms": "Pelanggan dapat dihubungi via Telepon & SMS",
    "wa_sms": "Pelanggan dapat dihubungi via WA & SMS",
}
CONTACT_CHANNELS = tuple(CONTACT_NOTES)


def contact_note(channels: str) -> str:
    """The SOP's note for the report from the ``contact_channels`` answer."""
    try:
        return CONTACT_NOTES[channels]
    except KeyError:
        raise ValueError(
            f"contact channels must be one of {', '.join(CONTACT_CHANNELS)}, not {channels!r}"
        ) from None


# --- confirmation call (SOP step 15k) ------------------------------------------------


class TimeOfDayError(ValueError):
    """Not a time of day as ``HHMM`` or ``HH:MM`` between 00:00 and 23:59."""


_HHMM = re.compile(r"([0-9]{2}):?([0-9]{2})")


def parse_hhmm(text: str) -> str:
    """``"0930"`` or ``"09:30"`` as ``"09:30"``; 00:00 to 23:59, else :class:`TimeOfDayError`.

    Exactly four digits: the caller keys the time on the phone, and ``930`` could be
    09:30 or a typo of 19:30, so it is asked again rather than guessed.
    """
    match = _HHMM.fullmatch((text or "").strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise TimeOfDayError("jam konfirmasi 4 angka, 0000 sampai 2359")
    return f"{match[1]}:{match[2]}"


def confirmation_note(hhmm: str) -> str:
    """SOP step 15k: "Penelepon minta dikonfirmasi pukul HH:MM, karena baru ada dilokasi"."""
    return f"Penelepon minta dikonfirmasi pukul {parse_hhmm(hhmm)}, karena baru ada dilokasi"


def confirmation_time(hhmm: str, now: datetime) -> datetime:
    """The date and time for the form's confirmation field: the next ``hhmm`` after ``now``.

    The caller names only a time; it is today if that time is still ahead, else
    tomorrow. ``now`` should be in the caller's zone (aware), and the result is in it.
    """
    hour, minute = (int(part) for part in parse_hhmm(hhmm).split(":"))
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def estimated_completion(reported_at: datetime) -> datetime:
    """SOP step 21: the estimate is :data:`TMP_HOURS` hours from the time of the report."""
    return reported_at + timedelta(hours=TMP_HOURS)


# --- how to address the caller -------------------------------------------------------

BAPAK = "Bapak"
IBU = "Ibu"
BAPAK_IBU = "Bapak/Ibu"

# Gender codes of a CRM field, taken only when they are the whole value ("M. Rizki" is a
# name with an initial, not a gender).
_MALE_CODES = frozenset({"l", "lk", "laki-laki", "pria", "m", "male"})
_FEMALE_CODES = frozenset({"p", "pr", "perempuan", "wanita", "f", "female"})
# Titles in front of a name.
_MALE_TITLES = frozenset({"bapak", "pak", "bpk", "tuan", "tn", "sdr", "saudara"})
_FEMALE_TITLES = frozenset({"ibu", "bu", "nyonya", "ny", "nona", "nn", "sdri", "saudari"})


def salutation_for(name_or_gender: str | None) -> str:
    """``Bapak``, ``Ibu``, or the SOP's ``Bapak/Ibu`` when it cannot be known.

    Takes a gender code from the CRM (``L``/``P``, ``pria``/``wanita``, ``M``/``F``) or a
    name that starts with a title (``"Ibu Sari"``, ``"Bpk. Budi"``, ``"Ny. Ani"``). It
    never guesses from a first name: a wrong "Ibu" for a man is worse than the SOP's
    neutral form.
    """
    words = re.sub(r"[.,]", " ", (name_or_gender or "").lower()).split()
    if len(words) == 1 and words[0] in _MALE_CODES:
        return BAPAK
    if len(words) == 1 and words[0] in _FEMALE_CODES:
        return IBU
    first = words[0] if words else ""
    if first in _MALE_TITLES:
        return BAPAK
    if first in _FEMALE_TITLES:
        return IBU
    return BAPAK_IBU
