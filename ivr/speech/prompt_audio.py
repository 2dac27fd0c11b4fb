"""A prompt's audio as PCM, for playing it over AudioSocket while listening for speech.

Over AudioSocket the IVR, not Asterisk, plays the prompt: it reads the same wav files
Asterisk would play (``audio/rendered``, ``audio/recorded``), speaks filled prompts,
digits and numbers with the run-time TTS, and sends 8 kHz signed-linear frames.
"""

from __future__ import annotations

import logging
import wave
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from ivr.engine.port import Audio, Segment
from ivr.prompts.tts import TtsError
from ivr.speech.audiosocket import SAMPLE_RATE
from ivr.speech.dynamic import DynamicSpeech, words_for

log = logging.getLogger(__name__)

#: Prompt files kept in memory (a catalogue has about seventy).
CACHE_FILES = 256


class PromptAudio:
    """Turns segments into one stretch of 8 kHz 16-bit mono PCM."""

    def __init__(
        self, audio_dir: Path, sounds_prefix: str, speech: DynamicSpeech | None = None
    ) -> None:
        self._audio_dir = audio_dir
        self._prefix = sounds_prefix.rstrip("/") + "/"
        self._speech = speech
        self._cache: OrderedDict[Path, bytes] = OrderedDict()

    async def pcm(self, segments: Sequence[Segment]) -> bytes:
        """The segments' audio back to back; a part that has none is left out."""
        parts = [await self._part(segment) for segment in segments]
        return b"".join(part for part in parts if part)

    async def _part(self, segment: Segment) -> bytes:
        sound = segment.sound if isinstance(segment, Audio) else None
        if sound is not None and sound.startswith(self._prefix):
            return self._file(self._audio_dir / f"{sound[len(self._prefix) :]}.wav")
        words = words_for(segment)
        return await self._spoken(words) if words else b""

    async def _spoken(self, text: str) -> bytes:
        if self._speech is None:
            return b""
        try:
            return self._file(await self._speech.sound_for(text))
        except (TtsError, ValueError) as exc:
            log.warning("a prompt part was not spoken: %s", exc)
            return b""

    def _file(self, path: Path) -> bytes:
        """A wav's frames (8 kHz mono 16-bit only), remembered."""
        cached = self._cache.get(path)
        if cached is not None:
            self._cache.move_to_end(path)
            return cached
        try:
            with wave.open(str(path), "rb") as wav:
                shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
                if shape != (SAMPLE_RATE, 1, 2):
                    log.warning("%s is %s Hz, %s channel(s), %s bytes: not played", path, *shape)
                    return b""
                frames = wav.readframes(wav.getnframes())
        except (OSError, wave.Error, EOFError) as exc:
            log.warning("cannot read prompt audio %s: %s", path, exc)
            return b""
        self._cache[path] = frames
        if len(self._cache) > CACHE_FILES:
            self._cache.popitem(last=False)
        return frames
