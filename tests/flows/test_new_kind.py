"""A node kind added from outside: one module's worth of code and a kit with it.

The kind below (``set_var``: set a call variable, then go on) lives in this test file
only. Nothing in the loader, the validator, the graph, the interpreter or the
scenario keys names it, yet a flow that uses it loads, is checked, is drawn and runs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pytest

from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.context import CallContext
from ivr.engine.graph import render
from ivr.engine.interpreter import run_call
from ivr.engine.kinds import AnswerError, Edge, Known, NodeKind, Problem, Reason, StepResult, Style
from ivr.engine.library import FlowLibrary
from ivr.engine.loader import FlowError, parse_flow_text
from ivr.engine.model import Flow, InputNode, NodeBase
from ivr.engine.port import Outcome
from ivr.engine.validate import check_flow
from ivr.kit import KIT
from ivr.prompts.catalogue import PromptCatalogue, PromptEntry
from ivr.sim.port import SimPort
from ivr.steps.registry import kind_table
from ivr.store.calls import CallStore
from ivr.tools.scenario.keys import keys_for


class SetVarNode(NodeBase):
    """Set one call variable to a text, then go on."""

    kind: Literal["set_var"]
    var: str
    value: str
    next: str


async def run(node: SetVarNode, ctx: CallContext, flow: Flow) -> StepResult:
    ctx.variables[node.var] = node.value
    return StepResult(Reason.DONE, next=node.next)


def edges(flow: Flow, node: SetVarNode) -> Iterator[Edge]:
    yield Edge(node.next, ("nodes", node.id, "next"), f"{node.var}={node.value}")


def check(node: SetVarNode, known: Known) -> Iterator[Problem]:
    if node.var == "caller":
        yield ("nodes", node.id, "var"), f"node {node.id!r}: 'caller' is the IVR's own"


SET_VAR = NodeKind(
    name="set_var",
    schema=SetVarNode,
    run=run,
    edges=edges,
    check=check,
    describe=lambda flow, node: [f"{node.var} = {node.value}"],
    style=Style(dot="shape=note", mermaid_shape=("[", "]"), mermaid_class="fill:#ffffff"),
)
KIT_WITH_SET_VAR = replace(KIT, kinds=kind_table(*KIT.kinds.values(), SET_VAR))

FLOW = """\
    flow: main
    start: tandai
    nodes:
      tandai: {kind: set_var, var: jalur, value: uji, next: bye}
      bye: {kind: hangup, prompt: [p_bye]}
"""


def load(text: str = FLOW) -> FlowLibrary:
    loaded = parse_flow_text(textwrap.dedent(text), Path("main.yaml"), KIT_WITH_SET_VAR.kinds)
    catalogue = PromptCatalogue({"p_bye": PromptEntry("p_bye", "Terima kasih.", None)})
    return FlowLibrary({"main": loaded}, catalogue, KIT_WITH_SET_VAR)


def test_without_the_kind_the_flow_is_refused_with_file_and_line() -> None:
    with pytest.raises(FlowError, match=r"main.yaml:4: nodes.tandai: unknown node kind"):
        parse_flow_text(textwrap.dedent(FLOW), Path("main.yaml"), KIT.kinds)


def test_a_kind_registered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'set_var' is registered twice"):
        kind_table(SET_VAR, SET_VAR)


def test_the_kinds_fields_are_checked_like_any_node() -> None:
    text = FLOW.replace("value: uji, ", "")
    with pytest.raises(FlowError, match=r"main.yaml:4: nodes.tandai.value: required field"):
        parse_flow_text(textwrap.dedent(text), Path("main.yaml"), KIT_WITH_SET_VAR.kinds)


def test_the_validator_walks_its_edges_and_runs_its_check() -> None:
    library = load(FLOW.replace("var: jalur", "var: caller").replace("next: bye", "next: x"))
    loaded = library.flows["main"]
    problems = [p.message for p in check_flow(loaded, ["main"], library.catalogue.exists, [])]
    assert "node 'tandai': 'caller' is the IVR's own" in problems
    assert "node 'tandai' leads to 'x', which does not exist" in problems


def test_the_graph_draws_it_with_its_label_and_shape() -> None:
    dot = render(load().flows["main"].flow, "dot").decode()
    assert '"tandai" [label="tandai\\nset_var\\njalur = uji", shape=note];' in dot
    assert '"tandai" -> "bye" [label="jalur=uji"];' in dot


def test_a_scenario_cannot_answer_it() -> None:
    node = load().flows["main"].flow.nodes["tandai"]
    with pytest.raises(AnswerError, match="node 'tandai' takes no answers"):
        keys_for(node, "tandai", "1", KIT_WITH_SET_VAR.kinds)


async def test_it_runs_in_a_call(tmp_path: Path) -> None:
    async def silent(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        return ""

    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    store = CallStore(settings.db_path)
    ctx = await open_call(settings, load(), store, SimPort(silent), "main", "081234567890")
    outcome = await run_call(ctx)
    store.close()
    assert outcome is Outcome.CLOSED
    assert ctx.path == ["tandai", "bye"]
    assert ctx.variables["jalur"] == "uji"
