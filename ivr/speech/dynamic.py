"""Speech at run time for prompts whose text holds the call's values.

A prompt such as ``"Selamat datang kembali, {sapaan} {nama}."`` cannot be rendered
ahead of time. :class:`DynamicSpeech` renders the filled text when a call needs it and
keeps the wav in a cache folder, named by the :func:`~ivr.prompts.tts.speech_key` of
text, voice and rate, so a text heard before plays at once. Rendering never runs on the
event loop: it runs on a worker thread (one by default; pyttsx3 itself runs on a single
thread of its own in any case, see :mod:`ivr.prompts.tts`), and calls that ask for the
same text while it renders share that one render.

The cached files hold what callers were told (names, numbers), under names that do not
show it; keep the cache folder as private as the call records. It holds at most
``max_files`` wavs: after each render the least recently used ones (oldest mtime; a
cache hit touches the file) are deleted.

:func:`spoken_form` turns a value into the words to put into such a text: ``"220,5"`` as
a number is "dua ratus dua puluh koma lima".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ivr.domain.reports import parse_ctt_token, parse_report_number
from ivr.engine.port import Audio, Digits, Segment
from ivr.language.number_words import digits_to_words, rupiah_words, to_words
from ivr.prompts.tts import TextToSpeech, TtsError, has_words, speech_key

log = logging.getLogger(__name__)

#: Cached wavs kept at most, by default.
DEFAULT_MAX_FILES = 2000


class DynamicSpeech:
    """Cached run-time rendering of filled prompt texts (see the module docstring).

    Use it from one event loop. :meth:`close` stops the worker thread.
    """

    def __init__(
        self,
        cache_dir: Path,
        speaker: TextToSpeech,
        max_workers: int = 1,
        max_files: int = DEFAULT_MAX_FILES,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {max_workers}")
        if max_files < 1:
            raise ValueError(f"max_files must be at least 1, not {max_files}")
        self.cache_dir = cache_dir
        self._speaker = speaker
        self._max_files = max_files
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="dynamic-speech")
        self._in_flight: dict[str, asyncio.Future[Path]] = {}

    def path_for(self, text: str) -> Path:
        """Where the wav of ``text`` is (or will be) cached."""
        key = speech_key(text, self._speaker.voice, self._speaker.rate)
        return self.cache_dir / f"{key}.wav"

    async def sound_for(self, text: str) -> Path:
        """The cached wav of ``text``, rendered first if needed.

        Raises :class:`ValueError` for a text with nothing to say and
        :class:`~ivr.prompts.tts.TtsError` when rendering fails. Cancelling one caller's
        wait does not cancel a render that other callers wait for.
        """
        if not has_words(text):
            raise ValueError("nothing to say: the text has no letters or digits")
        path = self.path_for(text)
        pending = self._in_flight.get(path.stem)
        if pending is None:
            with contextlib.suppress(FileNotFoundError):
                os.utime(path)  # a hit: now the most recently used
                return path
            pending = asyncio.get_running_loop().run_in_executor(
                self._executor, self._render, text, path
            )
            self._in_flight[path.stem] = pending
            pending.add_done_callback(self._forget(path.stem))
        return await asyncio.shield(pending)

    def close(self) -> None:
        """Stop the worker thread; renders not started yet are cancelled."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _forget(self, key: str) -> Callable[[asyncio.Future[Path]], None]:
        def done(future: asyncio.Future[Path]) -> None:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]
            if not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning if none waits

        return done

    def _render(self, text: str, path: Path) -> Path:
        """Render on the worker thread, then trim the cache."""
        if not path.is_file():  # another process may have rendered it meanwhile
            self._speaker.render(text, path)
        self._evict(keep=path)
        return path

    def _evict(self, keep: Path) -> None:
        """Delete the least recently used wavs beyond ``max_files`` (never ``keep``)."""
        wavs: list[tuple[float, Path]] = []
        for wav in self.cache_dir.glob("*.wav"):
            with contextlib.suppress(FileNotFoundError):
                wavs.append((wav.stat().st_mtime, wav))
        excess = len(wavs) - self._max_files
        if excess > 0:
            oldest = [wav for _, wav in sorted(wavs) if wav != keep]
            for wav in oldest[:excess]:
                wav.unlink(missing_ok=True)


class DynamicSounds:
    """The engine's :class:`~ivr.engine.port.RuntimeVoice` for Asterisk: segments spoken
    by :class:`DynamicSpeech`, named as Asterisk finds them, ``<sounds>/<file>`` (the
    cache folder as Asterisk sees it)."""

    def __init__(self, speech: DynamicSpeech, sounds: str) -> None:
        self._speech = speech
        self._sounds = sounds

    async def sound_for(self, segment: Segment, call_id: str) -> str | None:
        """The segment spoken in Indonesian at run time: its sound name, or None
        (nothing to say, or it failed: the call goes on without it)."""
        words = words_for(segment)
        if words is None:
            return None
        try:
            path = await self._speech.sound_for(words)
        except (TtsError, ValueError) as exc:
            log.warning("call %s: a prompt part was not spoken: %s", call_id, exc)
            return None
        return f"{self._sounds}/{path.stem}"


# --- values as words ------------------------------------------------------------------


_RUPIAH = re.compile(r"(?:rp\.?\s*)?([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)", re.IGNORECASE)


def _rupiah(value: str) -> str:
    """``"5000"``, ``"5.000"`` or ``"Rp 5.000"`` as "lima ribu rupiah"."""
    match = _RUPIAH.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not a rupiah amount: {value!r}")
    return rupiah_words(int(match.group(1).replace(".", "")))


_SPOKEN: dict[str, Callable[[str], str]] = {
    # A quantity, decimal comma allowed: "220,5" is "dua ratus dua puluh koma lima".
    "number": to_words,
    # Digit by digit: an IDPEL, a meter number, a phone number.
    "digits": digits_to_words,
    # The letter, then the digits in groups of four (a pause after each), as
    # ivr.domain.reports.digits_for_speech groups them: the caller writes it down.
    "report_number": lambda value: digits_to_words(parse_report_number(value), group=4),
    # The 20 digits of a CTT token in five groups of four.
    "ctt_token": lambda value: digits_to_words(parse_ctt_token(value), group=4),
    # An amount: "5.000" is "lima ribu rupiah".
    "rupiah": _rupiah,
}

#: The kinds :func:`spoken_form` knows.
SPOKEN_KINDS = tuple(_SPOKEN)


def spoken_form(kind: str, value: str) -> str:
    """``value`` as the words to speak, read as ``kind`` (one of :data:`SPOKEN_KINDS`).

    Raises :class:`ValueError` for an unknown kind or a value that is not of that kind.
    """
    try:
        convert = _SPOKEN[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(SPOKEN_KINDS)}") from None
    return convert(value)


def words_for(segment: Segment) -> str | None:
    """What run-time speech says for a segment: a prompt filled from call variables,
    digits one by one (in groups when asked), a number in words; None for a prompt that
    has audio of its own or none to speak."""
    if isinstance(segment, Audio):
        return segment.text if segment.sound is None and segment.dynamic else None
    if isinstance(segment, Digits):
        return digits_to_words(segment.digits, segment.group)
    return to_words(segment.number)
