"""Caller ID basics: mask a number for logs; tell mobile from fixed line.

The full Indonesian numbering rules (area codes, time zones) grow here with the
PERIKSA flow.
"""

from __future__ import annotations

import re

MOBILE = "mobile"
PSTN = "pstn"
UNKNOWN = "unknown"


def national(number: str) -> str:
    """``+62812...``, ``62812...``, ``812...`` and ``0812...`` as ``0812...``."""
    digits = re.sub(r"\D", "", number or "")
    if digits.startswith("62"):
        digits = "0" + digits[2:]
    elif digits and not digits.startswith("0"):
        digits = "0" + digits
    return digits


def caller_class(number: str) -> str:
    """``mobile`` for 08..., ``pstn`` for other area codes, ``unknown`` when withheld."""
    if len(re.sub(r"\D", "", number or "")) < 7:
        return UNKNOWN
    digits = national(number)
    return MOBILE if digits.startswith("08") else PSTN


def mask(number: str) -> str:
    """A phone number or ID for the log: only its last three digits show."""
    digits = re.sub(r"\D", "", number or "")
    if len(digits) <= 3:
        return "*" * len(digits)
    return "*" * (len(digits) - 3) + digits[-3:]
