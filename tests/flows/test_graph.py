"""Drawing flows: DOT, Mermaid and SVG show every node and every way out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.engine import graph
from ivr.engine.graph import render
from ivr.engine.loader import load_flow_file, parse_flow_text
from ivr.engine.model import CSO_NODE, Flow, InputNode
from ivr.engine.validate import edges
from ivr.steps.menu import MenuNode
from ivr.steps.registry import KINDS

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")

#: A Mermaid node line: its Mermaid id, then the shape's opening and the quoted label.
MERMAID_NODE = re.compile(r'^\s+(n\d+_\w*)[\[\](){}/>]+"([^"]*)"', re.MULTILINE)
MERMAID_EDGE = re.compile(r"^\s+(\w+) (-->|-\.->)(?:\|\"([^\"]*)\"\|)? (\w+)$", re.MULTILINE)
DOT_EDGE = re.compile(
    r'^\s+"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"(?: \[(.*)\])?;$', re.MULTILINE
)


def main_flow() -> Flow:
    return load_flow_file(REPO / "flows" / "main.yaml", KINDS).flow


def expected_edges(flow: Flow) -> list[tuple[str, str, str]]:
    """(from, to, label) for every edge the validator knows, labelled by the rules."""
    result = []
    for node in flow.nodes.values():
        for edge in edges(flow, node):
            what = edge.path[2]
            if what == "choices":
                assert isinstance(node, MenuNode)
                key = edge.path[3]
                label = f"{key}={node.choices[key].value}"
            elif what == "cso_key":
                assert isinstance(node, InputNode)
                key = node.cso_key if node.cso_key is not None else flow.defaults.cso_key
                label = f"{key} → CSO"
            elif what == "fallback":
                label = "fallback"
            elif what == "next" and node.kind == "play":
                label = ""
            elif what == "next" and node.kind == "collect":
                label = "valid"
            elif what == "results":
                label = edge.path[3]
            elif what == "next" and node.kind == "subflow":
                label = "returned"
            else:
                label = "?"
            result.append((node.id, edge.target, label))
    return result


def mermaid_ids(text: str) -> dict[str, str]:
    """Flow node id -> Mermaid id, read back from the node lines."""
    return {label.split("<br/>")[0]: mid for mid, label in MERMAID_NODE.findall(text)}


# --- the real main flow ---------------------------------------------------------------


def test_dot_has_every_node_and_edge_of_main() -> None:
    flow = main_flow()
    text = render(flow, "dot").decode("utf-8")
    assert text.startswith('digraph "main" {')
    for node_id, node in flow.nodes.items():
        assert re.search(rf'^  "{node_id}" \[label="{node_id}\\n{node.kind}', text, re.MULTILINE)
    drawn = [
        (src, dst, (re.search(r'label="([^"]*)"', attrs or "") or [None, ""])[1])
        for src, dst, attrs in DOT_EDGE.findall(text)
    ]
    assert drawn == [("(start)", flow.start, ""), *expected_edges(flow)]


def test_mermaid_has_every_node_and_edge_of_main() -> None:
    flow = main_flow()
    text = render(flow, "mermaid").decode("utf-8")
    assert "flowchart TD" in text.splitlines()
    ids = mermaid_ids(text)
    assert set(ids) == set(flow.nodes)
    by_mid = {mid: node_id for node_id, mid in ids.items()} | {"start_": "(start)"}
    drawn = [
        (by_mid[src], by_mid[dst], label or "")
        for src, _arrow, label, dst in MERMAID_EDGE.findall(text)
    ]
    assert drawn == [("(start)", flow.start, ""), *expected_edges(flow)]
    # Fallback and CSO key are drawn dotted; choices solid.
    for src, arrow, label, _dst in MERMAID_EDGE.findall(text):
        if label == "fallback" or label.endswith("→ CSO"):
            assert arrow == "-.->", (src, label)
        elif label and "=" in label:
            assert arrow == "-->", (src, label)


def test_main_labels_show_ask_tags_and_queues() -> None:
    flow = main_flow()
    dot = render(flow, "dot").decode("utf-8")
    mermaid = render(flow, "mermaid").decode("utf-8")
    for node in flow.nodes.values():
        if isinstance(node, InputNode):
            assert f"{node.id}\\n{node.kind}\\nask: {node.ask}" in dot
            assert f"{node.id}<br/>{node.kind}<br/>ask: {node.ask}" in mermaid
        if node.kind == "transfer":
            queue = getattr(node, "queue", None) or "(default)"
            assert f"{node.id}\\ntransfer\\nqueue: {queue}" in dot
            assert f"{node.id}<br/>transfer<br/>queue: {queue}" in mermaid


@needs_dot
def test_svg_of_main() -> None:
    flow = main_flow()
    svg = render(flow, "svg").decode("utf-8")
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")
    titles = set(re.findall(r"<title>([^<]*)</title>", svg))
    for node_id in flow.nodes:
        assert node_id in titles
    assert "menu&#45;&gt;periksa" in titles
    assert "0 → CSO" in svg


# --- every node kind ------------------------------------------------------------------


def good_flow() -> Flow:
    return load_flow_file(CASES / "good.yaml", KINDS).flow


def test_shapes_and_labels_for_every_kind() -> None:
    dot = render(good_flow(), "dot").decode("utf-8")
    shapes = {
        "salam": 'shape=box, style="rounded,filled"',
        "menu": "shape=diamond",
        "idpel": "shape=parallelogram",
        "simpan": "shape=component",
        "pilih_antrian": "shape=hexagon",
        "info": "shape=box, peripheries=2",
        "ke_cso_periksa": "shape=doubleoctagon",
        "penutup": "shape=Msquare",
        "cso": "shape=doubleoctagon",
    }
    for node_id, shape in shapes.items():
        line = next(ln for ln in dot.splitlines() if ln.startswith(f'  "{node_id}" ['))
        assert shape in line, line
    assert '"idpel" [label="idpel\\ncollect\\nask: idpel\\n11-12 digits"' in dot
    assert '"simpan" [label="simpan\\naction\\naction: set"' in dot
    assert '"info" [label="info\\nsubflow\\nflow: good_sub"' in dot
    # The implicit CSO node, with the note as its tooltip.
    assert '"cso" [label="cso\\ntransfer\\nqueue: (default)"' in dot
    assert "added by the engine" in dot
    edges_drawn = {
        (a, b, (re.search(r'label="([^"]*)"', x or "") or [None, ""])[1])
        for a, b, x in DOT_EDGE.findall(dot)
    }
    assert {
        ("menu", "penutup", "#=selesai"),
        ("idpel", "simpan", "confirmed"),
        ("simpan", "pilih_antrian", "ok"),
        ("simpan", "cso", "fallback"),
        ("pilih_antrian", "ke_cso_periksa", "sumber == ivr"),
        ("pilih_antrian", "cso", "idpel is not set"),
        ("pilih_antrian", "cso", "default"),
        ("info", "penutup", "returned"),
    } <= edges_drawn


def test_subflow_return_node() -> None:
    flow = load_flow_file(CASES / "good_sub.yaml", KINDS).flow
    dot = render(flow, "dot").decode("utf-8")
    assert '"kembali" [label="kembali\\nreturn", shape=invhouse' in dot
    mermaid = render(flow, "mermaid").decode("utf-8")
    assert re.search(r'n\d+_kembali>"kembali<br/>return"\]', mermaid)
    # Nothing leads to the implicit cso here (a play has no fallback): not drawn.
    assert CSO_NODE not in mermaid_ids(mermaid)
    assert '"cso"' not in dot


@needs_dot
def test_svg_for_every_kind() -> None:
    svg = render(good_flow(), "svg").decode("utf-8")
    for node_id in good_flow().nodes:
        assert f"<title>{node_id}</title>" in svg


# --- escaping -------------------------------------------------------------------------

AWKWARD = r"""
flow: aneh
start: mulai.satu
defaults:
  cso_key: "#"
nodes:
  mulai.satu:
    kind: branch
    cases:
      - when: {var: x, eq: 'a"b\c <d> | #e & `f`'}
        next: end
      - when: {var: y, in: ['1;2', "\\N"]}
        next: tidak-ada
    default: end
  end:
    kind: menu
    ask: pilih
    prompt: [menu]
    choices:
      1: {value: 'o"k', next: o-x}
  o-x:
    kind: hangup
"""


def awkward_flow() -> Flow:
    return parse_flow_text(AWKWARD, Path("aneh.yaml"), KINDS).flow


def test_dot_escapes_quotes_and_backslashes() -> None:
    dot = render(awkward_flow(), "dot").decode("utf-8")
    assert r'label="x == a\"b\\c <d> | #e & `f`"' in dot
    assert r'label="y in [1;2, \\N]"' in dot
    assert r'label="1=o\"k"' in dot
    assert r'label="# → CSO"' in dot
    # A target that does not exist is drawn, marked.
    assert r'"tidak-ada" [label="tidak-ada\n(no such node)"' in dot
    # Every quoted string is closed: an even number of unescaped quotes per line.
    for line in dot.splitlines():
        assert len(re.findall(r'(?<!\\)(?:\\\\)*"', line)) % 2 == 0, line


def test_mermaid_escapes_and_safe_ids() -> None:
    text = render(awkward_flow(), "mermaid").decode("utf-8")
    ids = mermaid_ids(text)
    assert set(ids) == {"mulai.satu", "end", "o-x", "cso", "tidak-ada"}
    for mid in ids.values():
        assert re.fullmatch(r"n\d+_\w+", mid), mid
    # Labels hold no raw quote, pipe, angle bracket or '#' (only entity codes).
    labels = re.findall(r'"([^"]*)"', text)
    assert "x == a#quot;b\\c #lt;d#gt; #124; #35;e #amp; #96;f#96;" in labels
    assert "1=o#quot;k" in labels
    assert "#35; → CSO" in labels
    for label in labels:
        assert not re.search(r"[<>|`&]", label.replace("<br/>", "")), label
        assert not re.search(r"#(?![a-z]+;|\d+;)", label), label
    assert "tidak-ada<br/>(no such node)" in labels


@needs_dot
def test_awkward_flow_renders_as_svg() -> None:
    svg = render(awkward_flow(), "svg").decode("utf-8")
    assert "a&quot;b\\c &lt;d&gt; | #e &amp; `f`" in svg


# --- errors -----------------------------------------------------------------------------


def test_svg_without_dot_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph.shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError) as caught:
        render(main_flow(), "svg")
    assert str(caught.value) == (
        "Graphviz 'dot' is not installed: apt-get install graphviz, or use --format mermaid"
    )


def test_dot_that_hangs_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(cmd="dot", timeout=30)

    monkeypatch.setattr(graph.shutil, "which", lambda _name: "/usr/bin/dot")
    monkeypatch.setattr(graph.subprocess, "run", hang)
    with pytest.raises(RuntimeError, match="took longer than 30s"):
        render(main_flow(), "svg")


@needs_dot
def test_dot_failure_is_reported() -> None:
    with pytest.raises(RuntimeError, match=r"Graphviz 'dot' failed \(exit 1\)"):
        graph.dot_to_svg("digraph { this is not dot")


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown graph format 'png'"):
        render(main_flow(), "png")


# --- pln123 flows graph -----------------------------------------------------------------


def pln123(*args: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("pln123")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "ivr.cli.main"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLN123_")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [*argv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_cli_graph_writes_the_rendering(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"main.{fmt}"
    done = pln123("flows", "graph", "main", "--format", fmt, "-o", str(out), cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}"
    assert out.read_bytes() == render(main_flow(), fmt)


def test_cli_graph_svg_without_dot(tmp_path: Path) -> None:
    out = tmp_path / "main.svg"
    done = pln123("flows", "graph", "main", "-o", str(out), cwd=REPO, path=str(tmp_path))
    assert done.returncode == 1
    assert "Graphviz 'dot' is not installed: apt-get install graphviz" in done.stderr
    assert not out.exists()
