"""AgiPort with run-time speech and listening handed in (the engine's RuntimeVoice and
SpeechTurns), and the speech side's implementations: which AGI commands a prompt and a
listening window send, and the fallbacks (TTS failure: the part skipped with a warning;
no speech or a failed audio path: keys only; a hang-up during AudioSocket ends the
call; an AudioSocket that never returns is a failure)."""

from __future__ import annotations

import asyncio
import logging
import wave
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import cast

import pytest

from ivr.agi.channel import AgiChannel, StreamResult
from ivr.agi.errors import CallerHungUp as AgiCallerHungUp
from ivr.agi.port import AgiPort
from ivr.config import SpeechSettings
from ivr.engine import port as engine_port
from ivr.engine.port import (
    Audio,
    Digits,
    RuntimeVoice,
    Segment,
    SpeechTurn,
    SpeechTurns,
    StartAudio,
)
from ivr.language.grammars import InputGrammar, digits_grammar
from ivr.prompts.tts import TtsError, speech_key
from ivr.speech import listener as listener_module
from ivr.speech.dynamic import DynamicSounds, DynamicSpeech
from ivr.speech.listener import SpeechListener
from ivr.speech.prompt_audio import PromptAudio

FILLED = Audio("sapaan", "Selamat datang kembali, Bapak Budi.", None, dynamic=True)


class FakeChannel:
    """Records the AGI commands AgiPort sends; ``exec`` can fail."""

    def __init__(self, exec_error: Exception | None = None) -> None:
        self.sent: list[str] = []
        self.exec_error = exec_error

    async def stream_file(
        self, name: str, escape_digits: str = "", max_seconds: float = 180.0
    ) -> StreamResult:
        self.sent.append(f"STREAM FILE {name}")
        return StreamResult(key=None, endpos=0)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        self.sent.append(f"SAY DIGITS {digits}")
        return None

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        self.sent.append(f"SAY NUMBER {number}")
        return None

    async def exec(self, application: str, args: str = "") -> int:
        self.sent.append(f"EXEC {application} {args}")
        if self.exec_error is not None:
            raise self.exec_error
        return 0


def agi_port(
    channel: FakeChannel, voice: RuntimeVoice | None = None, speech: SpeechTurns | None = None
) -> AgiPort:
    return AgiPort(cast(AgiChannel, channel), "c1", voice=voice, speech=speech)


class TinySpeaker:
    """Writes a short wav, or fails like espeak-ng."""

    voice = "id"
    rate = 150

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def render(self, text: str, target: Path) -> None:
        if self.fail:
            raise TtsError("espeak-ng failed: broken on purpose")
        with wave.open(str(target), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\x01\x00" * 800)


@pytest.fixture
async def speech(tmp_path: Path) -> AsyncIterator[DynamicSpeech]:
    dynamic = DynamicSpeech(tmp_path, TinySpeaker())
    yield dynamic
    dynamic.close()


async def test_filled_prompts_play_the_sound_spoken_at_run_time(speech: DynamicSpeech) -> None:
    channel = FakeChannel()
    port = agi_port(channel, voice=DynamicSounds(speech, "pln123/dynamic"))
    await port.play([FILLED, Digits("12")], "")
    filled = speech_key(FILLED.text, "id", 150)
    digits = speech_key("satu dua", "id", 150)
    assert channel.sent == [
        f"STREAM FILE pln123/dynamic/{filled}",
        f"STREAM FILE pln123/dynamic/{digits}",
    ]


async def test_a_failed_render_skips_the_part_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The filled prompt is left out; digits fall back to Asterisk's own voice."""
    failing = DynamicSpeech(tmp_path, TinySpeaker(fail=True))
    try:
        channel = FakeChannel()
        port = agi_port(channel, voice=DynamicSounds(failing, "pln123/dynamic"))
        with caplog.at_level(logging.WARNING):
            await port.play([FILLED, Digits("12")], "")
    finally:
        failing.close()
    assert channel.sent == ["SAY DIGITS 12"]
    assert "call c1: a prompt part was not spoken: espeak-ng failed" in caplog.text


async def test_without_run_time_speech_asterisk_says_the_values() -> None:
    channel = FakeChannel()
    await agi_port(channel).play([FILLED, Digits("12")], "")
    assert channel.sent == ["SAY DIGITS 12"]


async def test_without_speech_a_call_takes_keys_only() -> None:
    channel = FakeChannel()
    assert await agi_port(channel).listen_speech([], digits_grammar(), 1.0) is None
    assert channel.sent == []


class OneTurn:
    """SpeechTurns that starts the audio with a fixed argument and answers ``7``."""

    async def turn(
        self,
        start_audio: StartAudio,
        segments: Sequence[Segment],
        grammar: InputGrammar,
        timeout: float,
    ) -> SpeechTurn | None:
        await start_audio("0f1e2d3c-0000-4000-8000-000000000001,127.0.0.1:4575")
        return SpeechTurn(key="7")


async def test_a_listening_window_runs_audiosocket_on_the_call() -> None:
    channel = FakeChannel()
    turn = await agi_port(channel, speech=OneTurn()).listen_speech([], digits_grammar(), 1.0)
    assert turn == SpeechTurn(key="7")
    assert channel.sent == ["EXEC AudioSocket 0f1e2d3c-0000-4000-8000-000000000001,127.0.0.1:4575"]


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpeechListener:
    """A listener whose server Asterisk never reaches (the model is never loaded: a
    window that does not connect needs none)."""
    monkeypatch.setattr(listener_module, "CONNECT_TIMEOUT", 0.1)
    settings = SpeechSettings(model_path=tmp_path / "model", connect_to="127.0.0.1:9")
    return SpeechListener(settings, PromptAudio(tmp_path, "pln123"))


async def test_a_failed_audio_path_means_keys_only(
    listener: SpeechListener, caplog: pytest.LogCaptureFixture
) -> None:
    channel = FakeChannel(exec_error=RuntimeError("AudioSocket: no such application"))
    port = agi_port(channel, speech=listener)
    with caplog.at_level(logging.WARNING):
        assert await port.listen_speech([], digits_grammar(), 1.0) is None
    assert channel.sent[0].startswith("EXEC AudioSocket ")
    assert channel.sent[0].endswith(",127.0.0.1:9")
    assert "did not connect to AudioSocket; keys only" in caplog.text
    assert "AudioSocket command failed: AudioSocket: no such application" in caplog.text


async def test_a_hang_up_during_audiosocket_ends_the_call(listener: SpeechListener) -> None:
    channel = FakeChannel(exec_error=AgiCallerHungUp("caller hung up"))
    port = agi_port(channel, speech=listener)
    with pytest.raises(engine_port.CallerHungUp, match="caller hung up"):
        await port.listen_speech([], digits_grammar(), 1.0)


async def test_an_audiosocket_that_never_returns_is_a_failure(listener: SpeechListener) -> None:
    """A timeout the engine treats as an IVR failure (the caller goes to a CSO); about
    five seconds: the listener's grace for the command."""

    async def stuck(argument: str) -> None:
        await asyncio.Event().wait()

    with pytest.raises(TimeoutError, match="did not return"):
        await listener.turn(stuck, [], digits_grammar(), 1.0)
