"""Logging setup. Phone numbers and IDs are masked before any line is written.

Two formats: ``text`` (one human-readable line per record) and ``json`` (one JSON
object per line, for a log shipper). A JSON line names the call the record is about
(``call_id``, ``flow``, ``node``): the interpreter binds them with :func:`bind_call`
and :func:`bind_node` in a :class:`~contextvars.ContextVar`, and each asyncio task
runs in a copy of its creator's context, so a call's task (and any task it starts)
sees its own call and no other.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from ivr.domain.callerid import READABLE_ID

#: What stays readable although it holds long digit runs: our call ids (32 hex
#: characters, or a dashed UUID) and Asterisk's uniqueid (``1733412345.42``: a
#: 10-digit epoch, a dot, a sequence), so a failed call can be found in Asterisk's CDR.
_KEEP = READABLE_ID
#: A number written in groups: ``0812-3456-7890``, ``+62 812 3456 7890``,
#: ``(021) 555-1234``. Groups are split by one space or dash (not a dot: IP addresses,
#: decimals and uniqueids use dots); only a number that starts like an Indonesian
#: phone number (``+``, ``(0``, ``0``, ``62``) is joined across them, so dates
#: (``2026-12-05``) and lists of counts (``1024 2048``) are not.
_SPLIT = (
    r"(?<![\d+])(?=(?:[ ()+-]{0,2}\d){7})"  # 7 digits or more ahead, in small groups
    r"(?:\+\d{1,4}|\(0\d{1,4}\)|0\d*|62\d*)"  # a start like a phone number's
    r"(?:(?:[ -]|(?<=\)))\d{2,})+(?!\d)"  # then groups after one space or dash
)
#: Runs of 7 or more digits (phone numbers, IDPEL, NIK, meter numbers), optionally
#: after a '+', even glued to letters (``NIK3201011234567890``).
_PLAIN = r"(?<!\d)\+?\d{7,}(?!\d)"
#: Everything the masking filter looks at: a ``keep`` match is left as it is, a
#: ``number`` with 7 or more digits shows only its last three.
LONG_NUMBER = re.compile(f"(?P<keep>{_KEEP})|(?P<number>{_SPLIT}|{_PLAIN})")
#: Fewest digits a number must have to be masked (``port 4573``, ``code 123456`` stay).
MIN_MASKED_DIGITS = 7

#: The call the running task serves: (call id, flow, node); empty strings outside a call.
#: One tuple in one variable, so binding a node is a single ``set``.
_CALL: ContextVar[tuple[str, str, str]] = ContextVar("pln123_call", default=("", "", ""))

LogFormat = Literal["text", "json"]


def bind_call(call_id: str, flow: str) -> None:
    """From now on, the current task's (and its new tasks') records are about this call."""
    _CALL.set((call_id, flow, ""))


def bind_node(flow: str, node: str) -> None:
    """The current call is at ``node`` of ``flow`` (a subflow's name inside a subflow).

    Runs before every node of every call: one ``get`` and one ``set``.
    """
    _CALL.set((_CALL.get()[0], flow, node))


def bound_call() -> tuple[str, str, str]:
    """The (call id, flow, node) the current task is bound to; empty strings if none."""
    return _CALL.get()


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.group("keep"):
        return text
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_MASKED_DIGITS:
        return text
    return "*" * (len(text) - 3) + digits[-3:]


def mask_text(text: str) -> str:
    """``text`` with every phone number, IDPEL, NIK and meter number masked (only the
    last three digits show), call ids and Asterisk uniqueids left readable."""
    return LONG_NUMBER.sub(_mask, text)


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


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped).

    Fields: ``time`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``message``,
    ``exc`` and ``stack`` when the record has them, and ``call_id``, ``flow``, ``node``
    when the record is about a call: the task's binding, or the record's own attributes
    of those names (``extra={"call_id": ...}``) for a line logged about a call from
    outside its task. Masking is the :class:`MaskingFilter`'s job, which runs before
    the formatter on the handler :func:`setup_logging` builds.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        call_id, flow, node = _CALL.get()
        call_id = getattr(record, "call_id", call_id)
        if call_id:
            entry["call_id"] = call_id
            entry["flow"] = getattr(record, "flow", flow)
            entry["node"] = getattr(record, "node", node)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """Log to stderr with masking, as text lines or (``fmt="json"``) JSON lines."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif fmt == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        raise ValueError(f"unknown log format {fmt!r} (text or json)")
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The PostgreSQL pool warns at every failed reconnection attempt; the call store
    # already says once that the store fails and once that it works again.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
