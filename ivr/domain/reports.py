"""APKT report numbers and CTT tokens: validate, generate, and group for reading out.

Report numbers (SOP PERIKSA steps 15l and 18) are a letter and 13 digits: ``G`` for a
gangguan (outage) report, ``K`` for a keluhan (complaint). The SOP's placeholder
``GXXXXXXXXXXXX`` shows 12 X's; we follow the 13 digits of the project's issue and of the
APKT numbers this IVR's own backend issues.

A CTT (Clear Tamper Token, step 20) is a 20-digit token keyed into the prepaid meter;
like the token a customer buys, it is read out in five groups of four.
"""

from __future__ import annotations

import re
from datetime import date

#: ``G`` gangguan, ``K`` keluhan.
PREFIXES = ("G", "K")
BODY_LENGTH = 13
#: Digits of the daily sequence in a number we generate (see :func:`format_report_number`).
SEQUENCE_DIGITS = 7
MAX_SEQUENCE = 10**SEQUENCE_DIGITS - 1
#: Digits per group when a number is read out.
SPEECH_GROUP = 4
CTT_LENGTH = 20

_REPORT = re.compile(rf"[GK][0-9]{{{BODY_LENGTH}}}")
_CTT = re.compile(rf"[0-9]{{{CTT_LENGTH}}}")
# Spaces and dashes are how people and printouts group these numbers.
_GROUPING = re.compile(r"[\s\-]")


class ReportNumberError(ValueError):
    """Not a report number (``G`` or ``K`` and 13 digits), or not one we can generate."""


class CttTokenError(ValueError):
    """Not a CTT token (20 digits)."""


def parse_report_number(text: str) -> str:
    """The canonical form ``G1234567890123`` of a report number.

    Accepts lower case and spaces or dashes anywhere (``"g 2611 2300 0001 2"``), as a
    number read back, typed by a CSO or copied from a message looks; nothing else.
    """
    number = _GROUPING.sub("", text or "").upper()
    if not _REPORT.fullmatch(number):
        raise ReportNumberError(
            f"nomor laporan harus G atau K diikuti {BODY_LENGTH} angka, bukan {text!r}"
        )
    return number


def is_report_number(text: str) -> bool:
    """True when :func:`parse_report_number` accepts ``text`` (same leniency)."""
    try:
        parse_report_number(text)
    except ReportNumberError:
        return False
    return True


def format_report_number(prefix: str, sequence: int, day: date) -> str:
    """A report number: prefix, then ``YYMMDD`` of ``day``, then the 7-digit ``sequence``.

    ``format_report_number("G", 12, date(2026, 11, 23))`` is ``G2611230000012``. Two
    numbers are equal only if prefix, day and sequence are, so a sequence that restarts
    at 1 each day (per prefix) gives unique numbers; the date in front makes them sort
    by day and tells a CSO at a glance when the report was made. Up to 9,999,999
    reports per day and prefix; the year has two digits, so numbers repeat after a
    century. Sequence 0 is not issued: counters start at 1.
    """
    if prefix not in PREFIXES:
        raise ReportNumberError(f"awalan nomor laporan harus G atau K, bukan {prefix!r}")
    if isinstance(sequence, bool) or not 1 <= sequence <= MAX_SEQUENCE:
        raise ReportNumberError(f"urutan laporan harus 1 sampai {MAX_SEQUENCE}, bukan {sequence}")
    return f"{prefix}{day:%y%m%d}{sequence:0{SEQUENCE_DIGITS}d}"


def decode_report_number(number: str) -> tuple[str, date, int]:
    """``(prefix, day, sequence)`` of a number made by :func:`format_report_number`.

    Only for our own numbers: a number from another APKT need not carry a date. Raises
    :class:`ReportNumberError` when the body does not start with a real date or the
    sequence is 0. Years are taken as 20YY.
    """
    canonical = parse_report_number(number)
    body = canonical[1:]
    try:
        day = date(2000 + int(body[0:2]), int(body[2:4]), int(body[4:6]))
    except ValueError as error:
        raise ReportNumberError(f"nomor laporan tanpa tanggal yang sah: {number!r}") from error
    sequence = int(body[6:])
    if sequence == 0:
        raise ReportNumberError(f"nomor laporan dengan urutan 0: {number!r}")
    return canonical[0], day, sequence


def _groups(digits: str) -> list[str]:
    return [digits[i : i + SPEECH_GROUP] for i in range(0, len(digits), SPEECH_GROUP)]


def digits_for_speech(number: str) -> list[str]:
    """The letter, then the 13 digits in groups of four from the left, for reading out.

    ``G2611230000012`` gives ``["G", "2611", "2300", "0001", "2"]``. Each group is then
    spoken digit by digit with a pause between groups (SOP step 18: the caller writes
    the number down). Groups from the left because the caller writes as they listen:
    every group they hear is a full four until the last, so the rhythm is set from the
    start and the short group marks the end; it is also how CTT and purchased tokens
    are read, in fours.
    """
    canonical = parse_report_number(number)
    return [canonical[0], *_groups(canonical[1:])]


def parse_ctt_token(text: str) -> str:
    """The 20 digits of a CTT token; spaces and dashes between groups are dropped."""
    token = _GROUPING.sub("", text or "")
    if not _CTT.fullmatch(token):
        raise CttTokenError(f"token CTT harus {CTT_LENGTH} angka")
    return token


def is_ctt_token(text: str) -> bool:
    """True when :func:`parse_ctt_token` accepts ``text``."""
    try:
        parse_ctt_token(text)
    except CttTokenError:
        return False
    return True


def ctt_groups(token: str) -> list[str]:
    """The token as five groups of four digits, as printed on a token receipt and read out."""
    return _groups(parse_ctt_token(token))
