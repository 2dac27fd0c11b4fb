"""The AudioSocket server against a client that speaks the protocol as Asterisk does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from collections.abc import AsyncIterator

import pytest

from ivr.speech.audiosocket import (
    FRAME_BYTES,
    KIND_AUDIO,
    KIND_DTMF,
    KIND_ERROR,
    KIND_TERMINATE,
    KIND_UUID,
    AudioSession,
    AudioSocketServer,
    message,
)

HOST = "127.0.0.1"
#: What the IVR sends before closing a connection on its own initiative.
HANGUP = message(KIND_TERMINATE)


class FakeAsterisk:
    """The Asterisk side of one AudioSocket connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, call: str | None) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection(HOST, port)
        client = cls(reader, writer)
        if call is not None:
            await client.send(KIND_UUID, uuid.UUID(call).bytes)
        return client

    async def send(self, kind: int, payload: bytes = b"") -> None:
        await self.raw(message(kind, payload))

    async def raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_message(self, timeout: float = 2.0) -> tuple[int, bytes] | None:
        """The next message from the IVR, or None at the end of the stream."""
        async with asyncio.timeout(timeout):
            try:
                kind, length = struct.unpack(">BH", await self.reader.readexactly(3))
                return kind, await self.reader.readexactly(length)
            except asyncio.IncompleteReadError:
                return None

    async def answer_hangup(self) -> int:
        """As Asterisk does: read to the IVR's hangup message, then close; the audio
        frames read on the way."""
        frames = 0
        while (got := await self.read_message()) is not None and got[0] != KIND_TERMINATE:
            frames += got[0] == KIND_AUDIO
        await self.close()
        return frames

    async def rest(self, timeout: float = 2.0) -> bytes:
        """Everything the IVR still sends until it closes the connection."""
        async with asyncio.timeout(timeout):
            return await self.reader.read()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[AudioSocketServer]:
    audio = AudioSocketServer(HOST, 0, read_timeout=1.0)
    await audio.start()
    yield audio
    await audio.close()


async def hang_up(session: AudioSession, asterisk: FakeAsterisk) -> None:
    """The IVR hangs up and Asterisk answers as it does."""
    await asyncio.gather(session.hangup(), asterisk.answer_hangup())
    assert session.end_reason == "hung up by the IVR"


def new_call() -> str:
    return str(uuid.uuid4())


def frame(value: int) -> bytes:
    return struct.pack("<h", value) * (FRAME_BYTES // 2)


async def connected_pair(server: AudioSocketServer) -> tuple[AudioSession, FakeAsterisk]:
    call = new_call()
    session = server.expect(call)
    asterisk = await FakeAsterisk.connect(server.port, call)
    await session.connected(1.0)
    return session, asterisk


async def check_still_serving(server: AudioSocketServer) -> None:
    session, asterisk = await connected_pair(server)
    await asterisk.send(KIND_AUDIO, frame(7))
    async with asyncio.timeout(1.0):
        assert await anext(aiter(session.frames())) == frame(7)
    await hang_up(session, asterisk)


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert all(record.exc_info is None for record in caplog.records)


# --- Asterisk to the IVR -------------------------------------------------------------------


async def test_audio_and_keys_then_asterisk_hangs_up(server: AudioSocketServer) -> None:
    session, asterisk = await connected_pair(server)
    assert session.is_connected
    for value in range(3):
        await asterisk.send(KIND_AUDIO, frame(value))
    await asterisk.send(KIND_DTMF, b"5")
    await asterisk.send(KIND_AUDIO, frame(3))
    await asterisk.send(KIND_DTMF, b"#")
    await asterisk.send(KIND_TERMINATE)

    async with asyncio.timeout(2.0):
        received = [payload async for payload in session.frames()]
        keys = [await session.next_key(), await session.next_key(), await session.next_key()]
    assert received == [frame(0), frame(1), frame(2), frame(3)]
    assert keys == ["5", "#", None]
    assert session.key_pressed.is_set()
    assert session.end_reason == "Asterisk hung up"
    assert await asterisk.rest() == b""
    # Both iterators stay finished for a second reader.
    assert [payload async for payload in session.frames()] == []
    assert await session.next_key() is None
    await asterisk.close()


async def test_the_uuid_may_be_given_in_any_spelling(server: AudioSocketServer) -> None:
    call = new_call()
    session = server.expect(call.upper())
    asterisk = await FakeAsterisk.connect(server.port, call)
    await session.connected(1.0)
    await hang_up(session, asterisk)


async def test_an_error_message_ends_the_session(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    session, asterisk = await connected_pair(server)
    await asterisk.send(KIND_ERROR, b"\x02")
    async with asyncio.timeout(1.0):
        await session.ended.wait()
    assert session.end_reason == "Asterisk reported an error code 0x02"
    await asterisk.close()


# --- the IVR to Asterisk -------------------------------------------------------------------


async def test_the_ivr_hangs_up_and_waits_for_asterisk_to_close(
    server: AudioSocketServer,
) -> None:
    session, asterisk = await connected_pair(server)
    hanging_up = asyncio.create_task(session.hangup())
    # Asterisk's audio keeps coming until it reads the hangup; none of it is lost on
    # the way back, and the IVR does not close first (that would reset the connection).
    for value in range(20):
        await asterisk.send(KIND_AUDIO, frame(value))
    assert await asterisk.read_message() == (KIND_TERMINATE, b"")
    await asyncio.sleep(0.05)
    assert not hanging_up.done()
    await asterisk.close()
    async with asyncio.timeout(1.0):
        await hanging_up
    assert session.end_reason == "hung up by the IVR"
    await session.hangup()  # twice is harmless


async def test_the_ivr_closes_if_asterisk_does_not() -> None:
    audio = AudioSocketServer(HOST, 0, read_timeout=0.2)
    await audio.start()
    try:
        session, asterisk = await connected_pair(audio)
        await session.hangup()
        assert await asterisk.read_message() == (KIND_TERMINATE, b"")
        assert await asterisk.rest() == b""
        assert session.end_reason == "hung up by the IVR"
        await asterisk.close()
    finally:
        await audio.close()


async def test_play_is_paced_at_real_time_without_drift(server: AudioSocketServer) -> None:
    session, asterisk = await connected_pair(server)
    loop = asyncio.get_running_loop()
    frames = 50
    pcm = b"".join(frame(index) for index in range(frames - 1)) + frame(frames - 1)[:100]
    arrivals: list[float] = []

    async def listen() -> None:
        for _ in range(frames):
            got = await asterisk.read_message()
            assert got is not None
            arrivals.append(loop.time())
            assert got[0] == KIND_AUDIO
            assert len(got[1]) == FRAME_BYTES

    listener = asyncio.create_task(listen())
    start = loop.time()
    assert await session.play(pcm)
    await listener
    # Frame i is due at start + 20 ms * i; each may be a little late, none early,
    # and the lateness does not add up over the second.
    lateness = [arrival - (start + 0.02 * index) for index, arrival in enumerate(arrivals)]
    assert min(lateness) >= -0.001
    assert max(lateness) < 0.015, lateness
    assert arrivals[-1] - arrivals[0] == pytest.approx(0.98, abs=0.015)
    await hang_up(session, asterisk)


async def test_a_key_barges_in_on_the_prompt(server: AudioSocketServer) -> None:
    session, asterisk = await connected_pair(server)
    loop = asyncio.get_running_loop()
    received = 0

    async def listen_then_press() -> None:
        nonlocal received
        while (got := await asterisk.read_message()) is not None and got[0] == KIND_AUDIO:
            received += 1
            if received == 10:
                await asterisk.send(KIND_DTMF, b"1")
        await asterisk.close()  # after the IVR's hangup, as Asterisk does

    caller = asyncio.create_task(listen_then_press())
    start = loop.time()
    finished = await session.play(frame(1) * 100, barge_in=[session.key_pressed])
    stopped = loop.time() - start
    assert not finished
    assert stopped < 0.3  # 2 s prompt, key after 10 frames
    assert await session.next_key() == "1"
    await session.hangup()
    await caller
    assert received <= 13


async def test_a_cancelled_prompt_stops_and_the_cancel_goes_through(
    server: AudioSocketServer,
) -> None:
    session, asterisk = await connected_pair(server)
    speech = asyncio.Event()
    prompt = asyncio.create_task(session.play(frame(1) * 100, barge_in=[speech]))
    await asyncio.sleep(0.1)
    prompt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await prompt
    sent = 0
    with contextlib.suppress(TimeoutError):
        while await asterisk.read_message(timeout=0.2) is not None:
            sent += 1
    assert sent <= 7  # about 5 frames in 0.1 s, then nothing
    # A speech event stops the next prompt at once.
    speech.set()
    assert not await session.play(frame(1) * 10, barge_in=[speech])
    await hang_up(session, asterisk)


async def test_play_after_the_end_does_nothing(server: AudioSocketServer) -> None:
    session, asterisk = await connected_pair(server)
    await asterisk.send(KIND_TERMINATE)
    async with asyncio.timeout(1.0):
        await session.ended.wait()
    assert not await session.play(frame(1) * 10)
    await asterisk.close()


# --- what ends a session ------------------------------------------------------------------


async def test_eof_mid_message_ends_the_session_cleanly(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    session, asterisk = await connected_pair(server)
    await asterisk.send(KIND_AUDIO, frame(1))
    await asterisk.raw(struct.pack(">BH", KIND_AUDIO, FRAME_BYTES) + b"\0" * 100)
    await asterisk.close()
    async with asyncio.timeout(1.0):
        assert [payload async for payload in session.frames()] == [frame(1)]
    assert session.end_reason == "connection closed mid-message"
    assert "mid-message" in caplog.text
    no_tracebacks(caplog)
    await check_still_serving(server)


async def test_a_cut_connection_ends_the_session(server: AudioSocketServer) -> None:
    session, asterisk = await connected_pair(server)
    asterisk.writer.transport.abort()
    async with asyncio.timeout(1.0):
        await session.ended.wait()
    assert not await session.play(frame(1) * 5)
    await check_still_serving(server)


async def test_an_unknown_uuid_is_refused(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    expected = server.expect(new_call())
    stranger = new_call()
    asterisk = await FakeAsterisk.connect(server.port, stranger)
    assert await asterisk.rest() == HANGUP
    assert f"unknown UUID {stranger}" in caplog.text
    assert not expected.ended.is_set()
    no_tracebacks(caplog)
    await asterisk.close()
    await check_still_serving(server)


async def test_audio_before_the_uuid_is_refused(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    asterisk = await FakeAsterisk.connect(server.port, None)
    await asterisk.send(KIND_AUDIO, frame(1))
    assert await asterisk.rest() == HANGUP
    assert "before the UUID" in caplog.text
    await asterisk.close()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (struct.pack(">BH", KIND_DTMF, 2) + b"12", "type 0x03 with a payload of 2 bytes"),
        (struct.pack(">BH", KIND_AUDIO, 3) + b"abc", "type 0x10 with a payload of 3 bytes"),
        (struct.pack(">BH", KIND_AUDIO, 0), "type 0x10 with a payload of 0 bytes"),
        (struct.pack(">BH", KIND_AUDIO, 65535), "type 0x10 with a payload of 65535 bytes"),
        (struct.pack(">BH", KIND_TERMINATE, 4) + b"oops", "type 0x00 with a payload of 4"),
        (struct.pack(">BH", 0x42, 1) + b"x", "unknown message type 0x42"),
        (struct.pack(">BH", KIND_DTMF, 1) + b"x", "DTMF message with b'x'"),
        (message(KIND_UUID, uuid.uuid4().bytes), "unexpected type 0x01 after the UUID"),
    ],
)
async def test_a_malformed_message_ends_that_session(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture, header: bytes, reason: str
) -> None:
    caplog.set_level(logging.WARNING)
    session, asterisk = await connected_pair(server)
    await asterisk.raw(header)
    async with asyncio.timeout(1.0):
        await session.ended.wait()
    assert reason in session.end_reason
    assert reason in caplog.text
    assert await asterisk.rest() == HANGUP
    no_tracebacks(caplog)
    await asterisk.close()
    await check_still_serving(server)


async def test_a_silent_connection_times_out(caplog: pytest.LogCaptureFixture) -> None:
    audio = AudioSocketServer(HOST, 0, read_timeout=0.2)
    await audio.start()
    try:
        session, asterisk = await connected_pair(audio)
        async with asyncio.timeout(1.0):
            await session.ended.wait()
        assert session.end_reason == "nothing read in time"
        assert await asterisk.rest() == HANGUP
        await asterisk.close()
    finally:
        await audio.close()
    no_tracebacks(caplog)


async def test_a_session_that_never_connects_times_out(server: AudioSocketServer) -> None:
    call = new_call()
    session = server.expect(call)
    with pytest.raises(TimeoutError):
        await session.connected(0.05)
    assert session.ended.is_set()
    assert [payload async for payload in session.frames()] == []
    # Too late: Asterisk's connection is refused, and the UUID may be expected again.
    asterisk = await FakeAsterisk.connect(server.port, call)
    assert await asterisk.rest() == HANGUP
    await asterisk.close()
    server.expect(call)


async def test_waiting_for_a_session_the_ivr_gave_up_on(server: AudioSocketServer) -> None:
    session = server.expect(new_call())
    waiting = asyncio.create_task(session.connected(5.0))
    await asyncio.sleep(0)
    await session.hangup()
    with pytest.raises(ConnectionError):
        await waiting


async def test_a_uuid_is_expected_once(server: AudioSocketServer) -> None:
    call = new_call()
    server.expect(call)
    with pytest.raises(ValueError):
        server.expect(call)


async def test_queued_audio_can_be_dropped_before_a_window(server: AudioSocketServer) -> None:
    session, asterisk = await connected_pair(server)
    for value in range(3):
        await asterisk.send(KIND_AUDIO, frame(value))
    await asterisk.send(KIND_DTMF, b"9")  # a marker: all three frames are in by then
    assert await session.next_key() == "9"
    assert session.drop_audio() == 3
    await asterisk.send(KIND_AUDIO, frame(4))
    await asterisk.send(KIND_TERMINATE)
    async with asyncio.timeout(1.0):
        await session.ended.wait()
    assert session.drop_audio() == 1
    assert [payload async for payload in session.frames()] == []
    await asterisk.close()


async def test_closing_the_server_ends_its_sessions() -> None:
    audio = AudioSocketServer(HOST, 0, read_timeout=30.0)
    await audio.start()
    session, asterisk = await connected_pair(audio)
    waiting = audio.expect(new_call())
    mute = await FakeAsterisk.connect(audio.port, None)  # connected, no UUID yet
    loop = asyncio.get_running_loop()
    start = loop.time()
    await audio.close()
    assert loop.time() - start < 0.5
    assert session.ended.is_set()
    assert waiting.ended.is_set()
    assert await asterisk.rest() == HANGUP
    assert await mute.rest() == HANGUP
    await asterisk.close()
    await mute.close()


async def test_pending_keys_are_taken_once_and_in_order() -> None:
    session = AudioSession("00000000-0000-0000-0000-000000000001", read_timeout=1.0)
    for key in "532":
        session._deliver(KIND_DTMF, key.encode())
    assert await session.next_key() == "5"
    assert session.pending_keys() == "32"
    assert session.pending_keys() == ""
