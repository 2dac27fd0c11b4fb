"""Checks across nodes and flows, run by ``pln123 flows check`` and before every load.

A flow can be well-formed YAML and still trap a caller: a ``next`` to a node that does
not exist, a node nobody can reach, a loop with no way to a human, a prompt with
nothing to play. Each problem names its file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ivr.engine.kinds import Edge, Known, YamlPath
from ivr.engine.loader import FlowProblem, LoadedFlow
from ivr.engine.model import CSO_NODE, IMPLICIT_CSO_NOTE, Flow, NodeBase, PromptPart

__all__ = [
    "DIALPLAN",
    "Edge",
    "check_entries",
    "check_flow",
    "check_flows",
    "dialplan_flows",
    "edges",
    "entry_problem",
    "prompts_of",
]

#: The dialplan of a checkout, relative to the working directory like ``flows_dir``
#: (``pln123 flows check`` reads it when present).
DIALPLAN = Path("asterisk_conf") / "extensions.conf"
#: ``AGI(agi://host:port/<flow>...)`` (or ``hagi://``, DNS SRV) in a dialplan line: the
#: flow a call starts in.
_AGI_FLOW_RE = re.compile(r"AGI\(\s*h?agi://(?P<where>[^/,)]*)/(?P<flow>[^,)?\s]+)", re.IGNORECASE)


def edges(flow: Flow, node: NodeBase) -> Iterable[Edge]:
    """Every node this one can lead to, including fallbacks and the CSO key."""
    return flow.kind_of(node).edges(flow, node)


def prompts_of(flow: Flow, node: NodeBase) -> Iterable[tuple[YamlPath, list[PromptPart]]]:
    """Each prompt list of a node, with its YAML path."""
    return flow.kind_of(node).prompts(node)


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in flow.nodes:
            continue
        seen.add(node_id)
        todo.extend(edge.target for edge in edges(flow, flow.nodes[node_id]))
    return seen


def _can_end(flow: Flow) -> set[str]:
    """Nodes from which a transfer, hangup or return can be reached."""
    ending = {nid for nid, node in flow.nodes.items() if flow.kind_of(node).ends}
    changed = True
    while changed:
        changed = False
        for node_id, node in flow.nodes.items():
            if node_id not in ending and any(e.target in ending for e in edges(flow, node)):
                ending.add(node_id)
                changed = True
    return ending


def check_flow(
    loaded: LoadedFlow,
    known_flows: Iterable[str],
    prompt_exists: Callable[[str], bool],
    action_names: Iterable[str],
) -> list[FlowProblem]:
    """Everything wrong with one flow that its schema could not see."""
    flow, source = loaded.flow, loaded.source
    problems: list[FlowProblem] = []

    def problem(path: tuple[str, ...], message: str) -> None:
        problems.append(FlowProblem(source.file, source.line_of(path), message))

    known = Known(frozenset(known_flows), frozenset(action_names))
    if flow.start not in flow.nodes:
        problem(("start",), f"start: no node named {flow.start!r}")
    for node in flow.nodes.values():
        for edge in edges(flow, node):
            if edge.target not in flow.nodes:
                problem(
                    edge.path, f"node {node.id!r} leads to {edge.target!r}, which does not exist"
                )
        for path, message in flow.kind_of(node).check(node, known):
            problem(path, message)
        for path, prompt in prompts_of(flow, node):
            for index, part in enumerate(prompt):
                if isinstance(part, str) and not prompt_exists(part):
                    problem((*path, str(index)), f"prompt {part!r} has no text and no audio")
    reachable = _reachable(flow)
    for node_id, node in flow.nodes.items():
        implicit = node_id == CSO_NODE and node.note == IMPLICIT_CSO_NOTE
        if node_id not in reachable and not implicit:
            problem(("nodes", node_id), f"node {node_id!r} cannot be reached from start")
    can_end = _can_end(flow)
    for node_id in sorted(reachable - can_end):
        problem(
            ("nodes", node_id),
            f"node {node_id!r} has no way out: "
            "no transfer, hangup or return can be reached from it",
        )
    return problems


def check_flows(
    flows: Mapping[str, LoadedFlow],
    prompt_exists: Callable[[str], bool],
    action_names: Iterable[str],
) -> list[FlowProblem]:
    """Everything wrong across a set of flows."""
    problems: list[FlowProblem] = []
    for loaded in flows.values():
        problems.extend(check_flow(loaded, flows.keys(), prompt_exists, action_names))
    return problems


def dialplan_flows(dialplan: Path) -> list[tuple[int, str]]:
    """``(line, flow)`` for each FastAGI URL of the IVR in an ``extensions.conf``
    (comments skipped; URLs to the scenario caller bot's port are not the IVR's)."""
    found: list[tuple[int, str]] = []
    text = dialplan.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split(";", 1)[0]
        for match in _AGI_FLOW_RE.finditer(code):
            if "callerbot" in match["where"]:
                continue
            found.append((number, match["flow"]))
    return found


def entry_problem(flows: Mapping[str, LoadedFlow], name: str) -> str | None:
    """Why a call may not start in flow ``name`` (None: it may): no such flow, or a
    subflow only (:attr:`~ivr.engine.model.Flow.subflow_only`)."""
    loaded = flows.get(name)
    if loaded is None:
        return f"no flow named {name!r}"
    if loaded.flow.subflow_only:
        return (
            f"flow {name!r} is a subflow (it has a 'return' node): it runs only from"
            " another flow's subflow node, not as a call's flow"
        )
    return None


def check_entries(
    flows: Mapping[str, LoadedFlow],
    default_flow: str,
    settings_file: Path,
    dialplan: Path | None = None,
) -> list[FlowProblem]:
    """Flows a call would start in that cannot be one: ``default_flow`` must not be a
    subflow only, and each flow a dialplan names in a FastAGI URL must exist and not be
    one (:func:`entry_problem`)."""
    problems: list[FlowProblem] = []
    if default_flow in flows and (why := entry_problem(flows, default_flow)) is not None:
        problems.append(FlowProblem(settings_file, None, f"default_flow: {why}"))
    if dialplan is not None:
        for line, name in dialplan_flows(dialplan):
            if (why := entry_problem(flows, name)) is not None:
                problems.append(FlowProblem(dialplan, line, f"AGI URL: {why}"))
    return problems
