"""Render the catalogue's fixed prompts to ``audio/rendered/<id>.wav``.

Only prompts without ``{placeholders}`` are rendered here; the others are spoken at run
time with the call's values filled in (:mod:`ivr.speech.dynamic`). A prompt with a
recorded file (``audio/recorded/<id>.wav``) is not rendered: the recording is what
callers hear.

``audio/rendered/manifest.json`` maps each rendered id to the :func:`speech_key` of the
text, voice and rate it was rendered with, so a build renders only what changed: a new
prompt, an edited text, another voice or rate, or a deleted wav. Rendered files whose id
no longer has a fixed text in the catalogue (removed, or now holding placeholders) are
deleted so that the catalogue cannot play them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.prompts.catalogue import (
    CATALOGUE_FILE,
    PLACEHOLDER,
    CatalogueError,
    PromptCatalogue,
    catalogue_files,
)
from ivr.prompts.tts import TextToSpeech, speech_key

log = logging.getLogger(__name__)

RENDERED = "rendered"
RECORDED = "recorded"
MANIFEST = "manifest.json"

#: ``progress(done, total, prompt_id)``: called with ``(0, total, "")`` before the first
#: render and after each render; ``total`` counts the prompts that need rendering, and
#: it is not called at all when nothing does.
Progress = Callable[[int, int, str], None]


@dataclass
class BuildReport:
    """What a build did with each prompt id (each list sorted)."""

    #: Rendered now: new, edited, other voice or rate, or the wav was missing.
    rendered: list[str] = field(default_factory=list)
    #: Rendered before with the same text, voice and rate; the wav is there.
    unchanged: list[str] = field(default_factory=list)
    #: A recorded file exists and wins; nothing rendered.
    recorded: list[str] = field(default_factory=list)
    #: The text holds placeholders: rendered at run time with the call's values.
    dynamic: list[str] = field(default_factory=list)
    #: Rendered files deleted: the id has no fixed text in the catalogue any more.
    removed: list[str] = field(default_factory=list)

    def categories(self) -> dict[str, list[str]]:
        """Each category's name and ids, in the order a summary shows them."""
        return {
            "rendered": self.rendered,
            "unchanged": self.unchanged,
            "recorded": self.recorded,
            "dynamic": self.dynamic,
            "removed": self.removed,
        }


def build_prompts(
    audio_dir: Path, speaker: TextToSpeech, progress: Progress | None = None
) -> BuildReport:
    """Render every fixed prompt of ``audio_dir/prompts.yaml`` that changed since the last
    build into ``audio_dir/rendered/``, and delete rendered files no longer wanted.

    Raises :class:`~ivr.prompts.catalogue.CatalogueError` for a missing or unusable catalogue,
    :class:`~ivr.prompts.tts.TtsError` when the TTS is unavailable or fails (the prompts
    rendered until then are kept and recorded in the manifest), and :class:`ValueError`
    for a prompt with nothing to say.
    """
    if not catalogue_files(audio_dir):
        # PromptCatalogue takes a missing file as an empty catalogue; here that would
        # delete every rendered file of a mistyped folder.
        raise CatalogueError(f"{audio_dir / CATALOGUE_FILE}: no prompt catalogue there")
    catalogue = PromptCatalogue.load(audio_dir)
    rendered_dir = audio_dir / RENDERED
    recorded_dir = audio_dir / RECORDED
    manifest_path = rendered_dir / MANIFEST
    manifest = _read_manifest(manifest_path)
    report = BuildReport()

    fixed: dict[str, str] = {}
    for prompt_id in catalogue.ids():
        entry = catalogue.get(prompt_id)
        if entry is None or not entry.text:
            continue  # an audio file with no text in the catalogue
        if PLACEHOLDER.search(entry.text):
            report.dynamic.append(prompt_id)
        else:
            fixed[prompt_id] = entry.text

    changed = False
    for wav in sorted(rendered_dir.glob("*.wav")):
        if wav.stem not in fixed:
            wav.unlink()
            report.removed.append(wav.stem)
    for prompt_id in [pid for pid in manifest if pid not in fixed]:
        del manifest[prompt_id]
        changed = True

    todo: list[tuple[str, str, str]] = []
    for prompt_id, text in fixed.items():
        key = speech_key(text, speaker.voice, speaker.rate)
        if (recorded_dir / f"{prompt_id}.wav").is_file():
            report.recorded.append(prompt_id)
        elif manifest.get(prompt_id) == key and (rendered_dir / f"{prompt_id}.wav").is_file():
            report.unchanged.append(prompt_id)
        else:
            todo.append((prompt_id, text, key))

    try:
        if todo and progress is not None:
            progress(0, len(todo), "")
        for done, (prompt_id, text, key) in enumerate(todo, start=1):
            # A failed render leaves the old wav (renders replace files atomically), which
            # the old manifest entry still describes: nothing to undo.
            try:
                speaker.render(text, rendered_dir / f"{prompt_id}.wav")
            except ValueError as exc:
                raise ValueError(f"prompt {prompt_id!r}: {exc}") from exc
            manifest[prompt_id] = key
            report.rendered.append(prompt_id)
            if progress is not None:
                progress(done, len(todo), prompt_id)
    finally:
        if changed or report.rendered:
            _write_manifest(manifest_path, manifest)
    return report


def _read_manifest(path: Path) -> dict[str, str]:
    """The manifest's id -> key; empty (everything renders again) if missing or unusable."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable (%s): rendering every prompt again", path, exc)
        return {}
    if not isinstance(data, dict):
        log.warning("%s is not an object: rendering every prompt again", path)
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def _write_manifest(path: Path, manifest: dict[str, str]) -> None:
    """Write atomically, so an interrupted build leaves the old manifest or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n", "utf-8")
    os.replace(partial, path)
