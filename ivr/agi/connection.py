"""One FastAGI connection as an asyncio protocol: the header block, then answer lines.

The connection reads straight off the transport rather than through asyncio streams
(which panoramisk's own handler uses): a ``StreamReader`` hands each line through
several layers of Python, and ``StreamWriter.drain`` is a coroutine per command. An
AGI session is a dozen or more one-line answers per call, so those layers are a large
part of a FastAGI server's CPU per call (``pln123 bench agi``: the same command
sequence replayed over streams and over this protocol). The guarantees stay the same:

- every read is bounded: the header block by :data:`MAX_HEADER_BYTES` and a time
  limit, an answer line by :data:`MAX_LINE_BYTES`, unread lines by
  :data:`MAX_PENDING_LINES`; a peer that breaks a bound is logged and cut;
- a connection that closes, at any point, is a :class:`CallerHungUp` for whoever reads
  next (lines already received are still read first); no busy loop, no traceback;
- writes respect the transport's flow control (:meth:`drain` waits while it is paused).

It also times Asterisk's answers (``pln123_agi_command_seconds``): from writing a
command to the arrival of its first answer line, for the commands that do not wait for
the caller (:data:`CALLER_COMMANDS` are the ones that do: their time is the caller's).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ivr import metrics
from ivr.agi.errors import AgiError, AgiProtocolError, CallerHungUp

log = logging.getLogger("ivr.agi.server")

#: The header block (about 25 short lines from Asterisk) may not be longer than this.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_LINES = 200
#: One answer line; Asterisk's longest (a ``520`` usage text line) is far shorter.
MAX_LINE_BYTES = 8192
#: Lines received and not yet read; AGI answers one line per command, so more than a
#: handful means a peer that is not speaking AGI.
MAX_PENDING_LINES = 256

#: Command lines that wait for the caller (a prompt played, keys or speech awaited, a
#: dialplan application run): their answer comes when the caller is done, so their
#: round trip says nothing of Asterisk's and they are not timed. Every other command
#: (ANSWER, SET/GET VARIABLE, VERBOSE, HANGUP, CHANNEL STATUS...) is. Asterisk's
#: commands are upper case as :mod:`ivr.agi.channel` sends them.
CALLER_COMMANDS = (
    b"STREAM FILE ",
    b"CONTROL STREAM FILE ",
    b"WAIT FOR DIGIT ",
    b"GET DATA ",
    b"GET OPTION ",
    b"SAY ",
    b"EXEC ",
    b"RECORD FILE ",
    b"SPEECH RECOGNIZE ",
    b"RECEIVE ",
    b"GOSUB ",
)


class ConnectionOwner(Protocol):
    """What a connection needs from its server."""

    header_timeout: float

    def allowed(self, peer: str) -> bool:
        """Whether a peer address may connect."""
        ...

    def start_call(self, connection: AgiConnection, headers: dict[str, str]) -> None:
        """Run the call of a connection whose header block has arrived."""
        ...

    def forget(self, connection: AgiConnection) -> None:
        """The connection has closed."""
        ...


def parse_header_block(raw: bytes) -> dict[str, str]:
    """The ``agi_*`` headers of a block ending in an empty line.

    Raises :class:`AgiProtocolError` for a block that is not AGI.
    """
    lines = raw.decode("utf-8", errors="replace").replace("\r", "").rstrip("\n").split("\n")
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


class AgiConnection(asyncio.Protocol):
    """The bytes of one FastAGI session: headers in, command lines out, answers in."""

    def __init__(self, owner: ConnectionOwner) -> None:
        self._owner = owner
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self.peer = "?"
        self._buffer = b""
        self._in_headers = True
        self._header_timer: asyncio.TimerHandle | None = None
        self._lines: deque[bytes] = deque()
        self._waiter: asyncio.Future[bytes] | None = None
        #: Why no more lines will come (a factory: each reader gets an exception of its own).
        self._ended: Callable[[], AgiError] | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        #: ``perf_counter()`` when a timed command was written; 0.0: no answer to time.
        self._sent_at = 0.0

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peername = transport.get_extra_info("peername")
        self.peer = str(peername[0]) if peername else "?"
        if not self._owner.allowed(self.peer):
            self._cut(
                f"refused FastAGI connection from {self.peer}: not in agi.allow",
                lambda: CallerHungUp("connection refused"),
            )
            return
        self._header_timer = self._loop.call_later(
            self._owner.header_timeout, self._header_timed_out
        )

    def data_received(self, data: bytes) -> None:
        if self._ended is not None:
            return
        if self._in_headers:
            self._receive_headers(data)
        else:
            self._receive_lines(data)

    def eof_received(self) -> bool:
        return False  # close: an AGI peer that stops sending has ended the session

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._in_headers and self._ended is None:
            log.info("FastAGI peer %s closed before the header block ended", self.peer)
        if exc is None:
            self._end(lambda: CallerHungUp("connection closed in the answer"))
        else:
            self._end(lambda: CallerHungUp(f"connection lost: {exc}"))
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)  # the writer finds the connection ended
        self._owner.forget(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- reading ----------------------------------------------------------------------

    def _receive_headers(self, data: bytes) -> None:
        buffer = self._buffer + data
        end = buffer.find(b"\n\n")
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                self._fail(AgiProtocolError("header block longer than the limit"))
            else:
                self._buffer = buffer
            return
        self._buffer = b""
        self._in_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        try:
            headers = parse_header_block(buffer[: end + 2])
        except AgiProtocolError as exc:
            self._fail(exc)
            return
        self._owner.start_call(self, headers)
        rest = buffer[end + 2 :]
        if rest:
            self._receive_lines(rest)

    def _receive_lines(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = buffer[start:end]
            start = end + 1
            if len(line) > MAX_LINE_BYTES:
                self._fail(AgiProtocolError("AGI line too long"))
                return
            if self._sent_at:
                # The first line of the answer (a ``100 Trying`` too: Asterisk answered).
                metrics.METRICS.agi_command_seconds.observe(time.perf_counter() - self._sent_at)
                self._sent_at = 0.0
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                self._waiter = None
                waiter.set_result(line)
            else:
                self._lines.append(line)
        rest = buffer[start:]
        if len(rest) > MAX_LINE_BYTES:
            self._fail(AgiProtocolError("AGI line too long"))
            return
        if len(self._lines) > MAX_PENDING_LINES:
            self._fail(AgiProtocolError("the peer sends lines no command asked for"))
            return
        self._buffer = rest

    def next_line(self) -> asyncio.Future[bytes]:
        """The next answer line without its end, as a future to await: it fails with
        :class:`CallerHungUp` once the connection is gone, :class:`AgiProtocolError`
        when the peer broke a bound. (A future rather than a coroutine: one frame less
        on every AGI command.)"""
        line: asyncio.Future[bytes] = self._loop.create_future()
        if self._lines:
            # A line that came before the command was written answers no timed command.
            self._sent_at = 0.0
            line.set_result(self._lines.popleft())
        elif self._ended is not None:
            line.set_exception(self._ended())
        else:
            self._waiter = line
        return line

    # -- writing ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send bytes (one command line); :class:`CallerHungUp` when the connection is
        already gone. The answer's arrival is timed unless the command waits for the
        caller (:data:`CALLER_COMMANDS`)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise self._ended() if self._ended is not None else CallerHungUp("connection closed")
        self._sent_at = 0.0 if data.startswith(CALLER_COMMANDS) else time.perf_counter()
        transport.write(data)

    @property
    def write_paused(self) -> bool:
        """True while the peer does not take what is written (flow control)."""
        return self._write_paused

    async def drain(self) -> None:
        """Wait until the transport takes writes again (or the connection ends)."""
        while self._write_paused and self._ended is None:
            self._drain_waiter = self._loop.create_future()
            await self._drain_waiter
        self._drain_waiter = None

    def close(self) -> None:
        """End the session: what was written still goes out, then the socket closes."""
        if self._transport is not None:
            self._transport.close()

    # -- ending -----------------------------------------------------------------------

    def _end(self, error: Callable[[], AgiError]) -> None:
        """No more lines will come; a reader waiting now or later gets ``error()``."""
        if self._ended is None:
            self._ended = error
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_exception(self._ended())

    def _fail(self, error: AgiProtocolError) -> None:
        """The peer broke the protocol: no call starts, or the call sees ``error``."""
        self._cut(f"FastAGI peer {self.peer}: {error}", lambda: AgiProtocolError(str(error)))

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._in_headers and self._ended is None:
            self._cut(
                f"FastAGI peer {self.peer} sent no complete header block in time",
                lambda: CallerHungUp("no header block in time"),
            )

    def _cut(self, why: str, error: Callable[[], AgiError]) -> None:
        """Log ``why``, end reading with ``error()`` and close the connection."""
        log.warning("%s", why)
        self._buffer = b""
        self._end(error)
        if self._transport is not None:
            self._transport.close()
