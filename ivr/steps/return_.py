"""``return``: the end of a subflow; the call goes back to the flow that ran it."""

from __future__ import annotations

from typing import Literal

from ivr.engine.context import CallContext
from ivr.engine.kinds import NodeKind, Reason, StepResult, Style, no_edges
from ivr.engine.model import Flow, NodeBase


class ReturnNode(NodeBase):
    """End of a subflow: go back to the calling flow."""

    kind: Literal["return"]


async def run(node: ReturnNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Leave the subflow (outside one, the interpreter hands the caller to a CSO)."""
    return StepResult(Reason.DONE, leave=True)


KIND = NodeKind(
    name="return",
    schema=ReturnNode,
    run=run,
    edges=no_edges,
    ends=True,
    style=Style(
        dot='shape=invhouse, style=filled, fillcolor="#eeeeee"',
        mermaid_shape=(">", "]"),
        mermaid_class="fill:#eeeeee,stroke:#666666",
    ),
)
