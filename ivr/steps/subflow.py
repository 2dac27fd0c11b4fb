"""``subflow``: run another flow, and come back when it reaches a ``return`` node."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ivr.engine.context import CallContext
from ivr.engine.kinds import Edge, Known, NodeKind, Problem, Reason, StepResult, Style
from ivr.engine.model import Flow, NodeBase


class SubflowNode(NodeBase):
    """Run another flow; come back to ``next`` when it reaches a ``return`` node."""

    kind: Literal["subflow"]
    flow: str
    next: str


async def run(node: SubflowNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Enter the other flow at its start; the interpreter keeps where to come back."""
    return StepResult(Reason.DONE, next=node.next, enter=node.flow)


def edges(flow: Flow, node: SubflowNode) -> Iterator[Edge]:
    """Where the call goes once the subflow returns."""
    yield Edge(node.next, ("nodes", node.id, "next"), "returned")


def check(node: SubflowNode, known: Known) -> Iterator[Problem]:
    """The flow it runs must exist."""
    if node.flow not in known.flows:
        yield ("nodes", node.id, "flow"), f"node {node.id!r}: no flow named {node.flow!r}"


def describe(flow: Flow, node: SubflowNode) -> list[str]:
    """The flow it runs."""
    return [f"flow: {node.flow}"]


KIND = NodeKind(
    name="subflow",
    schema=SubflowNode,
    run=run,
    edges=edges,
    check=check,
    describe=describe,
    style=Style(
        dot='shape=box, peripheries=2, style=filled, fillcolor="#e8f0fe"',
        mermaid_shape=("[[", "]]"),
        mermaid_class="fill:#e8f0fe,stroke:#4a6fa5",
    ),
)
