"""``pln123 prompts``: render the prompt catalogue to telephone audio.

Settings are read with :func:`ivr.config.load_settings` rather than through
``ivr.cli.main``, which registers this group: importing it back would be a cycle.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from ivr.config import load_settings
from ivr.prompts.build import BuildReport, build_prompts
from ivr.prompts.catalogue import CatalogueError
from ivr.prompts.tts import DEFAULT_RATE, DEFAULT_VOICE, Speaker, TtsError

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # what click.progressbar returns

#: What each category of the summary means, after its count.
_MEANING = {
    "rendered": "",
    "unchanged": "",
    "recorded": "the recording wins",
    "dynamic": "rendered at run time",
    "removed": "no fixed text in the catalogue any more",
}
#: Categories whose ids are listed in the summary (unchanged would list nearly all).
_LISTED = ("rendered", "recorded", "dynamic", "removed")
_MAX_LISTED = 10


@click.group()
def prompts() -> None:
    """Prompt audio: the catalogue's texts as speech."""


@prompts.command("build")
@click.option(
    "--rate",
    type=click.IntRange(60, 400),
    default=DEFAULT_RATE,
    show_default=True,
    help="Speaking rate in words per minute.",
)
@click.option(
    "--voice",
    default=DEFAULT_VOICE,
    show_default=True,
    help="espeak-ng voice id, or a language code such as 'id'.",
)
@click.option(
    "--audio-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with prompts.yaml [default: audio_dir from the settings].",
)
def prompts_build(rate: int, voice: str, audio_dir: Path | None) -> None:
    """Render each prompt without placeholders to AUDIO_DIR/rendered/ID.wav (8 kHz).

    Only new or changed prompts are rendered; a recorded AUDIO_DIR/recorded/ID.wav wins
    over rendering; prompts with {placeholders} are rendered during calls.
    """
    if audio_dir is None:
        try:
            audio_dir = load_settings().audio_dir
        except (ValidationError, FileNotFoundError, ValueError) as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
    speaker = Speaker(voice=voice, rate=rate)
    with contextlib.ExitStack() as stack:
        bar: ProgressBar[int] | None = None

        def progress(done: int, total: int, prompt_id: str) -> None:
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(
                    click.progressbar(length=total, label="rendering", show_pos=True)
                )
            if done:
                bar.update(1)

        try:
            report = build_prompts(audio_dir, speaker, progress)
        except TtsError as exc:
            raise click.ClickException(f"text-to-speech unavailable: {exc}") from exc
        except (CatalogueError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    for line in summary(report):
        click.echo(line)


def summary(report: BuildReport) -> list[str]:
    """One line per category: its name, its count, and its ids where useful."""
    lines = []
    for name, ids in report.categories().items():
        line = f"{name:<10}{len(ids):>4}"
        if _MEANING[name] and ids:
            line += f"  ({_MEANING[name]})"
        if name in _LISTED and ids:
            shown = ", ".join(ids[:_MAX_LISTED])
            more = len(ids) - _MAX_LISTED
            line += f"  {shown}, and {more} more" if more > 0 else f"  {shown}"
        lines.append(line)
    return lines
