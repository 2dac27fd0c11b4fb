"""Speech recognition with Vosk: one model per process, recognitions in a thread pool.

The model
---------
:meth:`SpeechModel.load` loads a model once from a folder (never by language name,
which would download one). Which words the model knows is asked of Vosk itself
(``vosk_model_find_word``): that is the symbol table Vosk checks a grammar against,
``graph/words.txt`` when the model has one and the grammar graph's own word list
(``graph/Gr.fst``) when it has not. The unknown-word token is ``[unk]`` or ``<UNK>``,
whichever the model knows.

A grammar (:meth:`SpeechModel.grammar_for`) is the phrases whose every word the model
knows, plus the unknown-word token so that something else is heard as "unknown" rather
than forced onto a phrase. Vosk would silently drop the missing *word* and keep the rest
of the phrase; here the whole phrase is dropped, with one warning per missing word per
model (:attr:`SpeechModel.missing_words` keeps them for a start-up report). The grammar's
JSON keeps non-ASCII words as they are: Vosk's parser does not decode ``\\uXXXX``.

Recognising
-----------
:meth:`RecognizerPool.recognize` feeds each frame to Vosk as it arrives, in a worker
thread (Vosk's calls go through cffi, which releases the GIL: two recognitions in two
threads take the wall time of one, and the event loop runs meanwhile). Caller audio is
8 kHz; a model built for 16 kHz that allows upsampling (``--allow-upsample=true`` in
``conf/mfcc.conf``) takes it as it is and resamples inside its feature pipeline; for a
model that does not, the audio is resampled here first.

When the caller speaks and stops is decided on the audio, not by Vosk: Vosk's decoder
lags the audio by about 0.4 s and its own endpoint (0.5 s of trailing silence, fixed in
the model's ``conf/model.conf``) fires about 0.85 s after the last word. A frame is
*voiced* when its level is above both an absolute floor and the background noise
(tracked on unvoiced frames). Speech starts after :data:`ONSET_SECONDS` of voiced
frames in a row (or when Vosk hears a word); it ends after ``end_silence`` seconds without a voiced
frame, or after ``max_speech`` seconds of it. Then Vosk's final result is taken: it
only has to decode what is still in its buffer. A burst of noise that Vosk makes no
word of is forgotten and the window goes on. All the rules run on audio time (frames
fed faster than real time decide the same), with the loop clock as a guard for input
that stops arriving.
"""

from __future__ import annotations

import array
import asyncio
import bisect
import json
import logging
import math
import operator
import os
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Final, Literal

import vosk

from ivr.language.number_words import UNKNOWN_TOKEN

log = logging.getLogger(__name__)

#: The unknown-word token as Vosk models spell it, the usual first.
UNKNOWN_SPELLINGS: Final = ("[unk]", "<UNK>")

Outcome = Literal["heard", "noinput", "lowconf"]

#: An absolute floor for a voiced frame: RMS 300 is about -40 dBFS.
MIN_SPEECH_RMS: Final = 300.0
#: A voiced frame is also this many times louder (RMS) than the background noise.
NOISE_RATIO: Final = 3.0
#: How fast the noise estimate follows the unvoiced frames (per frame).
NOISE_SMOOTHING: Final = 0.05
#: Voiced audio without a break that makes the start of speech (three 20 ms frames).
ONSET_SECONDS: Final = 0.06
#: The loop clock guard fires this long after the audio rule would have.
GUARD_SLACK: Final = 0.1
#: Below this average word confidence a result is ``lowconf``.
DEFAULT_MIN_CONFIDENCE: Final = 0.5


@dataclass(frozen=True)
class ModelRates:
    """The sample rate a model's features are computed at, from ``conf/mfcc.conf``."""

    sample_rate: int = 16000
    allow_upsample: bool = False
    allow_downsample: bool = False

    @classmethod
    def read(cls, conf: Path) -> ModelRates:
        """Kaldi's defaults (16 kHz, no resampling) for options the file leaves out."""
        options: dict[str, str] = {}
        if conf.is_file():
            for line in conf.read_text(encoding="utf-8").splitlines():
                name, _, value = line.split("#", 1)[0].strip().partition("=")
                options[name.lstrip("-")] = value.strip()
        return cls(
            sample_rate=int(float(options.get("sample-frequency", "16000"))),
            allow_upsample=options.get("allow-upsample") == "true",
            allow_downsample=options.get("allow-downsample") == "true",
        )

    def takes(self, rate: int) -> bool:
        """Whether Vosk can be fed ``rate`` as it is."""
        if rate == self.sample_rate:
            return True
        return self.allow_upsample if rate < self.sample_rate else self.allow_downsample


@dataclass(frozen=True)
class Grammar:
    """What a recognition may hear, checked against one model's vocabulary."""

    #: The phrases kept, each a space-separated word sequence the model knows.
    phrases: tuple[str, ...]
    #: Phrases left out because a word of theirs is not in the vocabulary.
    dropped: tuple[str, ...]
    unknown_token: str | None
    #: False for a model without a grammar graph: it recognises freely.
    constrained: bool = True

    @property
    def spec(self) -> str | None:
        """The JSON Vosk takes, or None when the model cannot be constrained."""
        if not self.constrained:
            return None
        phrases = [*self.phrases, *([self.unknown_token] if self.unknown_token else [])]
        return json.dumps(phrases, ensure_ascii=False)


class SpeechModel:
    """A Vosk model, loaded once per folder and shared by every call."""

    _loaded: ClassVar[dict[Path, SpeechModel]] = {}
    _load_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path, model: Any) -> None:
        self.path = path
        self.vosk_model = model
        self.rates = ModelRates.read(path / "conf" / "mfcc.conf")
        graph = path / "graph"
        self.supports_grammar = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
        self.unknown_token = next((w for w in UNKNOWN_SPELLINGS if self.knows(w)), None)
        self._missing: set[str] = set()
        self._lock = threading.Lock()
        self._warned_unconstrained = False

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SpeechModel:
        """The model in folder ``path``, read from disk on the first call only.

        Blocking (a few seconds for a small model): call it at start-up, or through
        ``asyncio.to_thread``. Raises FileNotFoundError for a folder with no model.
        """
        folder = Path(path).resolve()
        with cls._load_lock:
            loaded = cls._loaded.get(folder)
            if loaded is None:
                if not (folder / "am" / "final.mdl").is_file():
                    raise FileNotFoundError(f"no Vosk model in {folder} (no am/final.mdl)")
                vosk.SetLogLevel(-1)  # Kaldi's LOG lines off; its warnings stay
                loaded = cls._loaded[folder] = cls(folder, vosk.Model(str(folder)))
                log.info("speech model loaded from %s", folder)
        return loaded

    def knows(self, word: str) -> bool:
        """Whether ``word`` is in the model's vocabulary."""
        return int(self.vosk_model.vosk_model_find_word(word)) >= 0

    @property
    def missing_words(self) -> frozenset[str]:
        """Every grammar word so far that the model does not know."""
        with self._lock:
            return frozenset(self._missing)

    def grammar_for(self, words: Iterable[str]) -> Grammar:
        """A grammar of ``words`` (words or phrases) that this model can hear."""
        kept: list[str] = []
        dropped: list[str] = []
        for phrase in dict.fromkeys(" ".join(item.split()) for item in words):
            if not phrase:
                continue
            missing = [word for word in phrase.split() if not self.knows(word)]
            if missing:
                dropped.append(phrase)
                self._note_missing(missing)
            else:
                kept.append(phrase)
        if not self.supports_grammar and not self._warned_unconstrained:
            self._warned_unconstrained = True
            log.warning("speech model %s has no grammar graph: it recognises freely", self.path)
        return Grammar(tuple(kept), tuple(dropped), self.unknown_token, self.supports_grammar)

    def _note_missing(self, words: list[str]) -> None:
        with self._lock:
            new = [word for word in dict.fromkeys(words) if word not in self._missing]
            self._missing.update(new)
        for word in new:
            log.warning(
                "speech model %s does not know %r: grammar phrases with it are dropped",
                self.path,
                word,
            )


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds of audio since the recognition started."""

    text: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Recognition:
    """What a listening window heard. Times are on the event loop's clock."""

    outcome: Outcome
    text: str
    confidence: float | None
    #: The first voiced frame; None for a noinput.
    speech_start: float | None
    #: The end of the last voiced frame: when the caller stopped.
    speech_end: float | None
    #: When the end rule fired (end_silence after speech_end, or max_speech, or no input).
    endpoint: float
    #: When the result was ready.
    result_at: float
    words: tuple[Word, ...] = ()

    @property
    def latency(self) -> float | None:
        """From the caller stopping to the result (end_silence included)."""
        return None if self.speech_end is None else self.result_at - self.speech_end


def _resampler() -> ModuleType:
    """audioop, deprecated in 3.11 and gone in 3.13: only for a model that needs it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    return audioop


@dataclass(frozen=True)
class _Step:
    voiced: bool
    words: tuple[Word, ...]


class _Decoder:
    """One recognition's Vosk recognizer and level meter; used by one thread at a time."""

    def __init__(
        self, model: SpeechModel, grammar: Grammar, sample_rate: int, *, resample: bool = False
    ) -> None:
        self._unknown = grammar.unknown_token
        self._sample_rate = sample_rate
        rate = sample_rate
        self._ratecv: Any = None
        self._ratecv_state: Any = None
        if resample or not model.rates.takes(sample_rate):
            rate = model.rates.sample_rate
            self._ratecv = _resampler().ratecv
        spec = grammar.spec
        if spec is None:
            recognizer = vosk.KaldiRecognizer(model.vosk_model, float(rate))
        else:
            recognizer = vosk.KaldiRecognizer(model.vosk_model, float(rate), spec)
        recognizer.SetWords(True)
        self._recognizer = recognizer
        self._rate = rate
        self._noise: float | None = None

    def accept(self, pcm: bytes) -> _Step:
        """Feed one frame; whether it was voiced, and any words Vosk finalised."""
        voiced = self._voiced(pcm)
        if self._ratecv is not None:
            pcm, self._ratecv_state = self._ratecv(
                pcm, 2, 1, self._sample_rate, self._rate, self._ratecv_state
            )
        if self._recognizer.AcceptWaveform(pcm):
            return _Step(voiced, self._words(self._recognizer.Result()))
        return _Step(voiced, ())

    def finish(self) -> tuple[Word, ...]:
        """Decode what is buffered and return the utterance's last words."""
        return self._words(self._recognizer.FinalResult())

    def _voiced(self, pcm: bytes) -> bool:
        samples = array.array("h")
        samples.frombytes(pcm[: len(pcm) & ~1])
        if not samples:
            return False
        if sys.byteorder == "big":
            samples.byteswap()
        rms = math.sqrt(sum(map(operator.mul, samples, samples)) / len(samples))
        noise = self._noise
        voiced = rms > max(MIN_SPEECH_RMS, (noise or 0.0) * NOISE_RATIO)
        if not voiced:
            self._noise = rms if noise is None else noise + NOISE_SMOOTHING * (rms - noise)
        return voiced

    def _words(self, result: str) -> tuple[Word, ...]:
        parsed = json.loads(result)
        return tuple(
            Word(
                UNKNOWN_TOKEN if item["word"] == self._unknown else str(item["word"]),
                float(item["start"]),
                float(item["end"]),
                float(item["conf"]),
            )
            for item in parsed.get("result", ())
        )


class _Timeline:
    """Audio time (seconds since the first frame) to the loop clock, by frame arrival."""

    def __init__(self) -> None:
        self._audio: list[float] = []
        self._arrival: list[float] = []

    def add(self, audio_end: float, arrival: float) -> None:
        self._audio.append(audio_end)
        self._arrival.append(arrival)

    def at(self, audio: float) -> float:
        index = min(bisect.bisect_left(self._audio, audio), len(self._audio) - 1)
        return self._arrival[index] - (self._audio[index] - audio)


@dataclass
class _Listening:
    """The end-of-utterance rule's state, in seconds of audio."""

    no_input_timeout: float
    max_speech: float
    end_silence: float
    audio: float = 0.0
    #: Seconds of voiced frames in a row, up to now.
    run: float = 0.0
    start: float | None = None
    last_voice: float | None = None
    last_word: float | None = None

    def frame(self, duration: float, step: _Step) -> bool:
        """Take one frame; True when it starts the speech."""
        self.audio += duration
        if step.words:
            self.last_word = max(word.end for word in step.words)
        if step.voiced:
            self.run += duration
            self.last_voice = self.audio
        else:
            self.run = 0.0
        if self.start is not None:
            return False
        if self.run >= ONSET_SECONDS - 1e-9:  # float sums of 0.02
            self.start = self.audio - self.run
        elif step.words:
            self.start = min(word.start for word in step.words)
        return self.start is not None

    @property
    def speech_end(self) -> float | None:
        """The last voiced frame's end (the last word's, if the level never rose)."""
        return self.last_voice if self.last_voice is not None else self.last_word

    def _last_activity(self, start: float) -> float:
        return max(mark for mark in (start, self.last_voice, self.last_word) if mark is not None)

    def ended(self) -> bool:
        """The speech has ended (or gone on too long)."""
        if self.start is None:
            return False
        if self.audio - self.start >= self.max_speech:
            return True
        return self.audio - self._last_activity(self.start) >= self.end_silence

    def no_input(self, elapsed: float) -> bool:
        return self.start is None and max(self.audio, elapsed) >= self.no_input_timeout

    def forget_speech(self) -> None:
        """Noise Vosk made no word of: listen on as if nothing had been said."""
        self.run = 0.0
        self.start = self.last_voice = self.last_word = None

    def guard(self, started: float, timeline: _Timeline) -> float:
        """The loop-clock deadline for the next frame."""
        if self.start is None:
            return started + self.no_input_timeout + GUARD_SLACK
        last = timeline.at(self._last_activity(self.start))
        end = min(timeline.at(self.start) + self.max_speech, last + self.end_silence)
        return end + GUARD_SLACK


class RecognizerPool:
    """Recognitions for every call, off the event loop, on one shared model."""

    def __init__(
        self,
        model: SpeechModel,
        workers: int | None = None,
        *,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        self.model = model
        self.min_confidence = min_confidence
        self._executor = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 1, thread_name_prefix="vosk"
        )

    def close(self) -> None:
        """Wait for the running jobs and stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def recognize(
        self,
        frames: AsyncIterator[bytes],
        grammar: Grammar,
        *,
        sample_rate: int = 8000,
        no_input_timeout: float,
        max_speech: float,
        end_silence: float,
        speech_started: asyncio.Event | None = None,
    ) -> Recognition:
        """Listen to ``frames`` (16-bit mono PCM) until the caller has said something.

        ``speech_started`` is set as soon as speech begins, for barge-in. The window
        ends with ``noinput`` when nothing was said within ``no_input_timeout``, or when
        the frames run out before any speech. Cancelling the task stops the recognition
        (a frame being decoded in its thread finishes there and is thrown away).
        """
        loop = asyncio.get_running_loop()
        decoder = await loop.run_in_executor(
            self._executor, _Decoder, self.model, grammar, sample_rate
        )
        started = loop.time()
        timeline = _Timeline()
        state = _Listening(no_input_timeout, max_speech, end_silence)
        heard: list[Word] = []
        iterator = aiter(frames)
        while True:
            try:
                async with asyncio.timeout_at(state.guard(started, timeline)):
                    frame = await anext(iterator)
            except (StopAsyncIteration, TimeoutError):
                break
            arrival = loop.time()
            step = await loop.run_in_executor(self._executor, decoder.accept, frame)
            heard += step.words
            if state.frame(len(frame) / 2 / sample_rate, step) and speech_started is not None:
                speech_started.set()
            timeline.add(state.audio, arrival)
            if state.no_input(loop.time() - started):
                break
            if state.ended():
                heard += await loop.run_in_executor(self._executor, decoder.finish)
                if heard:
                    return self._result(heard, state, timeline, arrival, loop.time())
                state.forget_speech()
        endpoint = loop.time()
        if state.start is not None:
            heard += await loop.run_in_executor(self._executor, decoder.finish)
        if not heard:
            return Recognition("noinput", "", None, None, None, endpoint, loop.time())
        return self._result(heard, state, timeline, endpoint, loop.time())

    def _result(
        self,
        words: list[Word],
        state: _Listening,
        timeline: _Timeline,
        endpoint: float,
        result_at: float,
    ) -> Recognition:
        confidence = sum(word.confidence for word in words) / len(words)
        start = state.start if state.start is not None else words[0].start
        end = state.speech_end if state.speech_end is not None else words[-1].end
        return Recognition(
            outcome="lowconf" if confidence < self.min_confidence else "heard",
            text=" ".join(word.text for word in words),
            confidence=confidence,
            speech_start=timeline.at(start),
            speech_end=timeline.at(end),
            endpoint=endpoint,
            result_at=result_at,
            words=tuple(words),
        )
