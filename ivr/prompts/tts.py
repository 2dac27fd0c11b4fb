"""Indonesian text to telephone audio: pyttsx3 (espeak-ng) then sox.

:class:`Speaker` turns one text into an 8 kHz mono 16-bit signed PCM wav, the format
Asterisk plays without transcoding. pyttsx3 drives espeak-ng and always writes 22,050 Hz;
sox converts that to 8 kHz.

pyttsx3 (2.99, its espeak driver) shapes this module:

* Its engine is not thread-safe and, with espeak-ng, there is one per process (espeak
  is initialised once). Every synthesis therefore runs on one dedicated thread owned by
  this module, whichever thread calls :meth:`Speaker.render`; renders queue up there.
* A new engine's first ``runAndWait`` returns before the file is written (espeak-ng
  synthesises on a thread of its own); the engine is run once empty when created.
* Its loop cancels a new text when espeak-ng reports itself busy (finishing the last
  text, or applying the voice and rate just set); each render waits until it is idle.
* Its espeak driver reports errors through events rather than exceptions (a voice it
  cannot set is silently ignored), and it prints "Audio saved to ..." for every file.
  The voice is therefore looked up in the voice list before use, errors are collected
  from the engine's ``error`` event, the file is checked afterwards, and the driver's
  print goes to this module's debug log instead of stdout (where it would break the
  command line's progress bar and litter the server's output).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: espeak-ng's Indonesian voice, as pyttsx3 lists it.
DEFAULT_VOICE = "poz/id"
#: Words per minute: a little slower than espeak's 175, for a telephone line.
DEFAULT_RATE = 150
#: The format Asterisk plays without transcoding.
SAMPLE_RATE = 8000
#: Seconds one synthesis or conversion may take before it counts as failed.
RENDER_TIMEOUT = 120.0
#: Seconds espeak-ng may take to wind down after a text.
IDLE_TIMEOUT = 5.0

INSTALL_HINT = (
    "install espeak-ng and sox (Debian: apt-get install espeak-ng sox; "
    "scripts/setup.sh does it) and pyttsx3 in the virtualenv (pip install -e .)"
)


class TtsError(Exception):
    """Text-to-speech is unavailable (espeak-ng, its voice, sox or pyttsx3 missing) or
    a render failed. The message says what to install when something is missing."""


class TextToSpeech(Protocol):
    """What the prompt builder and the run-time speech need from a speaker."""

    @property
    def voice(self) -> str: ...

    @property
    def rate(self) -> int: ...

    def render(self, text: str, target: Path) -> None:
        """Write ``text`` spoken as an 8 kHz mono 16-bit wav at ``target``."""


def speech_key(text: str, voice: str, rate: int) -> str:
    """sha256 (hex) of what decides the audio: the text, the voice and the rate."""
    return hashlib.sha256(f"{voice}\n{rate}\n{text}".encode()).hexdigest()


def has_words(text: str) -> bool:
    """Whether ``text`` holds anything to say (espeak-ng says nothing for ``"..."``)."""
    return any(char.isalnum() for char in text)


class Speaker:
    """Renders Indonesian text to 8 kHz telephone wavs with pyttsx3 and sox.

    ``voice`` is a pyttsx3 voice id (``poz/id``) or a language code (``id``); ``rate``
    is in words per minute. Nothing is loaded until the first render or :meth:`check`,
    so a build with nothing to render needs no TTS at all. Safe to call from any thread.
    """

    def __init__(self, voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE) -> None:
        if not 60 <= rate <= 400:
            raise ValueError(f"rate must be 60 to 400 words per minute, not {rate}")
        self._voice = voice
        self._rate = rate

    @property
    def voice(self) -> str:
        return self._voice

    @property
    def rate(self) -> int:
        return self._rate

    def check(self) -> None:
        """Raise :class:`TtsError` unless pyttsx3, espeak-ng, the voice and sox are there."""
        _sox()
        _on_engine_thread(_resolve_voice, self._voice)

    def render(self, text: str, target: Path) -> None:
        """Write ``text`` spoken to ``target`` (8 kHz mono 16-bit wav), atomically: the
        file appears complete or not at all, so a cache or Asterisk never sees half a file.

        Raises :class:`ValueError` for a text with nothing to say, :class:`TtsError` when
        the TTS is unavailable or fails.
        """
        if not has_words(text):
            raise ValueError("nothing to say: the text has no letters or digits")
        sox = _sox()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="pln123-tts-") as work:
            raw = Path(work) / "speech.wav"
            _on_engine_thread(_synthesise, text, self._voice, self._rate, raw)
            # ".part", not ".wav": the catalogue and the cache only look at *.wav files.
            partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
            try:
                _convert(sox, raw, partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)


# --- sox ------------------------------------------------------------------------------


def _sox() -> str:
    sox = shutil.which("sox")
    if sox is None:
        raise TtsError(f"sox is not installed (it converts speech to 8 kHz): {INSTALL_HINT}")
    return sox


def _convert(sox: str, source: Path, target: Path) -> None:
    """``source`` (any wav) as 8 kHz mono 16-bit signed PCM wav at ``target``."""
    command = [
        sox, str(source),
        "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
        "-t", "wav", str(target),
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=RENDER_TIMEOUT)
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace").strip()
        raise TtsError(f"sox could not convert the speech to 8 kHz: {stderr}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TtsError(f"sox took more than {RENDER_TIMEOUT:.0f} s") from exc


# --- the pyttsx3 engine, on its own thread --------------------------------------------

_engine_lock = threading.Lock()
_engine_executor: ThreadPoolExecutor | None = None
# Only touched on the engine thread:
_engine: Any = None
_engine_errors: list[BaseException] = []
_voice_ids: dict[str, str] = {}
_is_playing: Callable[[], int] | None = None


def _on_engine_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``function(*args)`` on the one thread that may use pyttsx3, and wait."""
    global _engine_executor
    with _engine_lock:
        if _engine_executor is None:
            _engine_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyttsx3")
        executor = _engine_executor
    future = executor.submit(function, *args, **kwargs)
    try:
        return future.result(timeout=RENDER_TIMEOUT)
    except FutureTimeout as exc:
        raise TtsError(f"espeak-ng took more than {RENDER_TIMEOUT:.0f} s") from exc


def _get_engine() -> Any:
    """pyttsx3's espeak-ng engine, created on first use (engine thread only)."""
    global _engine, _is_playing
    if _engine is not None:
        return _engine
    try:
        import pyttsx3
    except ImportError as exc:
        raise TtsError(f"pyttsx3 is not installed: {INSTALL_HINT}") from exc
    try:
        engine = pyttsx3.init("espeak")
    except Exception as exc:  # pyttsx3 raises RuntimeError, OSError, ... for a missing lib
        raise TtsError(f"espeak-ng cannot be loaded ({exc}): {INSTALL_HINT}") from exc
    driver = sys.modules.get("pyttsx3.drivers.espeak")
    if driver is not None:
        driver.print = _driver_print  # type: ignore[attr-defined]
    engine.connect("error", _on_engine_error)
    _is_playing = getattr(sys.modules.get("pyttsx3.drivers._espeak"), "IsPlaying", None)
    # An empty run first. On a new engine the queued commands, its own endLoop
    # included, only run once the loop starts, so the first runAndWait ends before
    # espeak-ng (which synthesises on a thread of its own) has written the file. After
    # one run the commands run as they are given, and runAndWait waits for the file.
    engine.runAndWait()
    _wait_until_idle()
    _engine = engine
    return engine


def _wait_until_idle() -> None:
    """Return once espeak-ng's own thread is idle: the last text finished and the voice
    and rate just set (queued commands on that thread too) applied.

    If it still counts as playing when runAndWait starts, pyttsx3 cancels the new text
    just after starting it (its loop's stop() sees "playing"), which now and then leaves
    an empty file.
    """
    if _is_playing is None:
        return
    deadline = time.monotonic() + IDLE_TIMEOUT
    while _is_playing():
        if time.monotonic() > deadline:
            raise TtsError(f"espeak-ng still busy after {IDLE_TIMEOUT:.0f} s")
        time.sleep(0.001)


def _driver_print(*args: object, **_: object) -> None:
    log.debug("pyttsx3: %s", " ".join(str(arg) for arg in args))


def _on_engine_error(name: object = None, exception: BaseException | None = None) -> None:
    if exception is not None:
        _engine_errors.append(exception)


def _resolve_voice(voice: str) -> str:
    """The pyttsx3 id of ``voice``: an id (``poz/id``) or a language (``id``); the id's
    last part is also tried as a language, so ``poz/id`` finds a renamed Indonesian voice."""
    if voice in _voice_ids:
        return _voice_ids[voice]
    voices = _get_engine().getProperty("voices")
    ids = {str(v.id): v for v in voices}
    found = voice if voice in ids else None
    if found is None:
        languages = (voice, voice.rsplit("/", 1)[-1])
        found = next(
            (str(v.id) for v in voices if any(lang in (v.languages or []) for lang in languages)),
            None,
        )
    if found is None:
        raise TtsError(
            f"espeak-ng has no voice {voice!r} (the Indonesian voice is {DEFAULT_VOICE!r}): "
            f"install espeak-ng with its voice data (Debian: apt-get install espeak-ng "
            f"espeak-ng-data); `espeak-ng --voices=id` lists it"
        )
    _voice_ids[voice] = found
    return found


def _synthesise(text: str, voice: str, rate: int, target: Path) -> None:
    """espeak-ng's 22,050 Hz wav of ``text`` at ``target`` (engine thread only)."""
    engine = _get_engine()
    voice_id = _resolve_voice(voice)
    _engine_errors.clear()
    engine.setProperty("voice", voice_id)
    engine.setProperty("rate", rate)
    engine.save_to_file(text, str(target))
    _wait_until_idle()
    # One runAndWait per file: pyttsx3 keeps only the last save_to_file of a run.
    engine.runAndWait()
    if _engine_errors:
        error = _engine_errors[0]
        _engine_errors.clear()
        raise TtsError(f"espeak-ng failed: {error}") from error
    try:
        with wave.open(str(target), "rb") as wav:
            frames = wav.getnframes()
    except (OSError, EOFError, wave.Error) as exc:
        raise TtsError(f"espeak-ng wrote no usable audio: {exc}") from exc
    if frames == 0:
        raise TtsError("espeak-ng wrote an empty file")
