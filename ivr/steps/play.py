"""``play``: speak a prompt and go on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import field_validator

from ivr.engine.context import CallContext
from ivr.engine.kinds import Edge, NodeKind, Reason, StepResult, Style, own_prompt
from ivr.engine.model import Flow, NodeBase, PromptPart, as_list


class PlayNode(NodeBase):
    """Play a prompt, then go on. A key pressed meanwhile is kept for the next input."""

    kind: Literal["play"]
    prompt: list[PromptPart]
    next: str

    _list = field_validator("prompt", mode="before")(as_list)


async def run(node: PlayNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Play the prompt; a key pressed meanwhile is kept for the next input."""
    await ctx.play(node.prompt)
    return StepResult(Reason.DONE, next=node.next)


def edges(flow: Flow, node: PlayNode) -> Iterator[Edge]:
    """Only ``next``."""
    yield Edge(node.next, ("nodes", node.id, "next"))


KIND = NodeKind(
    name="play",
    schema=PlayNode,
    run=run,
    edges=edges,
    prompts=own_prompt,
    style=Style(
        dot='shape=box, style="rounded,filled", fillcolor="#e8f0fe"',
        mermaid_shape=("(", ")"),
        mermaid_class="fill:#e8f0fe,stroke:#4a6fa5",
    ),
)
