"""``hangup``: say goodbye and end the call."""

from __future__ import annotations

import contextlib
from typing import Literal

from pydantic import Field, field_validator

from ivr.engine.context import CallContext
from ivr.engine.kinds import NodeKind, Reason, StepResult, Style, no_edges, own_prompt
from ivr.engine.model import Flow, NodeBase, PromptPart, as_list
from ivr.engine.port import CallerHungUp, Outcome

#: Call variable an action sets when it files a report; its presence makes the
#: outcome ``report_created`` instead of ``closed``.
REPORT_NUMBER = "report_number"


class HangupNode(NodeBase):
    """Say goodbye and end the call."""

    kind: Literal["hangup"]
    prompt: list[PromptPart] = Field(default_factory=list)

    _list = field_validator("prompt", mode="before")(as_list)


async def run(node: HangupNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Play the closing prompt in full; the interpreter hangs up once the record is closed.

    A caller who hangs up during the goodbye has had what the call was for: the call
    ends as the IVR finished it, not as a hangup.
    """
    with contextlib.suppress(CallerHungUp):
        await ctx.play(node.prompt, barge_in=False)
    outcome = Outcome.REPORT_CREATED if ctx.variables.get(REPORT_NUMBER) else Outcome.CLOSED
    return StepResult(Reason.DONE, outcome=outcome)


KIND = NodeKind(
    name="hangup",
    schema=HangupNode,
    run=run,
    edges=no_edges,
    prompts=own_prompt,
    ends=True,
    style=Style(
        dot='shape=Msquare, style=filled, fillcolor="#eeeeee"',
        mermaid_shape=("((", "))"),
        mermaid_class="fill:#eeeeee,stroke:#666666",
    ),
)
