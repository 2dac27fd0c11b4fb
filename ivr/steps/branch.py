"""``branch``: go one way or another on call variables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ivr.engine.context import CallContext
from ivr.engine.kinds import Edge, NodeKind, Reason, StepResult, Style
from ivr.engine.model import Condition, Flow, NodeBase, Strict


class Case(Strict):
    """One arm of a branch."""

    when: Condition
    next: str


class BranchNode(NodeBase):
    """Go one way or another on call variables; the first case that holds wins."""

    kind: Literal["branch"]
    cases: list[Case]
    default: str


async def run(node: BranchNode, ctx: CallContext, flow: Flow) -> StepResult:
    """The first case that holds picks the next node; otherwise ``default``."""
    for case in node.cases:
        if case.when.holds(ctx.variables):
            return StepResult(Reason.DONE, next=case.next)
    return StepResult(Reason.DONE, next=node.default)


def edges(flow: Flow, node: BranchNode) -> Iterator[Edge]:
    """Each case, labelled with its condition, then the default."""
    base = ("nodes", node.id)
    for index, case in enumerate(node.cases):
        yield Edge(case.next, (*base, "cases", str(index), "next"), case.when.text(), "case")
    yield Edge(node.default, (*base, "default"), "default", "default")


KIND = NodeKind(
    name="branch",
    schema=BranchNode,
    run=run,
    edges=edges,
    style=Style(
        dot='shape=hexagon, style=filled, fillcolor="#f1e6fa"',
        mermaid_shape=("{{", "}}"),
        mermaid_class="fill:#f1e6fa,stroke:#7b4fa0",
    ),
)
