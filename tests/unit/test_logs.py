"""Phone numbers and customer IDs never reach a log line unmasked."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from ivr.logs import MaskingFilter, setup_logging


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler masks, and the text it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.unit.test_logs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers.clear()
    logger.propagate = True


def test_mobile_number_in_args(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("call from %s", "081234567890")
    assert stream.getvalue() == "INFO call from *********890\n"


def test_international_number(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("call from %s to %s", "+6281234567890", "6281298765432")
    assert stream.getvalue() == "INFO call from ***********890 to **********432\n"
    assert "62812" not in stream.getvalue()


def test_idpel_in_message_and_args(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.warning("idpel %s (meter 14123456789) not found for %r", "512345678901", "0215551234")
    assert stream.getvalue() == (
        "WARNING idpel *********901 (meter ********789) not found for '*******234'\n"
    )


def test_number_in_a_dict_arg(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("answers %s", {"idpel": "512345678901", "menu": "periksa"})
    assert stream.getvalue() == "INFO answers {'idpel': '*********901', 'menu': 'periksa'}\n"


def test_short_numbers_are_left_alone(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info(
        "menu %s attempt %d of %d, queue %s, port %d, code %s", "1", 2, 3, "123", 4573, "123456"
    )
    assert stream.getvalue() == "INFO menu 1 attempt 2 of 3, queue 123, port 4573, code 123456\n"


def test_record_is_rewritten_only_when_masked() -> None:
    masking = MaskingFilter()
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "menu %s", ("1",), None)
    assert masking.filter(plain) is True
    assert (plain.msg, plain.args) == ("menu %s", ("1",))
    secret = logging.LogRecord("x", logging.INFO, __file__, 1, "idpel %s", ("512345678901",), None)
    assert masking.filter(secret) is True
    assert secret.msg == "idpel *********901"
    assert secret.args is None
    assert secret.getMessage() == "idpel *********901"


def test_setup_logging_masks(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("debug")
        assert root.level == logging.DEBUG
        logging.getLogger("ivr.test").info("caller %s", "+6281234567890")
        err = capsys.readouterr().err
        assert "caller ***********890" in err
        assert "81234567" not in err
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_exception_text_is_masked(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise LookupError("no customer with idpel 512345678901")
    except LookupError:
        logger.exception("lookup failed for %s", "081234567890")
    text = stream.getvalue()
    assert "lookup failed for *********890" in text
    assert "LookupError: no customer with idpel *********901" in text
    assert "512345678901" not in text


def test_hex_call_ids_stay_readable() -> None:
    import logging

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s from %s", None, None)
    record.args = ("a025b1234567488d854fec7dd7170ee0", "081234567890")
    MaskingFilter().filter(record)
    assert record.getMessage() == "call a025b1234567488d854fec7dd7170ee0 from *********890"
