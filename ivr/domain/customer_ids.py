"""ID pelanggan (IDPEL) or prepaid meter number: which one did the caller key?

SOP PERIKSA step 6 asks for "ID Pelanggan atau No Meter". Both are plain digit strings
of fixed length: the IDPEL has 12 digits, the prepaid (token) meter number 11. The
length alone tells them apart, so the caller need not say which one they keyed.
"""

from __future__ import annotations

import re
from typing import Final, Literal

IDPEL: Final = "idpel"
METER: Final = "meter"
IDPEL_LENGTH: Final = 12
METER_LENGTH: Final = 11

CustomerIdKind = Literal["idpel", "meter"]

#: The rule in the caller's words: for a reprompt and for the log.
RULE = "ID pelanggan 12 digit atau nomor meter 11 digit"

_ASCII_DIGITS = re.compile(r"[0-9]+")


class CustomerIdError(ValueError):
    """The keyed number is neither an IDPEL nor a meter number.

    The message is Indonesian and never repeats the number itself (it is personal data
    and ends up in logs). ``reason`` is ``empty``, ``not_digits`` or ``length``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def classify_customer_id(digits: str) -> CustomerIdKind:
    """``idpel`` for 12 digits, ``meter`` for 11; else :class:`CustomerIdError`.

    Only ASCII digits are accepted, with no spaces or separators: the value comes from
    DTMF, so anything else means the input went wrong and the caller should key again.
    """
    if not digits:
        raise CustomerIdError("empty", f"Nomor belum diisi: {RULE}.")
    if not _ASCII_DIGITS.fullmatch(digits):
        raise CustomerIdError("not_digits", f"Nomor hanya boleh berisi angka: {RULE}.")
    if len(digits) == IDPEL_LENGTH:
        return IDPEL
    if len(digits) == METER_LENGTH:
        return METER
    raise CustomerIdError("length", f"Nomor {len(digits)} digit tidak dikenali: {RULE}.")


def customer_id_kind(digits: str) -> CustomerIdKind | None:
    """:func:`classify_customer_id` for a number already taken (a lookup key, a stored
    pop): its kind, or None when it is neither."""
    try:
        return classify_customer_id(digits)
    except CustomerIdError:
        return None


def is_customer_id(digits: str) -> bool:
    """True when :func:`classify_customer_id` would accept ``digits``."""
    return customer_id_kind(digits) is not None
