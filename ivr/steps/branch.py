"""``branch``: go one way or another on call variables."""

from __future__ import annotations

from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import BranchNode, Flow


async def run(node: BranchNode, ctx: CallContext, flow: Flow) -> StepResult:
    """The first case that holds picks the next node; otherwise ``default``."""
    for case in node.cases:
        if case.when.holds(ctx.variables):
            return StepResult(Reason.DONE, next=case.next)
    return StepResult(Reason.DONE, next=node.default)
