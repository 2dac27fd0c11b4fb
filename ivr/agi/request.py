"""panoramisk's request over an :class:`~ivr.agi.connection.AgiConnection`.

panoramisk's FastAGI handler reads the header block in a loop with no end-of-file
check (a peer that closes early makes it spin) and no timeout, and its result reader
turns end-of-file into a ``ValueError``. The connection reads instead, bounded in time
and size, and a closed connection is a :class:`CallerHungUp`; this request sends the
command lines and parses the answers with panoramisk's parser.
"""

from __future__ import annotations

from typing import Any

from panoramisk.fast_agi import Request
from panoramisk.utils import parse_agi_result

from ivr.agi.connection import AgiConnection
from ivr.agi.errors import AgiProtocolError


class AgiRequest(Request):  # type: ignore[misc]
    """panoramisk's request, reading answers so that a closed socket, a ``100 Trying``
    and a ``520`` usage text of one line or many all keep the stream in step."""

    def __init__(self, headers: dict[str, str], connection: AgiConnection) -> None:
        super().__init__(app=None, headers=headers, reader=None, writer=None)
        self._connection = connection

    async def send_command(self, command: str) -> dict[str, Any]:
        """Send one command line; its parsed answer (panoramisk's dict, plus ``raw``).

        The common case (one ``200`` line back) runs in this one coroutine: it sits on
        every AGI command, and each extra layer costs CPU on every call.
        """
        connection = self._connection
        connection.write(f"{command}\n".encode(self.encoding))
        if connection.write_paused:
            await connection.drain()
        raw = await connection.next_line()
        plain = plain_answer(raw)
        if plain is not None:
            return plain
        result = _parse(raw)
        while result.get("status_code") == 100:
            result = _parse(await connection.next_line())
        if str(result.get("raw", "")).startswith("520-"):
            while not _text(await connection.next_line()).startswith("520 "):
                pass
        return result


def _text(raw: bytes) -> str:
    # (The connection has already refused a line longer than MAX_LINE_BYTES.)
    return raw.decode("utf-8", errors="replace").rstrip("\r")


def _parse(raw: bytes) -> dict[str, Any]:
    line = _text(raw)
    if not line:
        raise AgiProtocolError("empty result line")
    try:
        result: dict[str, Any] = parse_agi_result(line)
    except ValueError as exc:
        raise AgiProtocolError(f"not an AGI result: {line[:60]!r}") from exc
    result["raw"] = line
    return result


def plain_answer(raw: bytes) -> dict[str, Any] | None:
    """panoramisk's dict for the plainest answers, built without its regexes; else None.

    Nearly every answer is ``200 result=<n>``, or ``200 result=<n> endpos=<n>`` after a
    prompt, and this runs for every AGI command of every call: panoramisk's parser
    (two regular expressions and a dict built through keyword arguments) was the
    largest single cost of the AGI layer in ``pln123 bench agi``. A test holds the
    dict equal to :func:`panoramisk.utils.parse_agi_result`'s for each shape taken
    here; anything else (``-1``, data in brackets, other codes) is left to panoramisk.
    """
    if not raw.startswith(b"200 result=") or len(raw) > _PLAIN_MAX:
        return None
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    value, _, rest = raw[11:].partition(b" ")
    if not value.isdigit():  # bytes: ASCII digits only
        return None
    if rest and (not rest.startswith(b"endpos=") or not rest[7:].isdigit()):
        return None
    line = raw.decode()  # ASCII: the byte offsets are the text's
    end = 11 + len(value)
    result: dict[str, Any] = {"status_code": 200, "result": (line[11:end], ""), "msg": ""}
    if rest:
        result["endpos"] = (line[end + 8 :], "")
    result["raw"] = line
    return result


#: The longest answer :func:`plain_answer` looks at (two 20-digit numbers fit).
_PLAIN_MAX = 64
