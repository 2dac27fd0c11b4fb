"""Building the catalogue's fixed prompts with real espeak-ng and sox, in a tmp folder."""

from __future__ import annotations

import json
import shutil
import wave
from array import array
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli.prompts import prompts
from ivr.prompts.build import MANIFEST, BuildReport, build_prompts
from ivr.prompts.catalogue import CatalogueError, PromptCatalogue
from ivr.prompts.tts import Speaker, TtsError, speech_key

CATALOGUE = {
    "halo": "Halo.",
    "tunggu": "Mohon tunggu sebentar.",
    "sapa": "Selamat datang kembali, {sapaan} {nama}.",
}


class CountingSpeaker:
    """A real :class:`Speaker` that remembers what it rendered."""

    def __init__(self, rate: int = 150, fail_on: str | None = None) -> None:
        self._speaker = Speaker(rate=rate)
        self.texts: list[str] = []
        self._fail_on = fail_on

    @property
    def voice(self) -> str:
        return self._speaker.voice

    @property
    def rate(self) -> int:
        return self._speaker.rate

    def render(self, text: str, target: Path) -> None:
        if text == self._fail_on:
            raise TtsError("espeak-ng failed: broken on purpose")
        self.texts.append(text)
        self._speaker.render(text, target)


def write_catalogue(audio_dir: Path, texts: dict[str, str]) -> None:
    audio_dir.mkdir(parents=True, exist_ok=True)
    (audio_dir / "prompts.yaml").write_text(
        "".join(f"{key}: {json.dumps(text)}\n" for key, text in texts.items()), "utf-8"
    )


def wav_facts(path: Path) -> tuple[int, int, int, float, int]:
    """Sample rate, channels, bytes per sample, seconds and peak amplitude."""
    with wave.open(str(path), "rb") as wav:
        samples = array("h", wav.readframes(wav.getnframes()))
        seconds = wav.getnframes() / wav.getframerate()
        return (
            wav.getframerate(),
            wav.getnchannels(),
            wav.getsampwidth(),
            seconds,
            max((abs(s) for s in samples), default=0),
        )


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "audio"
    write_catalogue(folder, CATALOGUE)
    return folder


def manifest(audio_dir: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((audio_dir / "rendered" / MANIFEST).read_text())
    return data


def test_first_build_renders_fixed_prompts_as_8khz_speech(audio_dir: Path) -> None:
    speaker = CountingSpeaker()
    report = build_prompts(audio_dir, speaker)

    assert report == BuildReport(rendered=["halo", "tunggu"], dynamic=["sapa"])
    assert sorted(speaker.texts) == ["Halo.", "Mohon tunggu sebentar."]
    for prompt_id in ("halo", "tunggu"):
        wav = audio_dir / "rendered" / f"{prompt_id}.wav"
        rate, channels, width, seconds, peak = wav_facts(wav)
        assert (rate, channels, width) == (8000, 1, 2)
        assert seconds > 0.3
        assert peak > 1000, "silent audio"
    assert not (audio_dir / "rendered" / "sapa.wav").exists()
    assert manifest(audio_dir) == {
        "halo": speech_key("Halo.", speaker.voice, speaker.rate),
        "tunggu": speech_key("Mohon tunggu sebentar.", speaker.voice, speaker.rate),
    }
    entry = PromptCatalogue.load(audio_dir).get("halo")
    assert entry is not None and entry.sound == "rendered/halo"


def test_second_build_renders_nothing(audio_dir: Path) -> None:
    build_prompts(audio_dir, CountingSpeaker())
    speaker = CountingSpeaker()

    report = build_prompts(audio_dir, speaker)

    assert speaker.texts == []
    assert report == BuildReport(unchanged=["halo", "tunggu"], dynamic=["sapa"])


def test_a_changed_text_is_rendered_again_alone(audio_dir: Path) -> None:
    build_prompts(audio_dir, CountingSpeaker())
    write_catalogue(audio_dir, {**CATALOGUE, "tunggu": "Mohon tunggu."})
    speaker = CountingSpeaker()

    report = build_prompts(audio_dir, speaker)

    assert speaker.texts == ["Mohon tunggu."]
    assert report.rendered == ["tunggu"] and report.unchanged == ["halo"]
    assert manifest(audio_dir)["tunggu"] == speech_key("Mohon tunggu.", "poz/id", 150)


def test_another_rate_renders_everything_again(audio_dir: Path) -> None:
    build_prompts(audio_dir, CountingSpeaker())
    report = build_prompts(audio_dir, CountingSpeaker(rate=170))
    assert report.rendered == ["halo", "tunggu"]


def test_a_deleted_wav_is_rendered_again(audio_dir: Path) -> None:
    build_prompts(audio_dir, CountingSpeaker())
    (audio_dir / "rendered" / "halo.wav").unlink()

    report = build_prompts(audio_dir, CountingSpeaker())

    assert report.rendered == ["halo"] and report.unchanged == ["tunggu"]


def test_a_recorded_prompt_wins_and_is_not_rendered(audio_dir: Path) -> None:
    recorded = audio_dir / "recorded"
    recorded.mkdir()
    Speaker().render("Rekaman.", recorded / "halo.wav")
    speaker = CountingSpeaker()

    report = build_prompts(audio_dir, speaker)

    assert report.recorded == ["halo"] and report.rendered == ["tunggu"]
    assert speaker.texts == ["Mohon tunggu sebentar."]
    assert not (audio_dir / "rendered" / "halo.wav").exists()
    entry = PromptCatalogue.load(audio_dir).get("halo")
    assert entry is not None and entry.sound == "recorded/halo"


def test_a_removed_prompt_loses_its_rendered_file(audio_dir: Path) -> None:
    build_prompts(audio_dir, CountingSpeaker())
    write_catalogue(audio_dir, {k: v for k, v in CATALOGUE.items() if k != "halo"})

    report = build_prompts(audio_dir, CountingSpeaker())

    assert report.removed == ["halo"] and report.unchanged == ["tunggu"]
    assert not (audio_dir / "rendered" / "halo.wav").exists()
    assert "halo" not in manifest(audio_dir)
    assert "halo" not in PromptCatalogue.load(audio_dir)


def test_a_prompt_that_gains_placeholders_becomes_dynamic(audio_dir: Path) -> None:
    build_prompts(audio_dir, CountingSpeaker())
    write_catalogue(audio_dir, {**CATALOGUE, "halo": "Halo, {nama}."})

    report = build_prompts(audio_dir, CountingSpeaker())

    assert report.dynamic == ["halo", "sapa"] and report.removed == ["halo"]
    assert not (audio_dir / "rendered" / "halo.wav").exists()
    assert set(manifest(audio_dir)) == {"tunggu"}


def test_progress_counts_the_renders(audio_dir: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    build_prompts(audio_dir, CountingSpeaker(), lambda *call: calls.append(call))
    assert calls == [(0, 2, ""), (1, 2, "halo"), (2, 2, "tunggu")]

    calls.clear()
    build_prompts(audio_dir, CountingSpeaker(), lambda *call: calls.append(call))
    assert calls == []


def test_a_failed_render_keeps_what_was_rendered_before_it(audio_dir: Path) -> None:
    with pytest.raises(TtsError, match="on purpose"):
        build_prompts(audio_dir, CountingSpeaker(fail_on="Mohon tunggu sebentar."))
    assert set(manifest(audio_dir)) == {"halo"}

    report = build_prompts(audio_dir, CountingSpeaker())
    assert report.rendered == ["tunggu"] and report.unchanged == ["halo"]


def test_a_missing_catalogue_deletes_nothing(tmp_path: Path) -> None:
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    (rendered / "halo.wav").write_bytes(b"")
    with pytest.raises(CatalogueError, match="no prompt catalogue"):
        build_prompts(tmp_path, CountingSpeaker())
    assert (rendered / "halo.wav").exists()


def test_an_unknown_voice_is_a_clear_error(audio_dir: Path) -> None:
    with pytest.raises(TtsError, match=r"no voice 'xx/none'.*apt-get install espeak-ng"):
        build_prompts(audio_dir, Speaker(voice="xx/none"))


def test_missing_sox_is_a_clear_error(audio_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(TtsError, match=r"sox is not installed.*apt-get install espeak-ng sox"):
        build_prompts(audio_dir, Speaker())


def test_the_language_code_finds_the_indonesian_voice(tmp_path: Path) -> None:
    Speaker(voice="id").render("Satu dua tiga.", tmp_path / "x.wav")
    assert wav_facts(tmp_path / "x.wav")[4] > 1000


def test_the_command_builds_and_summarises(audio_dir: Path) -> None:
    result = CliRunner().invoke(prompts, ["build", "--audio-dir", str(audio_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "rendered     2  halo, tunggu" in lines
    assert "dynamic      1  (rendered at run time)  sapa" in lines

    again = CliRunner().invoke(prompts, ["build", "--audio-dir", str(audio_dir)])
    assert "unchanged    2" in again.output.splitlines()


def test_the_command_fails_when_tts_is_unavailable(audio_dir: Path) -> None:
    result = CliRunner().invoke(
        prompts, ["build", "--audio-dir", str(audio_dir), "--voice", "xx/none"]
    )
    assert result.exit_code == 1
    assert "text-to-speech unavailable: espeak-ng has no voice 'xx/none'" in result.output
