"""The queues' position and hold-time announcements in Indonesian: the sounds
``queues.conf`` names are the project's prompts, the numbers Asterisk asks for are
all there and say what :mod:`ivr.language.number_words` says, the dialplan sets the
language before ``Queue()``, and the numbers are installed where Asterisk looks."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import pytest

from ivr.asterisk.queue_sounds import (
    DIGITS_FOLDER,
    LANGUAGE,
    NUMBER_PROMPTS,
    QUEUE_SOUNDS,
    install_number_sounds,
    say_number_files,
    standard_form,
)
from ivr.asterisk.render import ConfTemplate, render_conf
from ivr.language.number_words import to_words
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.silent import write_silent_prompts
from ivr.tools.sandbox import AsteriskSandbox

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "asterisk_conf"
PREFIX = "pln123/rendered/"


@pytest.fixture(scope="module")
def catalogue() -> PromptCatalogue:
    return PromptCatalogue.load(REPO / "audio")


def spoken(numbers: list[str], catalogue: PromptCatalogue) -> str:
    """What a caller hears for Asterisk's ``digits/*`` files: the prompts' texts."""
    texts = []
    for sound in numbers:
        entry = catalogue.get(NUMBER_PROMPTS[sound])
        assert entry is not None, sound
        texts.append(entry.text)
    return " ".join(texts)


def queue_template() -> dict[str, str]:
    """The options of the ``[pln123-queue]`` template every CSO queue inherits."""
    options: dict[str, str] = {}
    section = ""
    for raw in (CONF / "queues.conf").read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            section = line[1:].split("]")[0]
        elif section == "pln123-queue" and "=" in line:
            key, _, value = line.partition("=")
            options[key.strip()] = value.strip()
    return options


# --- Asterisk's number rules (main/say.c, get_number_str_en) ---------------------------


@pytest.mark.parametrize(
    ("number", "files"),
    [
        (0, ["digits/0"]),
        (7, ["digits/7"]),
        (11, ["digits/11"]),
        (19, ["digits/19"]),
        (20, ["digits/20"]),
        (21, ["digits/20", "digits/1"]),
        (99, ["digits/90", "digits/9"]),
        (100, ["digits/1", "digits/hundred"]),
        (115, ["digits/1", "digits/hundred", "digits/15"]),
        (240, ["digits/2", "digits/hundred", "digits/40"]),
        (1000, ["digits/1", "digits/thousand"]),
        (2021, ["digits/2", "digits/thousand", "digits/20", "digits/1"]),
        (
            123456,
            [
                "digits/1", "digits/hundred", "digits/20", "digits/3", "digits/thousand",
                "digits/4", "digits/hundred", "digits/50", "digits/6",
            ],
        ),
    ],
)  # fmt: skip
def test_numbers_are_the_files_asterisk_plays(number: int, files: list[str]) -> None:
    assert say_number_files(number) == files


@pytest.mark.parametrize("number", [-1, 1_000_000])
def test_numbers_outside_the_mirror_are_refused(number: int) -> None:
    with pytest.raises(ValueError, match="not mirrored"):
        say_number_files(number)


def test_the_number_prompts_cover_every_file_the_rules_ask_for() -> None:
    asked = {sound for number in range(1_000_000) for sound in say_number_files(number)}
    assert asked == set(NUMBER_PROMPTS)
    assert len(NUMBER_PROMPTS) == 30
    assert "digits/21" not in NUMBER_PROMPTS  # 21 is digits/20 + digits/1


def test_each_number_prompt_says_its_number(catalogue: PromptCatalogue) -> None:
    for sound, prompt_id in NUMBER_PROMPTS.items():
        name = sound.removeprefix("digits/")
        expected = {"hundred": "ratus", "thousand": "ribu"}.get(name) or to_words(int(name))
        entry = catalogue.get(prompt_id)
        assert entry is not None and entry.text == expected, prompt_id


def test_sebelas_and_sepuluh_have_files_of_their_own(catalogue: PromptCatalogue) -> None:
    assert spoken(say_number_files(10), catalogue) == "sepuluh"
    assert spoken(say_number_files(11), catalogue) == "sebelas"
    assert spoken(say_number_files(21), catalogue) == "dua puluh satu"


@pytest.mark.parametrize(
    ("what", "numbers"), [("position", range(1, 100)), ("minutes", range(1, 61))]
)
def test_positions_and_minutes_are_correct_indonesian(
    catalogue: PromptCatalogue, what: str, numbers: range
) -> None:
    for number in numbers:
        assert spoken(say_number_files(number), catalogue) == to_words(number), (what, number)


def test_seconds_are_rounded_to_thirty(catalogue: PromptCatalogue) -> None:
    assert queue_template()["announce-round-seconds"] == "30"
    assert spoken(say_number_files(30), catalogue) == "tiga puluh"


def test_beyond_ninety_nine_only_se_differs(catalogue: PromptCatalogue) -> None:
    """From 100 on Asterisk says "satu ratus" and "satu ribu" where Indonesian says
    "seratus" and "seribu"; everything else is as number_words says it."""
    assert spoken(say_number_files(100), catalogue) == "satu ratus"
    assert spoken(say_number_files(1100), catalogue) == "satu ribu satu ratus"
    for number in [*range(100, 20_000), *range(20_000, 1_000_000, 997)]:
        words = spoken(say_number_files(number), catalogue)
        assert standard_form(words) == to_words(number), number
        if 200 <= number < 1000:
            assert words == to_words(number), number


# --- queues.conf ------------------------------------------------------------------------


def test_queues_conf_names_our_prompt_for_every_caller_sound() -> None:
    options = queue_template()
    sounds = {key: value for key, value in options.items() if key.startswith("queue-")}
    assert sounds == {key: PREFIX + prompt_id for key, prompt_id in QUEUE_SOUNDS.items()}


def test_every_sound_queues_conf_names_is_a_fixed_prompt(catalogue: PromptCatalogue) -> None:
    options = queue_template()
    named = [v for k, v in options.items() if k.startswith("queue-") or k == "periodic-announce"]
    assert len(named) == len(QUEUE_SOUNDS) + 1
    for sound in named:
        assert sound.startswith(PREFIX), sound
        entry = catalogue.get(sound.removeprefix(PREFIX))
        assert entry is not None and entry.text and "{" not in entry.text, sound


def test_queue_behaviour_is_unchanged() -> None:
    options = queue_template()
    assert {key: options[key] for key in (
        "announce-frequency", "min-announce-frequency", "announce-position",
        "announce-holdtime", "announce-round-seconds", "periodic-announce-frequency",
    )} == {
        "announce-frequency": "60", "min-announce-frequency": "30", "announce-position": "yes",
        "announce-holdtime": "once", "announce-round-seconds": "30",
        "periodic-announce-frequency": "45",
    }  # fmt: skip
    assert "announce-to-first-user" not in options  # Asterisk's default (no)


# --- the rendered config ----------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    names = {
        name
        for path in CONF.glob("*.conf")
        for name in ConfTemplate(path.read_text(encoding="utf-8")).get_identifiers()
    }
    etc = tmp_path_factory.mktemp("etc")
    render_conf(CONF, etc, dict.fromkeys(names, "4573"))
    return etc


def test_the_dialplan_sets_the_language_before_every_queue(rendered: Path) -> None:
    text = (rendered / "extensions.conf").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(";")]
    queue_lines = [index for index, line in enumerate(lines) if re.search(r"\bQueue\(", line)]
    assert len(queue_lines) == 1
    (index,) = queue_lines
    assert lines[index - 1] == f" same => n(queue),Set(CHANNEL(language)={LANGUAGE})"
    assert lines[index] == " same => n,Queue(${PLN123_QUEUE},,,,4573)"
    # Both ways in (the IVR's instruction, the fallback) and the way back after the
    # call-back offer reach Queue() through that label.
    gotos = [line for line in lines if "Goto(queue)" in line]
    assert len(gotos) == 2


def test_the_rendered_queues_conf_keeps_the_sounds(rendered: Path) -> None:
    text = (rendered / "queues.conf").read_text(encoding="utf-8")
    for key, prompt_id in QUEUE_SOUNDS.items():
        assert f"\n{key} = {PREFIX}{prompt_id}\n" in text


# --- installing the numbers ---------------------------------------------------------------


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    audio_dir = tmp_path / "audio"
    write_silent_prompts(REPO / "audio", audio_dir, seconds=0.05)
    return audio_dir


def _tone(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x01\x02" * 80)


def test_numbers_install_under_the_language_folder(audio: Path, tmp_path: Path) -> None:
    _tone(audio / "recorded" / "angka_2.wav")  # a recording wins over the rendering
    sounds = tmp_path / "sounds"
    written = install_number_sounds(audio, sounds)
    folder = sounds / LANGUAGE / DIGITS_FOLDER
    expected = {f"{n}.wav" for n in [*range(20), *range(20, 100, 10)]} | {
        "hundred.wav",
        "thousand.wav",
    }
    assert {path.name for path in written} == expected
    assert {path.name for path in folder.iterdir()} == expected
    assert (folder / "2.wav").read_bytes() == (audio / "recorded" / "angka_2.wav").read_bytes()
    assert (folder / "21.wav").exists() is False
    assert (folder / "hundred.wav").read_bytes() == (
        audio / "rendered" / "angka_ratus.wav"
    ).read_bytes()


def test_numbers_without_audio_are_refused(audio: Path, tmp_path: Path) -> None:
    (audio / "rendered" / "angka_7.wav").unlink()
    with pytest.raises(FileNotFoundError, match="angka_7"):
        install_number_sounds(audio, tmp_path / "sounds")
    assert not (tmp_path / "sounds").exists()


def test_the_sandbox_installs_the_numbers_over_the_distributions(
    audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution with sounds of its own in ``id`` keeps them, but our digits win."""
    dist = tmp_path / "dist"
    for name in ("sounds/en/digits/1.gsm", "sounds/id/halo.gsm", "sounds/id/digits/1.gsm",
                 "sounds/id/digits/minus.gsm", "moh/a.wav"):  # fmt: skip
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_bytes(b"x")
    monkeypatch.setenv("PLN123_ASTERISK_DATADIR", str(dist))
    monkeypatch.setenv("PLN123_ASTERISK_BIN", "asterisk")
    sandbox = AsteriskSandbox(root="system", cache_dir=tmp_path / "cache", audio_dir=audio)
    sandbox._prepare_state()
    digits = sandbox.number_sounds_dir
    assert digits == sandbox.sounds_dir.parent / "id" / "digits"
    assert (digits / "1.wav").read_bytes() == (audio / "rendered" / "angka_1.wav").read_bytes()
    assert (digits / "1.gsm").is_symlink() and (digits / "minus.gsm").is_symlink()
    assert (digits.parent / "halo.gsm").is_symlink()
    assert (sandbox.sounds_dir.parent / "en").is_symlink()
    assert (sandbox.sounds_dir / "rendered" / "antrean_nomor.wav").is_file()
