"""Reading an AGI session off the socket: the header block and command results.

panoramisk's FastAGI handler reads the header block in a loop with no end-of-file
check (a peer that closes early makes it spin) and no timeout, and its result reader
turns end-of-file into a ``ValueError``. Both reads live here instead, bounded in
time and size, and a closed connection is a :class:`CallerHungUp`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from panoramisk.fast_agi import Request
from panoramisk.utils import parse_agi_result

from ivr.agi.errors import AgiProtocolError, CallerHungUp

MAX_HEADER_LINES = 200
MAX_LINE_BYTES = 8192


_STREAM_ERRORS = (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError)


def _stream_error(exc: BaseException, what: str) -> AgiProtocolError | CallerHungUp:
    """What a failed read means: a line too long is not AGI; anything else, a lost call.

    (A function rather than a wrapping coroutine: this sits on every AGI command.)
    """
    if isinstance(exc, asyncio.LimitOverrunError):
        return AgiProtocolError(f"{what} longer than the stream limit")
    if isinstance(exc, asyncio.IncompleteReadError):
        return CallerHungUp(f"connection closed in the {what}")
    return CallerHungUp(f"connection lost: {exc}")


async def read_line(reader: asyncio.StreamReader) -> str:
    """One line without its end, or :class:`CallerHungUp` when the peer has gone."""
    try:
        raw = await reader.readuntil(b"\n")
    except _STREAM_ERRORS as exc:
        raise _stream_error(exc, "answer") from exc
    if len(raw) > MAX_LINE_BYTES:
        raise AgiProtocolError("AGI line too long")
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def read_headers(reader: asyncio.StreamReader, timeout: float) -> dict[str, str]:
    """The ``agi_*`` header block that opens every FastAGI session.

    Ends at the first empty line. Raises :class:`CallerHungUp` if the connection
    closes first, :class:`TimeoutError` if it takes longer than ``timeout`` seconds,
    :class:`AgiProtocolError` for a block that is not AGI or larger than the stream
    limit.
    """
    async with asyncio.timeout(timeout):
        try:
            raw = await reader.readuntil(b"\n\n")
        except _STREAM_ERRORS as exc:
            raise _stream_error(exc, "header block") from exc
    lines = raw.decode("utf-8", errors="replace").replace("\r", "").split("\n")[:-2]
    if len(lines) > MAX_HEADER_LINES:
        raise AgiProtocolError(f"more than {MAX_HEADER_LINES} header lines")
    headers: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep and line.endswith(":"):
            key, sep, value = line[:-1], ":", ""
        if not sep or not key.startswith("agi_"):
            raise AgiProtocolError(f"not an AGI header line: {line[:60]!r}")
        headers[key] = value
    if "agi_network_script" not in headers and "agi_request" not in headers:
        raise AgiProtocolError("header block without agi_request")
    return headers


class AgiRequest(Request):  # type: ignore[misc]
    """panoramisk's request, reading answers so that a closed socket, a ``100 Trying``
    and a ``520`` usage text of one line or many all keep the stream in step."""

    def __init__(
        self,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        super().__init__(app=None, headers=headers, reader=reader, writer=writer)

    async def send_command(self, command: str) -> dict[str, Any]:
        """Send one command line; its parsed answer (panoramisk's dict, plus ``raw``).

        The common case (one ``200`` line back) runs in this one coroutine: it sits on
        every AGI command, and each extra layer costs CPU on every call.
        """
        writer = self.writer
        writer.write(f"{command}\n".encode(self.encoding))
        if writer.transport.get_write_buffer_size():
            # Only when the socket could not take the line at once (flow control).
            await writer.drain()
        try:
            raw = await self.reader.readuntil(b"\n")
        except _STREAM_ERRORS as exc:
            raise _stream_error(exc, "answer") from exc
        result = _parse(raw)
        while result.get("status_code") == 100:
            result = await self._read_result()
        if str(result.get("raw", "")).startswith("520-"):
            while not (await read_line(self.reader)).startswith("520 "):
                pass
        return result

    async def _read_result(self) -> dict[str, Any]:
        return _parse_line(await read_line(self.reader))


def _parse(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_LINE_BYTES:
        raise AgiProtocolError("AGI line too long")
    return _parse_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))


def _parse_line(line: str) -> dict[str, Any]:
    if not line:
        raise AgiProtocolError("empty result line")
    try:
        result: dict[str, Any] = parse_agi_result(line)
    except ValueError as exc:
        raise AgiProtocolError(f"not an AGI result: {line[:60]!r}") from exc
    result["raw"] = line
    return result
