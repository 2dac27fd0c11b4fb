"""IDPEL (12 digits) or prepaid meter number (11 digits)."""

from __future__ import annotations

import pytest

from ivr.domain.customer_ids import (
    IDPEL,
    METER,
    RULE,
    CustomerIdError,
    classify_customer_id,
    customer_id_kind,
    is_customer_id,
)


def wide(text: str) -> str:
    """Full-width digits (U+FF10..U+FF19): ``str.isdigit()`` is True, yet no ASCII digit."""
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in text)


@pytest.mark.parametrize(
    ("digits", "kind"),
    [
        ("512345678901", IDPEL),
        ("000000000000", IDPEL),
        ("999999999999", IDPEL),
        ("14234567890", METER),
        ("32123456789", METER),
        ("00000000000", METER),
    ],
)
def test_classify(digits: str, kind: str) -> None:
    assert classify_customer_id(digits) == kind
    assert customer_id_kind(digits) == kind
    assert is_customer_id(digits)


def test_kinds() -> None:
    assert (IDPEL, METER) == ("idpel", "meter")
    assert RULE == "ID pelanggan 12 digit atau nomor meter 11 digit"


@pytest.mark.parametrize(
    ("digits", "reason"),
    [
        ("", "empty"),
        ("1", "length"),
        ("1234567890", "length"),  # 10
        ("1234567890123", "length"),  # 13
        ("12345678901234567890", "length"),
        ("5123 4567 8901", "not_digits"),
        ("5123-4567-8901", "not_digits"),
        (" 512345678901", "not_digits"),
        ("512345678901#", "not_digits"),
        ("51234567890*", "not_digits"),
        ("tidak_tahu", "not_digits"),
        (wide("512345678901"), "not_digits"),  # full-width digits
        ("٥١٢٣٤٥٦٧٨٩٠١", "not_digits"),  # Arabic-Indic digits pass str.isdigit()
        ("-12345678901", "not_digits"),
    ],
)
def test_refused(digits: str, reason: str) -> None:
    with pytest.raises(CustomerIdError) as raised:
        classify_customer_id(digits)
    error = raised.value
    assert error.reason == reason
    assert RULE in str(error)
    assert isinstance(error, ValueError)
    assert customer_id_kind(digits) is None
    assert not is_customer_id(digits)


def test_message_never_repeats_the_number() -> None:
    with pytest.raises(CustomerIdError) as raised:
        classify_customer_id("1234567890")
    assert "1234567890" not in str(raised.value)
    assert str(raised.value) == f"Nomor 10 digit tidak dikenali: {RULE}."
