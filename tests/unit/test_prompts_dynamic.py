"""Run-time speech: the cache, one render per text, the event loop kept free, and the
spoken forms of values."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import wave
from array import array
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.prompts.tts import Speaker, TtsError, speech_key
from ivr.speech.dynamic import SPOKEN_KINDS, DynamicSpeech, spoken_form

TEXT = "Selamat datang kembali, Bapak Budi."


class CountingSpeaker:
    """Wraps a speaker: counts renders, can hold a render until ``gate`` opens and
    can fail. With ``real=False`` it writes a tiny wav instead of speaking."""

    def __init__(self, real: bool = True, rate: int = 150) -> None:
        self._speaker = Speaker(rate=rate)
        self._real = real
        self.renders: list[str] = []
        self.started = threading.Event()
        self.gate: threading.Event | None = None
        self.fail = False
        self.seconds = 0.0

    @property
    def voice(self) -> str:
        return self._speaker.voice

    @property
    def rate(self) -> int:
        return self._speaker.rate

    def render(self, text: str, target: Path) -> None:
        began = time.monotonic()
        self.renders.append(text)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=2), "the gate never opened"
        if self.fail:
            raise TtsError("espeak-ng failed: broken on purpose")
        if self._real:
            self._speaker.render(text, target)
        else:
            with wave.open(str(target), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(8000)
                wav.writeframes(b"\x01\x00" * 800)
        self.seconds = time.monotonic() - began


@pytest.fixture
def speaker() -> CountingSpeaker:
    return CountingSpeaker()


@pytest.fixture
async def speech(tmp_path: Path, speaker: CountingSpeaker) -> AsyncIterator[DynamicSpeech]:
    dynamic = DynamicSpeech(tmp_path / "cache", speaker)
    yield dynamic
    dynamic.close()


async def test_a_text_is_rendered_once_then_served_from_the_cache(
    speech: DynamicSpeech, speaker: CountingSpeaker
) -> None:
    first = await speech.sound_for(TEXT)
    second = await speech.sound_for(TEXT)

    assert first == second == speech.path_for(TEXT)
    assert first.name == f"{speech_key(TEXT, 'poz/id', 150)}.wav"
    assert speaker.renders == [TEXT]
    with wave.open(str(first), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        samples = array("h", wav.readframes(wav.getnframes()))
        assert wav.getnframes() > 8000  # more than a second
    assert max(abs(s) for s in samples) > 1000, "silent audio"


async def test_another_rate_is_another_file(tmp_path: Path) -> None:
    slow = DynamicSpeech(tmp_path, CountingSpeaker(real=False, rate=120))
    fast = DynamicSpeech(tmp_path, CountingSpeaker(real=False, rate=180))
    try:
        assert await slow.sound_for(TEXT) != await fast.sound_for(TEXT)
    finally:
        slow.close()
        fast.close()


async def test_concurrent_requests_for_one_text_share_one_render(
    speech: DynamicSpeech, speaker: CountingSpeaker
) -> None:
    speaker.gate = threading.Event()
    tasks = [asyncio.create_task(speech.sound_for(TEXT)) for _ in range(5)]
    # The tasks take their first step before this wait's result can come back.
    assert await asyncio.to_thread(speaker.started.wait, 2)
    speaker.gate.set()

    paths = await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)

    assert len(set(paths)) == 1
    assert speaker.renders == [TEXT]


async def test_one_caller_giving_up_does_not_cancel_the_others_render(
    speech: DynamicSpeech, speaker: CountingSpeaker
) -> None:
    speaker.gate = threading.Event()
    quitter = asyncio.create_task(speech.sound_for(TEXT))
    stayer = asyncio.create_task(speech.sound_for(TEXT))
    assert await asyncio.to_thread(speaker.started.wait, 2)
    quitter.cancel()
    speaker.gate.set()

    path = await asyncio.wait_for(stayer, timeout=10)

    assert path.is_file() and quitter.cancelled()
    assert speaker.renders == [TEXT]


async def test_the_event_loop_keeps_running_during_a_render(
    speech: DynamicSpeech, speaker: CountingSpeaker
) -> None:
    """The render (real speech) is held until the loop has ticked 20 times: on the loop
    it could not finish before the gate's 2 s timeout, and one tick gap would be that long."""
    speaker.gate = threading.Event()
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = loop.time()
        while not stop.is_set():
            await asyncio.sleep(0.002)
            now = loop.time()
            gaps.append(now - last)
            last = now
            if len(gaps) == 20:
                speaker.gate.set()  # type: ignore[union-attr]

    ticks = asyncio.create_task(ticker())
    try:
        await asyncio.wait_for(speech.sound_for(TEXT * 3), timeout=10)
    finally:
        stop.set()
        await ticks

    assert len(gaps) >= 20
    assert max(gaps) < speaker.seconds / 3, (max(gaps), speaker.seconds)


async def test_a_failed_render_reaches_every_waiter_and_is_tried_again(
    speech: DynamicSpeech, speaker: CountingSpeaker
) -> None:
    speaker.fail = True
    speaker.gate = threading.Event()
    tasks = [asyncio.create_task(speech.sound_for(TEXT)) for _ in range(2)]
    assert await asyncio.to_thread(speaker.started.wait, 2)
    speaker.gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    assert all(isinstance(r, TtsError) for r in results)

    speaker.fail = False
    assert (await speech.sound_for(TEXT)).is_file()
    assert speaker.renders == [TEXT, TEXT]


async def test_the_least_recently_used_files_are_evicted(tmp_path: Path) -> None:
    speaker = CountingSpeaker(real=False)
    speech = DynamicSpeech(tmp_path, speaker, max_files=2)
    try:
        a = await speech.sound_for("satu")
        b = await speech.sound_for("dua")
        os.utime(a, (1000, 1000))
        os.utime(b, (2000, 2000))
        assert await speech.sound_for("satu") == a  # a hit: "satu" is now the newest
        c = await speech.sound_for("tiga")
    finally:
        speech.close()

    assert a.is_file() and c.is_file() and not b.exists()
    assert speaker.renders == ["satu", "dua", "tiga"]


async def test_nothing_to_say_is_refused(speech: DynamicSpeech) -> None:
    with pytest.raises(ValueError, match="nothing to say"):
        await speech.sound_for(" ... ")


# --- spoken forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("number", "220,5", "dua ratus dua puluh koma lima"),
        ("number", "1.000.000", "satu juta"),
        ("number", "15", "lima belas"),
        ("digits", "0812", "nol delapan satu dua"),
        ("digits", "53211234", "lima tiga dua satu satu dua tiga empat"),
        (
            "report_number",
            "G2611230000012",
            "ge, dua enam satu satu, dua tiga nol nol, nol nol nol satu, dua",
        ),
        (
            "report_number",
            "k 2611 2300 0001 2",
            "ka, dua enam satu satu, dua tiga nol nol, nol nol nol satu, dua",
        ),
        (
            "ctt_token",
            "1234-5678-9012-3456-7890",
            "satu dua tiga empat, lima enam tujuh delapan, sembilan nol satu dua, "
            "tiga empat lima enam, tujuh delapan sembilan nol",
        ),
        ("rupiah", "5000", "lima ribu rupiah"),
        ("rupiah", "Rp 1.500.000", "satu juta lima ratus ribu rupiah"),
    ],
)
def test_spoken_form(kind: str, value: str, words: str) -> None:
    assert spoken_form(kind, value) == words


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("number", "220.5"),
        ("digits", ""),
        ("report_number", "G123"),
        ("ctt_token", "1234 5678"),
        ("rupiah", "5.00"),
        ("rupiah", "-5000"),
        ("weight", "5"),
    ],
)
def test_spoken_form_refuses_what_it_cannot_read(kind: str, value: str) -> None:
    with pytest.raises(ValueError):
        spoken_form(kind, value)


def test_the_kinds() -> None:
    assert SPOKEN_KINDS == ("number", "digits", "report_number", "ctt_token", "rupiah")
