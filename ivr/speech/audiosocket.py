"""The IVR's AudioSocket server: the caller's audio and keys in, the prompt out.

During a speech-enabled listening window the AGI session runs ``EXEC AudioSocket
<uuid>,<host>:<port>`` on the caller's channel. Asterisk then connects here, sends the
UUID, then the caller's audio (signed-linear 16-bit, 8 kHz, mono, little-endian; normally
20 ms = 320 bytes a frame) and each key the caller presses. What the IVR sends back is
played to the caller. When the IVR is done it sends a hangup message and closes the
socket; the AudioSocket application returns and the AGI script goes on.

Every message is one byte of type, two bytes of payload length (big-endian), the payload.

The session is registered with :meth:`AudioSocketServer.expect` *before* the AGI
command goes out, so a connection can never arrive for a session nobody is waiting for;
a connection carrying any other UUID is refused. Every read has a time limit; the end
of the stream, a cut connection, a read that times out or a malformed message ends that
session only (one log line, no traceback) and the server keeps serving.

Asterisk's AudioSocket application returns 0 when it reads a hangup message, and -1
(an error: ``200 result=-1`` to the AGI's EXEC) when its socket fails. So whenever
the IVR ends a connection itself (done listening, a refused UUID, a malformed message,
a silent peer, the server closing) it sends a hangup message first, and when it is done
listening it lets Asterisk close the connection (:meth:`AudioSession.hangup`). Each
message goes out in one write: Asterisk gives a payload only 5 ms to follow its header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid as uuid_module
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final

log = logging.getLogger(__name__)

KIND_TERMINATE: Final = 0x00
KIND_UUID: Final = 0x01
KIND_DTMF: Final = 0x03
KIND_AUDIO: Final = 0x10
KIND_ERROR: Final = 0xFF

HEADER: Final = struct.Struct(">BH")
#: The caller's audio and the prompt: signed-linear 16-bit at 8 kHz.
SAMPLE_RATE: Final = 8000
FRAME_SECONDS: Final = 0.02
#: One 20 ms frame of 8 kHz 16-bit audio.
FRAME_BYTES: Final = int(SAMPLE_RATE * FRAME_SECONDS) * 2
DTMF_KEYS: Final = frozenset("0123456789*#ABCD")
#: Caller audio kept for a consumer that lags or does not read it (a keys-only window):
#: ten seconds; beyond that the oldest frames are dropped.
MAX_QUEUED_FRAMES: Final = 500
HUNG_UP: Final = "hung up by the IVR"
#: Seconds :meth:`AudioSocketServer.close` waits for its closed connections' handlers.
CLOSE_GRACE: Final = 1.0
#: An audio payload larger than this (one second) is no frame Asterisk sends.
MAX_AUDIO_BYTES: Final = SAMPLE_RATE * 2


class MalformedMessage(Exception):
    """A message that breaks the protocol: unknown type or a length its type forbids."""


def message(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket message: type, big-endian payload length, payload."""
    return HEADER.pack(kind, len(payload)) + payload


def _check_length(kind: int, length: int) -> None:
    """Refuse a length the message's type cannot have, before reading the payload."""
    if kind == KIND_AUDIO:
        valid = 0 < length <= MAX_AUDIO_BYTES and length % 2 == 0
    elif kind == KIND_DTMF:
        valid = length == 1
    elif kind == KIND_UUID:
        valid = length == 16
    elif kind == KIND_TERMINATE:
        valid = length == 0
    elif kind == KIND_ERROR:
        valid = length <= 1
    else:
        raise MalformedMessage(f"unknown message type 0x{kind:02x}")
    if not valid:
        raise MalformedMessage(f"type 0x{kind:02x} with a payload of {length} bytes")


async def _read_message(reader: asyncio.StreamReader, read_timeout: float) -> tuple[int, bytes]:
    """The next message; raises TimeoutError, IncompleteReadError or MalformedMessage."""
    async with asyncio.timeout(read_timeout):
        kind, length = HEADER.unpack(await reader.readexactly(HEADER.size))
        _check_length(kind, length)
        payload = await reader.readexactly(length) if length else b""
    return kind, payload


def canonical_uuid(value: str) -> str:
    """``value`` in the one spelling sessions are filed under (lower-case, dashed)."""
    return str(uuid_module.UUID(value))


class AudioSession:
    """One caller's AudioSocket connection, registered before Asterisk connects.

    Audio payloads come out of :meth:`frames`; keys out of :meth:`next_key`, and
    :attr:`key_pressed` is set at the first one (a key always wins over speech).
    """

    def __init__(
        self,
        uuid: str,
        read_timeout: float,
        on_end: Callable[[AudioSession], None] = lambda session: None,
    ) -> None:
        self.uuid = uuid
        self.key_pressed = asyncio.Event()
        #: Set when the session is over, for whatever reason (see :attr:`end_reason`).
        self.ended = asyncio.Event()
        self.end_reason = ""
        self._read_timeout = read_timeout
        self._attached = asyncio.Event()
        #: Set when Asterisk connects or the session ends, whichever comes first.
        self._settled = asyncio.Event()
        self._audio: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._keys: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer: asyncio.StreamWriter | None = None
        self._hanging_up = False
        #: Set when Asterisk's end of the connection is closed (or the connection lost).
        self._peer_closed = asyncio.Event()
        self._dropped_frames = 0
        self._on_end = on_end

    @property
    def is_connected(self) -> bool:
        """Asterisk has connected and the session has not ended."""
        return self._attached.is_set() and not self.ended.is_set()

    async def connected(self, timeout: float) -> None:
        """Wait for Asterisk's connection; TimeoutError (and the session ends) if none.

        ConnectionError if the session ended first (the server closed, or the IVR hung up).
        """
        try:
            async with asyncio.timeout(timeout):
                await self._settled.wait()
        except TimeoutError:
            self._end("Asterisk never connected")
            raise
        if not self._attached.is_set():
            raise ConnectionError(f"AudioSocket session {self.uuid} ended: {self.end_reason}")

    async def frames(self) -> AsyncIterator[bytes]:
        """The caller's audio payloads as they arrive, until the session ends."""
        while True:
            frame = await self._audio.get()
            if frame is None:
                self._audio.put_nowait(None)  # for the next reader too
                return
            yield frame

    def drop_audio(self) -> int:
        """Forget the audio queued so far (before a listening window); how many frames."""
        dropped = 0
        while not self._audio.empty():
            if self._audio.get_nowait() is None:  # the end stays the end
                self._audio.put_nowait(None)
                break
            dropped += 1
        return dropped

    async def next_key(self) -> str | None:
        """The next key the caller pressed, or ``None`` once the session has ended."""
        key = await self._keys.get()
        if key is None:
            self._keys.put_nowait(None)
        return key

    def pending_keys(self) -> str:
        """The keys received and not yet taken, taken now (the rest of an answer the
        caller keyed while the IVR was closing the window)."""
        keys = ""
        while not self._keys.empty():
            key = self._keys.get_nowait()
            if key is None:
                self._keys.put_nowait(None)
                break
            keys += key
        return keys

    async def play(self, pcm: bytes, *, barge_in: Sequence[asyncio.Event] = ()) -> bool:
        """Play ``pcm`` (8 kHz signed-linear) to the caller, paced at real time.

        Frame ``i`` is due at ``start + i * 20 ms`` on the loop clock, so a late wake-up
        is made up at the next frame instead of adding up; frames already overdue go
        out at once. Returns True when all of it was sent; False as soon as one of the
        ``barge_in`` events is set (checked before every frame) or the session ends.
        Cancelling the task stops the prompt too: a whole frame is written at a time.
        """
        writer = self._writer
        if writer is None or self.ended.is_set():
            return False
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), FRAME_BYTES)):
            delay = start + index * FRAME_SECONDS - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.ended.is_set() or any(event.is_set() for event in barge_in):
                return False
            frame = pcm[offset : offset + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
            writer.write(message(KIND_AUDIO, frame))
            if not await self._drain(writer):
                return False
        return True

    async def hangup(self) -> None:
        """Tell Asterisk the IVR is done, so that its AudioSocket application returns 0.

        Asterisk closes its end once it has read the hangup message; the IVR waits for
        that (at most the read timeout) before closing its own. Closing first, with the
        caller's audio still arriving, would reset the connection, and an AudioSocket
        application whose read fails returns -1 instead of 0.
        """
        if self._hanging_up or self.ended.is_set():
            await self.ended.wait()
            return
        self._hanging_up = True
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(message(KIND_TERMINATE))
            if await self._drain(writer):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._read_timeout):
                        await self._peer_closed.wait()
        self._end(HUNG_UP)

    async def _drain(self, writer: asyncio.StreamWriter) -> bool:
        """Wait for the socket to take what was written; False (session over) if not."""
        try:
            async with asyncio.timeout(self._read_timeout):
                await writer.drain()
        except (OSError, TimeoutError) as exc:
            self._end(f"cannot send: {exc!r}")
            return False
        return True

    def _attach(self, writer: asyncio.StreamWriter) -> bool:
        if self._attached.is_set() or self.ended.is_set():
            return False
        self._writer = writer
        self._attached.set()
        self._settled.set()
        return True

    def _deliver(self, kind: int, payload: bytes) -> str | None:
        """Take one message from Asterisk; the reason to end the session, if any."""
        if kind == KIND_AUDIO:
            if self._hanging_up:
                return None
            if self._audio.qsize() >= MAX_QUEUED_FRAMES:
                self._audio.get_nowait()
                self._dropped_frames += 1
            self._audio.put_nowait(payload)
        elif kind == KIND_DTMF:
            key = payload.decode("ascii", errors="replace")
            if key not in DTMF_KEYS:
                raise MalformedMessage(f"DTMF message with {payload!r}")
            if self._hanging_up:
                return None
            self._keys.put_nowait(key)
            self.key_pressed.set()
        elif kind == KIND_TERMINATE:
            return "Asterisk hung up"
        elif kind == KIND_ERROR:
            code = f" code 0x{payload[0]:02x}" if payload else ""
            return f"Asterisk reported an error{code}"
        else:  # a second UUID
            raise MalformedMessage(f"unexpected type 0x{kind:02x} after the UUID")
        return None

    def _end(self, reason: str, *, terminate: bool = False) -> None:
        """End the session; with ``terminate``, send Asterisk a last hangup message
        (best effort: it lets the AudioSocket application return 0 rather than -1)."""
        if self.ended.is_set():
            return
        self.end_reason = HUNG_UP if self._hanging_up else reason
        self.ended.set()
        self._settled.set()
        self._audio.put_nowait(None)
        self._keys.put_nowait(None)
        if self._dropped_frames:
            log.warning(
                "audiosocket %s: %d audio frames dropped (nobody read them)",
                self.uuid,
                self._dropped_frames,
            )
        if self._writer is not None:
            if terminate and not self._hanging_up and not self._writer.is_closing():
                self._writer.write(message(KIND_TERMINATE))
            self._writer.close()
        self._on_end(self)


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections for the sessions the IVR expects."""

    def __init__(self, host: str, port: int = 0, read_timeout: float = 5.0) -> None:
        self.host = host
        self._port = port
        self.read_timeout = read_timeout
        self._server: asyncio.Server | None = None
        self._sessions: dict[str, AudioSession] = {}
        #: Each open connection's handler task and writer.
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose, for port 0) once started."""
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self._port)

    async def close(self) -> None:
        """Stop listening, end every session and wait for their connections to close."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions.values()):
            session._end("server closed", terminate=True)
        if self._server is not None:
            await self._server.wait_closed()
        for writer in self._connections.values():  # a connection yet to name its UUID too
            if not writer.is_closing():
                writer.write(message(KIND_TERMINATE))
                writer.close()
        if self._connections:
            _, pending = await asyncio.wait(self._connections, timeout=CLOSE_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    def expect(self, uuid: str) -> AudioSession:
        """Register a session for ``uuid``; call before sending the AGI command."""
        key = canonical_uuid(uuid)
        if key in self._sessions:
            raise ValueError(f"an AudioSocket session for {key} is already expected")
        session = AudioSession(key, self.read_timeout, on_end=self._forget)
        self._sessions[key] = session
        return session

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        try:
            session = await self._identify(reader, peer)
            if session is None or not session._attach(writer):
                if session is not None:
                    log.warning("audiosocket %s: refused a second connection", session.uuid)
                # A hangup message, so that the AudioSocket application returns 0.
                writer.write(message(KIND_TERMINATE))
                return
            reason, terminate = await self._serve(session, reader)
            session._peer_closed.set()
            session._end(reason, terminate=terminate)
            log.info("audiosocket %s: ended: %s", session.uuid, session.end_reason)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if task is not None:
                self._connections.pop(task, None)

    async def _identify(self, reader: asyncio.StreamReader, peer: object) -> AudioSession | None:
        """The session the connection's first message (its UUID) names, or None."""
        try:
            kind, payload = await _read_message(reader, self.read_timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, MalformedMessage) as exc:
            log.warning("audiosocket from %s: no UUID (%s); closed", peer, _describe(exc))
            return None
        if kind != KIND_UUID:
            log.warning("audiosocket from %s: type 0x%02x before the UUID; closed", peer, kind)
            return None
        key = str(uuid_module.UUID(bytes=payload))
        session = self._sessions.get(key)
        if session is None:
            log.warning("audiosocket from %s: unknown UUID %s; refused", peer, key)
        return session

    async def _serve(self, session: AudioSession, reader: asyncio.StreamReader) -> tuple[str, bool]:
        """Read the session's messages until the connection is done.

        The reason it ended, and whether Asterisk is still listening (and should be
        told to hang up): after a malformed message or a silence, not after an EOF.
        """
        while True:
            try:
                kind, payload = await _read_message(reader, self.read_timeout)
                reason = session._deliver(kind, payload)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, MalformedMessage) as exc:
                reason = _describe(exc)
                if not isinstance(exc, asyncio.IncompleteReadError) or exc.partial:
                    log.warning("audiosocket %s: %s; session ended", session.uuid, reason)
                return reason, isinstance(exc, MalformedMessage | TimeoutError)
            if reason is not None:
                return reason, False

    def _forget(self, session: AudioSession) -> None:
        if self._sessions.get(session.uuid) is session:
            del self._sessions[session.uuid]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed" + (" mid-message" if exc.partial else "")
    if isinstance(exc, TimeoutError):
        return "nothing read in time"
    if isinstance(exc, MalformedMessage):
        return f"malformed message: {exc}"
    return f"connection lost: {exc!r}"
