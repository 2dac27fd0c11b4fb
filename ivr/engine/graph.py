"""Drawing a flow: Graphviz DOT, SVG (through Graphviz's ``dot``) or Mermaid.

``pln123 flows graph FLOW --format svg|dot|mermaid`` calls :func:`render`. The edges
come from :func:`ivr.engine.validate.edges`, the same ones the validator walks, so
the drawing shows exactly the ways a caller can go: each menu choice (``1=periksa``),
the fallback when attempts run out, the CSO key (``0 → CSO``), branch conditions and
action results. Each node kind declares its labels, its shape and its colours.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from ivr.engine.model import CSO_NODE, IMPLICIT_CSO_NOTE, Flow, NodeBase
from ivr.engine.validate import edges

FORMATS = ("svg", "dot", "mermaid")
DOT_MISSING = "Graphviz 'dot' is not installed: apt-get install graphviz, or use --format mermaid"
#: Seconds ``dot -Tsvg`` may take before we give up.
DOT_TIMEOUT = 30.0

#: How a target no node has is drawn (Graphviz attributes, Mermaid shape and class).
MISSING_DOT = 'shape=box, style="dashed", color="#d93025", fontcolor="#d93025"'
MISSING_SHAPE = ("[", "]")
MISSING_CLASS = "fill:#ffffff,stroke:#d93025,stroke-dasharray:4 3,color:#d93025"

#: Edge kinds drawn as secondary (dashed) lines: the ways out when things go wrong.
SECONDARY = frozenset({"fallback", "cso"})


@dataclass(frozen=True)
class GraphEdge:
    """One arrow: from, to, its label, and what kind of way out it is."""

    source: str
    target: str
    label: str
    kind: str  # next, choice, fallback, cso, case, default, result


def render(flow: Flow, fmt: str) -> bytes:
    """``flow`` drawn as ``svg``, ``dot`` or ``mermaid``, as UTF-8 bytes.

    :raises RuntimeError: for SVG, when Graphviz's ``dot`` is missing or fails.
    :raises ValueError: for an unknown format.
    """
    if fmt == "dot":
        return to_dot(flow).encode("utf-8")
    if fmt == "mermaid":
        return to_mermaid(flow).encode("utf-8")
    if fmt == "svg":
        return dot_to_svg(to_dot(flow))
    raise ValueError(f"unknown graph format {fmt!r}; use one of: {', '.join(FORMATS)}")


def dot_to_svg(dot: str, timeout: float = DOT_TIMEOUT) -> bytes:
    """Run ``dot -Tsvg`` on DOT text (given on stdin)."""
    executable = shutil.which("dot")
    if executable is None:
        raise RuntimeError(DOT_MISSING)
    try:
        done = subprocess.run(  # fixed argv, no shell
            [executable, "-Tsvg"],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise RuntimeError(DOT_MISSING) from exc
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"Graphviz 'dot' took longer than {timeout:g}s") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz 'dot' failed (exit {done.returncode}): {detail}")
    return done.stdout


# --- what to draw ---------------------------------------------------------------


def graph_edges(flow: Flow) -> Iterator[GraphEdge]:
    """Every edge of the flow with its label, in node order."""
    for node in flow.nodes.values():
        for edge in edges(flow, node):
            yield GraphEdge(node.id, edge.target, edge.label, edge.kind)


def node_lines(flow: Flow, node: NodeBase) -> list[str]:
    """The lines of a node's label: id, kind, then what its kind says matters."""
    return [node.id, node.kind, *flow.kind_of(node).describe(flow, node)]


def drawn_nodes(flow: Flow, graph: list[GraphEdge]) -> list[NodeBase]:
    """The nodes to draw: all of them, but the implicit ``cso`` only when something leads there."""
    targets = {edge.target for edge in graph} | {flow.start}
    return [
        node
        for node_id, node in flow.nodes.items()
        if not (node_id == CSO_NODE and node.note == IMPLICIT_CSO_NOTE and node_id not in targets)
    ]


def missing_targets(flow: Flow, graph: list[GraphEdge]) -> list[str]:
    """Targets (and a start) no node has, in order of first mention."""
    wanted = [flow.start, *(edge.target for edge in graph)]
    return list(dict.fromkeys(t for t in wanted if t not in flow.nodes))


# --- DOT ------------------------------------------------------------------------------


def dot_quote(text: str) -> str:
    """``text`` as a DOT double-quoted string; its line breaks become ``\\n``.

    Backslashes are doubled so label escapes (``\\N``, ``\\G``, ``\\l``) cannot be
    triggered by a flow's text.
    """
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\n", "\\n")
    )
    return f'"{escaped}"'


def dot_label(lines: list[str]) -> str:
    """Several lines as one quoted DOT label (each line escaped on its own)."""
    return dot_quote("\n".join(lines))


#: DOT id of the start marker: not a valid node id, so it cannot clash with one.
DOT_START = "(start)"


def to_dot(flow: Flow) -> str:
    """The flow as Graphviz DOT text."""
    graph = list(graph_edges(flow))
    title = flow.flow + (f": {flow.description}" if flow.description else "")
    out = [
        f"digraph {dot_quote(flow.flow)} {{",
        f'  graph [label={dot_quote(title)}, labelloc=t, fontname="Helvetica", '
        "rankdir=TB, nodesep=0.4, ranksep=0.5];",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
        f'  {dot_quote(DOT_START)} [shape=point, width=0.15, label="", tooltip="start"];',
    ]
    for node in drawn_nodes(flow, graph):
        attrs = [f"label={dot_label(node_lines(flow, node))}", flow.kind_of(node).style.dot]
        if node.note:
            attrs.append(f"tooltip={dot_quote(node.note)}")
        out.append(f"  {dot_quote(node.id)} [{', '.join(attrs)}];")
    for target in missing_targets(flow, graph):
        label = dot_label([target, "(no such node)"])
        out.append(f"  {dot_quote(target)} [label={label}, {MISSING_DOT}];")
    out.append(f"  {dot_quote(DOT_START)} -> {dot_quote(flow.start)};")
    for edge in graph:
        attrs = []
        if edge.label:
            attrs.append(f"label={dot_quote(edge.label)}")
        if edge.kind in SECONDARY:
            attrs.append('style=dashed, color="#888888", fontcolor="#666666"')
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


# --- Mermaid --------------------------------------------------------------------------

#: Characters that would end or confuse a quoted Mermaid label, as Mermaid entity codes.
_MERMAID_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "&": "#amp;",
    "<": "#lt;",
    ">": "#gt;",
    "|": "#124;",
    "`": "#96;",
    "\r": " ",
    "\n": " ",
}


def mermaid_escape(text: str) -> str:
    """``text`` safe inside a double-quoted Mermaid label (entity codes, one line)."""
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in text)


def mermaid_label(lines: list[str]) -> str:
    """Several lines as one quoted Mermaid label."""
    return '"' + "<br/>".join(mermaid_escape(line) for line in lines) + '"'


def mermaid_ids(flow: Flow) -> dict[str, str]:
    """A Mermaid-safe id for each node and missing target.

    Flow ids may hold ``.`` and ``-`` or be words Mermaid reserves (``end``), so
    each gets ``n<index>_`` and only letters, digits and ``_``.
    """
    graph = list(graph_edges(flow))
    names = [node.id for node in drawn_nodes(flow, graph)] + missing_targets(flow, graph)
    ids: dict[str, str] = {}
    for index, name in enumerate(names):
        safe = "".join(
            char if char.isascii() and (char.isalnum() or char == "_") else "_" for char in name
        )
        ids[name] = f"n{index}_{safe}"
    return ids


def to_mermaid(flow: Flow) -> str:
    """The flow as a Mermaid flowchart."""
    graph = list(graph_edges(flow))
    ids = mermaid_ids(flow)
    title = flow.flow + (f": {flow.description}" if flow.description else "")
    out = [
        f"%% {title.replace(chr(10), ' ')}",
        "flowchart TD",
        '    start_(("start"))',
    ]
    kinds: dict[str, list[str]] = {}
    classes = {name: kind.style.mermaid_class for name, kind in flow.kinds.items()}
    classes["missing"] = MISSING_CLASS
    for node in drawn_nodes(flow, graph):
        opening, closing = flow.kind_of(node).style.mermaid_shape
        label = mermaid_label(node_lines(flow, node))
        out.append(f"    {ids[node.id]}{opening}{label}{closing}")
        kinds.setdefault(node.kind, []).append(ids[node.id])
    for target in missing_targets(flow, graph):
        opening, closing = MISSING_SHAPE
        label = mermaid_label([target, "(no such node)"])
        out.append(f"    {ids[target]}{opening}{label}{closing}")
        kinds.setdefault("missing", []).append(ids[target])
    out.append(f"    start_ --> {ids[flow.start]}")
    for edge in graph:
        arrow = "-.->" if edge.kind in SECONDARY else "-->"
        text = f'|"{mermaid_escape(edge.label)}"|' if edge.label else ""
        out.append(f"    {ids[edge.source]} {arrow}{text} {ids[edge.target]}")
    for kind, members in kinds.items():
        out.append(f"    classDef k_{kind} {classes[kind]}")
        out.append(f"    class {','.join(members)} k_{kind}")
    return "\n".join(out) + "\n"
