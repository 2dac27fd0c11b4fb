"""Flow files: a good one loads, and each kind of mistake is named with its file and line.

The case files live in ``tests/flows/cases/``; each bad one holds one mistake. The
expected messages are exact: they are what an ops person reads in
``pln123 flows check`` and in the reload log.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, PositiveInt

from ivr.engine.library import LibraryHolder, load_library
from ivr.engine.loader import FlowError, LoadedFlow, load_flow_file, parse_flow_text
from ivr.engine.validate import check_flow
from ivr.kit import KIT
from ivr.prompts.catalogue import PromptCatalogue
from ivr.steps.collect import CollectNode
from ivr.steps.menu import MenuNode
from ivr.steps.registry import KINDS

CASES = Path(__file__).parent / "cases"
REPO = Path(__file__).resolve().parents[2]
ACTIONS = ["set"]
#: The real node kinds with only the ``set`` action, as the test flows expect.
TEST_KIT = replace(KIT, actions={"set": KIT.actions["set"]})

#: The prompt catalogue every case speaks from. ``kosong`` has no text and no audio.
PROMPTS = """\
salam_pagi: "Selamat pagi, terima kasih telah menghubungi PLN 123."
salam_malam: "Selamat malam, terima kasih telah menghubungi PLN 123."
terima_kasih_pagi: "Terima kasih. Selamat pagi."
terima_kasih_malam: "Terima kasih. Selamat malam."
menu_utama: "Untuk periksa, tekan 1."
minta_idpel: "Silakan tekan ID pelanggan Anda."
konfirmasi_idpel: "ID pelanggan Anda adalah"
mohon_tunggu_cso: "Mohon tunggu."
maaf_tidak_terdengar: "Mohon maaf, kami belum menerima pilihan Anda."
maaf_pilihan_salah: "Mohon maaf, pilihan tersebut tidak tersedia."
info_umum: "Informasi umum."
kosong: ""
"""

NO_WAY_OUT = "has no way out: no transfer, hangup or return can be reached from it"
KIND_NAMES = "action, branch, collect, hangup, menu, play, return, subflow, transfer"

#: Mistakes the loader (YAML and schema) finds: case -> [(line, message)].
SCHEMA_CASES: dict[str, list[tuple[int, str]]] = {
    "invalid_yaml": [(7, "not valid YAML: expected ',' or ']', but got ':'")],
    "duplicate_key": [(10, "duplicate key 'salam'")],
    "unknown_kind": [(4, f"nodes.salam: unknown node kind; use one of: {KIND_NAMES}")],
    "missing_next": [(4, "nodes.salam.next: required field is missing")],
    "unknown_field": [
        (4, "nodes.salam.next: required field is missing"),
        (7, "nodes.salam.nxet: unknown field (a typo?)"),
    ],
    "bad_choice_key": [
        (8, "nodes.pilihan.choices: Value error, choice key '10' is not a phone key (0-9, *, #)")
    ],
    "bad_lengths": [(4, "nodes.idpel: Value error, min_length is larger than max_length")],
    "bad_pattern": [
        (
            4,
            "nodes.idpel: Value error, pattern is not a valid regular expression: "
            "unterminated character set at position 0",
        )
    ],
    "wrong_name": [(2, "flow: 'nama_lain' must match the file name 'wrong_name'")],
}

#: Mistakes only the checks across nodes and flows find: case -> [(line, message)].
CROSS_CASES: dict[str, list[tuple[int, str]]] = {
    "dangling_next": [(11, "node 'pilihan' leads to 'infoo', which does not exist")],
    "unreachable": [(10, "node 'yatim' cannot be reached from start")],
    "no_way_out": [(9, f"node 'dua' {NO_WAY_OUT}"), (5, f"node 'satu' {NO_WAY_OUT}")],
    "missing_prompt": [
        (6, "prompt 'tidak_ada' has no text and no audio"),
        (10, "prompt 'kosong' has no text and no audio"),
    ],
    "unknown_action": [(6, "node 'cek': unknown action 'cek_tagihan'; known: set")],
    "missing_subflow": [(6, "node 'info': no flow named 'tidak_ada'")],
}


def write_audio(root: Path) -> Path:
    """An ``audio/`` folder with the test catalogue."""
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    (audio / "prompts.yaml").write_text(PROMPTS, encoding="utf-8")
    return audio


def make_project(root: Path, *cases: str) -> tuple[Path, Path]:
    """``root/flows`` holding copies of the named case files, and ``root/audio``."""
    flows = root / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    for case in cases:
        shutil.copy(CASES / f"{case}.yaml", flows / f"{case}.yaml")
    return flows, write_audio(root)


def found(exc: FlowError) -> list[tuple[str, int | None, str]]:
    return [(problem.file.name, problem.line, problem.message) for problem in exc.problems]


# --- the good flow --------------------------------------------------------------------


def test_good_flow_loads_and_passes_every_check(tmp_path: Path) -> None:
    flows, audio = make_project(tmp_path, "good", "good_sub")
    library = load_library(flows, audio, TEST_KIT)
    assert sorted(library.flows) == ["good", "good_sub"]
    good = library.flows["good"].flow
    assert good.start == "salam"
    assert [node.kind for node in good.nodes.values()] == [
        "play",
        "menu",
        "collect",
        "action",
        "branch",
        "subflow",
        "transfer",
        "hangup",
        "transfer",
    ]
    # The implicit CSO node is added with the defaults.
    assert good.nodes["cso"].kind == "transfer"
    menu = good.nodes["menu"]
    assert isinstance(menu, MenuNode)
    assert list(menu.choices) == ["1", "2", "#"]
    idpel = good.nodes["idpel"]
    assert isinstance(idpel, CollectNode)
    assert (idpel.min_length, idpel.max_length, idpel.pattern) == (11, 12, "[0-9]{11,12}")


def test_good_flow_source_map_points_at_lines() -> None:
    loaded = load_flow_file(CASES / "good.yaml", KINDS)
    assert loaded.source.line_of(("start",)) == 4
    assert loaded.source.line_of(("nodes", "menu", "choices", "2", "next")) == 25
    # A path not written falls back to its closest written parent.
    assert loaded.source.line_of(("nodes", "menu", "fallback")) == 19


def test_repo_flows_load(tmp_path: Path) -> None:

    library = load_library(REPO / "flows", REPO / "audio", KIT)
    assert "main" in library.flows


# --- one mistake per file ---------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES))
def test_schema_mistake_from_file(case: str) -> None:
    with pytest.raises(FlowError) as caught:
        load_flow_file(CASES / f"{case}.yaml", KINDS)
    assert found(caught.value) == [(f"{case}.yaml", line, msg) for line, msg in SCHEMA_CASES[case]]


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES))
def test_schema_mistake_from_text(case: str) -> None:
    text = (CASES / f"{case}.yaml").read_text(encoding="utf-8")
    file = Path("flows") / f"{case}.yaml"
    with pytest.raises(FlowError) as caught:
        parse_flow_text(text, file, KINDS)
    expected = [f"flows/{case}.yaml:{line}: {msg}" for line, msg in SCHEMA_CASES[case]]
    assert [str(problem) for problem in caught.value.problems] == expected
    assert str(caught.value) == "\n".join(expected)


@pytest.mark.parametrize("case", sorted(CROSS_CASES))
def test_cross_node_mistake_by_check_flow(case: str, tmp_path: Path) -> None:
    loaded = load_flow_file(CASES / f"{case}.yaml", KINDS)
    catalogue = PromptCatalogue.load(write_audio(tmp_path))
    problems = check_flow(loaded, [case, "good_sub"], catalogue.exists, ACTIONS)
    assert [(p.line, p.message) for p in problems] == CROSS_CASES[case]
    assert all(p.file == CASES / f"{case}.yaml" for p in problems)


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES | CROSS_CASES))
def test_load_library_refuses_the_mistake(case: str, tmp_path: Path) -> None:
    flows, audio = make_project(tmp_path, case)
    with pytest.raises(FlowError) as caught:
        load_library(flows, audio, TEST_KIT)
    expected = (SCHEMA_CASES | CROSS_CASES)[case]
    assert found(caught.value) == [(f"{case}.yaml", line, msg) for line, msg in expected]
    assert all(problem.file == flows / f"{case}.yaml" for problem in caught.value.problems)


def test_library_reports_every_bad_file_at_once(tmp_path: Path) -> None:
    flows, audio = make_project(tmp_path, "good", "good_sub", "missing_next", "unreachable")
    with pytest.raises(FlowError) as caught:
        load_library(flows, audio, TEST_KIT)
    assert found(caught.value) == [
        ("missing_next.yaml", 4, "nodes.salam.next: required field is missing"),
        ("unreachable.yaml", 10, "node 'yatim' cannot be reached from start"),
    ]


def test_subflow_to_a_flow_in_the_library_passes(tmp_path: Path) -> None:
    """The same subflow node is fine once the flow it names is there."""
    text = (CASES / "missing_subflow.yaml").read_text(encoding="utf-8")
    loaded = parse_flow_text(text, tmp_path / "missing_subflow.yaml", KINDS)
    catalogue = PromptCatalogue.load(write_audio(tmp_path))
    assert check_flow(loaded, ["missing_subflow", "tidak_ada"], catalogue.exists, ACTIONS) == []


def test_a_prompt_with_audio_but_no_text_exists(tmp_path: Path) -> None:
    audio = write_audio(tmp_path)
    (audio / "recorded").mkdir()
    (audio / "recorded" / "kosong.wav").write_bytes(b"RIFF")
    (audio / "recorded" / "tidak_ada.wav").write_bytes(b"RIFF")
    loaded = load_flow_file(CASES / "missing_prompt.yaml", KINDS)
    catalogue = PromptCatalogue.load(audio)
    assert check_flow(loaded, ["missing_prompt"], catalogue.exists, ACTIONS) == []


def test_empty_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow_text("# nothing here\n", tmp_path / "leer.yaml", KINDS)
    assert found(caught.value) == [("leer.yaml", None, "the file is empty")]
    with pytest.raises(FlowError) as caught:
        parse_flow_text("- a\n- b\n", tmp_path / "liste.yaml", KINDS)
    assert found(caught.value) == [
        ("liste.yaml", 1, "a flow file must be a mapping (flow:, start:, nodes:)")
    ]


def test_node_named_like_a_kind_keeps_its_location() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow_file(CASES / "menu_named_menu.yaml", KINDS)
    assert found(caught.value) == [
        (
            "menu_named_menu.yaml",
            9,
            "nodes.menu.choices: Value error, choice key '10' is not a phone key (0-9, *, #)",
        )
    ]


# --- pln123 flows check -----------------------------------------------------------------


def pln123(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``pln123`` command (the installed script, else ``python -m``)."""
    script = Path(sys.executable).with_name("pln123")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "ivr.cli.main"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLN123_")}
    return subprocess.run(
        [*argv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_check_names_file_and_line(tmp_path: Path) -> None:
    make_project(tmp_path, "good", "good_sub", "unknown_field")
    done = pln123("flows", "check", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "flows/unknown_field.yaml:7: nodes.salam.nxet: unknown field (a typo?)" in done.stderr
    assert "flows/unknown_field.yaml:4: nodes.salam.next: required field is missing" in done.stderr


def test_cli_check_cross_node_problem(tmp_path: Path) -> None:
    make_project(tmp_path, "no_way_out")
    done = pln123("flows", "check", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"flows/no_way_out.yaml:5: node 'satu' {NO_WAY_OUT}" in done.stderr


def test_cli_check_good_flows(tmp_path: Path) -> None:
    make_project(tmp_path, "good", "good_sub")
    done = pln123("flows", "check", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok  flows/good.yaml  (good: 9 nodes)" in done.stdout
    assert "ok  flows/good_sub.yaml  (good_sub: 3 nodes)" in done.stdout


def test_cli_check_repo_flows() -> None:
    done = pln123("flows", "check", cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok  flows/main.yaml" in done.stdout
    assert "ok  flows/data/tarif_tambah_daya.yaml  (data table)" in done.stdout


def test_cli_check_names_a_broken_data_table(tmp_path: Path) -> None:
    flows, _ = make_project(tmp_path, "good", "good_sub")
    (flows / "data").mkdir()
    table = (REPO / "flows" / "data" / "tarif_tambah_daya.yaml").read_text(encoding="utf-8")
    (flows / "data" / "tarif_tambah_daya.yaml").write_text(
        table.replace("ppj_persen: 3", "ppj_persen: 300"), encoding="utf-8"
    )
    done = pln123("flows", "check", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(i for i, row in enumerate(table.splitlines(), 1) if row.startswith("ppj_persen"))
    assert f"flows/data/tarif_tambah_daya.yaml:{line}: ppj_persen:" in done.stderr


# --- reload keeps the last good library -----------------------------------------------


def test_reload_keeps_last_good_library_then_swaps(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flows, audio = make_project(tmp_path, "good", "good_sub")
    holder = LibraryHolder(flows, audio, TEST_KIT)
    first = holder.current
    good_file = flows / "good.yaml"
    good_text = good_file.read_text(encoding="utf-8")

    # A typo: refused, the old library stays in use.
    good_file.write_text(good_text.replace("    next: menu\n", "    nxet: menu\n"), "utf-8")
    with caplog.at_level(logging.ERROR, logger="ivr.engine.library"):
        assert holder.reload() is False
    assert holder.current is first
    assert isinstance(holder.current.flows["good"], LoadedFlow)
    assert "menu" in holder.current.flows["good"].flow.nodes
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"flow reload refused: {good_file}:17: nodes.salam.nxet: unknown field (a typo?)" in (
        logged
    )
    assert "still serving the last good flows (good, good_sub)" in logged

    # A new flow file that is invalid also blocks the whole reload.
    shutil.copy(CASES / "no_way_out.yaml", flows / "no_way_out.yaml")
    good_file.write_text(good_text, "utf-8")
    assert holder.reload() is False
    assert holder.current is first
    (flows / "no_way_out.yaml").unlink()

    # Valid again, with a change: swapped in.
    changed = good_text.replace("queue: periksa", "queue: periksa_baru")
    good_file.write_text(changed, "utf-8")
    assert holder.reload() is True
    assert holder.current is not first
    transfer = holder.current.flows["good"].flow.nodes["ke_cso_periksa"]
    assert getattr(transfer, "queue", None) == "periksa_baru"


def test_holder_refuses_to_start_on_bad_flows(tmp_path: Path) -> None:
    flows, audio = make_project(tmp_path, "unknown_kind")
    with pytest.raises(FlowError):
        LibraryHolder(flows, audio, TEST_KIT)


# --- data tables (flows/data/<name>.yaml) ----------------------------------------------


class Rates(BaseModel):
    """A stand-in table schema."""

    model_config = ConfigDict(extra="forbid")
    source: str
    rates: dict[str, PositiveInt]


def test_a_data_table_loads_as_its_model(tmp_path: Path) -> None:
    flows, audio = make_project(tmp_path, "good", "good_sub")
    (flows / "data").mkdir()
    (flows / "data" / "tarif.yaml").write_text(
        "source: Permen ESDM\nrates:\n  R1: 775\n", encoding="utf-8"
    )
    library = load_library(flows, audio, replace(TEST_KIT, table_models={"tarif": Rates}))
    assert library.tables["tarif"] == Rates(source="Permen ESDM", rates={"R1": 775})


def test_a_broken_data_table_is_refused_with_file_and_line(tmp_path: Path) -> None:
    flows, audio = make_project(tmp_path, "good", "good_sub")
    (flows / "data").mkdir()
    (flows / "data" / "tarif.yaml").write_text(
        "source: Permen ESDM\nrates:\n  R1: 775\n  R2: -5\n", encoding="utf-8"
    )
    (flows / "data" / "lain.yaml").write_text("a: 1\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_library(flows, audio, replace(TEST_KIT, table_models={"tarif": Rates}))
    assert found(caught.value) == [
        ("lain.yaml", None, "unknown data table; known: tarif"),
        ("tarif.yaml", 4, "rates.R2: Input should be greater than 0"),
    ]
