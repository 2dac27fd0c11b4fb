"""Logging setup. Phone numbers and IDs are masked before any line is written."""

from __future__ import annotations

import logging
import re

#: Runs of 7 or more digits (phone numbers, IDPEL, NIK), optionally after a '+',
#: standing as numbers of their own (not inside a hex call id such as ``9f1234567ab``).
LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])\+?\d{7,}(?![0-9A-Za-z])")


def _mask(match: re.Match[str]) -> str:
    digits = match.group(0)
    return "*" * (len(digits) - 3) + digits[-3:]


class MaskingFilter(logging.Filter):
    """Masks long digit runs in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = LONG_NUMBER.sub(_mask, message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = LONG_NUMBER.sub(_mask, record.exc_text)
        if record.stack_info:
            record.stack_info = LONG_NUMBER.sub(_mask, record.stack_info)
        return True


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr with masking."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
