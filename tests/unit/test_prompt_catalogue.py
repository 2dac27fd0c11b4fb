"""The prompt catalogue read from ``prompts.yaml`` and a flow's own ``prompts/*.yaml``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.prompts.catalogue import CatalogueError, PromptCatalogue, copy_catalogue


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_flows_own_file_adds_its_prompts(tmp_path: Path) -> None:
    _write(tmp_path / "prompts.yaml", 'salam: "Selamat pagi."\n')
    _write(tmp_path / "prompts" / "tambah_daya.yaml", 'tanya_daya: "Daya berapa?"\n')
    catalogue = PromptCatalogue.load(tmp_path)
    assert catalogue.ids() == ["salam", "tanya_daya"]
    entry = catalogue.get("tanya_daya")
    assert entry is not None and entry.text == "Daya berapa?"


def test_an_id_in_two_files_names_both(tmp_path: Path) -> None:
    _write(tmp_path / "prompts.yaml", 'salam: "Selamat pagi."\n')
    _write(tmp_path / "prompts" / "lain.yaml", 'salam: "Halo."\n')
    with pytest.raises(CatalogueError) as error:
        PromptCatalogue.load(tmp_path)
    assert "lain.yaml" in str(error.value) and "prompts.yaml" in str(error.value)


def test_a_broken_flow_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path / "prompts.yaml", 'salam: "Selamat pagi."\n')
    _write(tmp_path / "prompts" / "rusak.yaml", "salam2: [tidak: teks\n")
    with pytest.raises(CatalogueError, match=r"rusak\.yaml: not valid YAML"):
        PromptCatalogue.load(tmp_path)


def test_copy_takes_every_catalogue_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _write(source / "prompts.yaml", 'salam: "Selamat pagi."\n')
    _write(source / "prompts" / "a.yaml", 'a: "A."\n')
    copy_catalogue(source, tmp_path / "dst")
    assert PromptCatalogue.load(tmp_path / "dst").ids() == ["a", "salam"]
