"""Prompt ids, their texts, and where their audio is.

``audio/prompts.yaml`` maps each id to its Indonesian text; a flow's own prompts may
live in ``audio/prompts/<flow>.yaml`` (read after it, in name order; an id given twice
is an error naming both files). A recorded human prompt
(``audio/recorded/ID.wav``) wins over a rendered one (``audio/rendered/ID.wav``).
A flow names prompts by id, and an id may hold call variables: ``salam_{waktu}``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

PROMPT_ID = re.compile(r"^[a-z0-9_]+$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
CATALOGUE_FILE = "prompts.yaml"
#: Folder of further catalogue files, one per flow or topic.
CATALOGUE_FOLDER = "prompts"
AUDIO_FOLDERS = ("recorded", "rendered")


class CatalogueError(Exception):
    """The catalogue file cannot be used."""


@dataclass(frozen=True)
class PromptEntry:
    """One prompt: its id, its text (may hold ``{variables}``) and its audio file."""

    prompt_id: str
    text: str
    audio: Path | None

    @cached_property
    def sound(self) -> str | None:
        """The audio's name under the prompts' folder in Asterisk's sounds: the file
        ``audio/rendered/x.wav`` is installed as ``<sounds>/pln123/rendered/x.wav``."""
        return None if self.audio is None else f"{self.audio.parent.name}/{self.prompt_id}"


def fill(template: str, variables: dict[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by the call variable (empty if unset)."""
    if "{" not in template:
        return template
    return PLACEHOLDER.sub(lambda match: variables.get(match.group(1), ""), template)


class PromptCatalogue:
    """All prompts the flows may use."""

    def __init__(self, entries: dict[str, PromptEntry]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, audio_dir: Path) -> PromptCatalogue:
        """Read the catalogue files and find each prompt's audio under ``audio_dir``."""
        texts: dict[str, str] = {}
        origin: dict[str, Path] = {}
        for path in catalogue_files(audio_dir):
            for key, text in _read_texts(path).items():
                if key in origin:
                    raise CatalogueError(
                        f"{path}: prompt {key!r} is also in {origin[key]}; keep one"
                    )
                texts[key], origin[key] = text, path
        ids = set(texts)
        for folder in AUDIO_FOLDERS:
            if (audio_dir / folder).is_dir():
                ids.update(p.stem for p in (audio_dir / folder).glob("*.wav"))
        entries = {
            prompt_id: PromptEntry(
                prompt_id, texts.get(prompt_id, ""), _audio(audio_dir, prompt_id)
            )
            for prompt_id in ids
        }
        return cls(entries)

    def __contains__(self, prompt_id: str) -> bool:
        return prompt_id in self._entries

    def get(self, prompt_id: str) -> PromptEntry | None:
        """The entry for a resolved id, or None."""
        return self._entries.get(prompt_id)

    def ids(self) -> list[str]:
        """Every prompt id, sorted."""
        return sorted(self._entries)

    def exists(self, reference: str) -> bool:
        """Whether a flow's prompt reference can be played: text or audio for it.

        A reference with variables (``salam_{waktu}``) exists when at least one
        catalogue id fits its shape.
        """
        if "{" not in reference:
            entry = self._entries.get(reference)
            return entry is not None and bool(entry.text or entry.audio)
        shape = re.compile(
            "^" + "[a-z0-9_]+".join(re.escape(p) for p in PLACEHOLDER.split(reference)[::2]) + "$"
        )
        return any(
            shape.match(pid) and (entry.text or entry.audio) for pid, entry in self._entries.items()
        )


def catalogue_files(audio_dir: Path) -> list[Path]:
    """The catalogue files of ``audio_dir`` that exist: ``prompts.yaml``, then
    ``prompts/*.yaml`` in name order."""
    main = audio_dir / CATALOGUE_FILE
    extra = sorted((audio_dir / CATALOGUE_FOLDER).glob("*.yaml"))
    return ([main] if main.is_file() else []) + extra


def copy_catalogue(source: Path, audio_dir: Path) -> None:
    """Copy ``source``'s catalogue files (not its audio) into ``audio_dir``."""
    for path in catalogue_files(source):
        target = audio_dir / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)


def _read_texts(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: must map prompt ids to texts")
    texts: dict[str, str] = {}
    for key, text in data.items():
        if not PROMPT_ID.match(str(key)):
            raise CatalogueError(f"{path}: prompt id {key!r}: use a-z, 0-9 and _ only")
        if not isinstance(text, str):
            raise CatalogueError(f"{path}: prompt {key!r}: the text must be a string")
        texts[str(key)] = text.strip()
    return texts


def _audio(audio_dir: Path, prompt_id: str) -> Path | None:
    for folder in AUDIO_FOLDERS:
        candidate = audio_dir / folder / f"{prompt_id}.wav"
        if candidate.is_file():
            return candidate
    return None
