"""``play``: speak a prompt and go on."""

from __future__ import annotations

from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import Flow, PlayNode


async def run(node: PlayNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Play the prompt; a key pressed meanwhile is kept for the next input."""
    await ctx.play(node.prompt)
    return StepResult(Reason.DONE, next=node.next)
