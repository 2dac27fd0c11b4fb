"""``hangup``: say goodbye and end the call."""

from __future__ import annotations

from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import Flow, HangupNode
from ivr.engine.port import Outcome

#: Call variable an action sets when it files a report; its presence makes the
#: outcome ``report_created`` instead of ``closed``.
REPORT_NUMBER = "report_number"


async def run(node: HangupNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Play the closing prompt in full; the interpreter hangs up once the record is closed."""
    await ctx.play(node.prompt, barge_in=False)
    outcome = Outcome.REPORT_CREATED if ctx.variables.get(REPORT_NUMBER) else Outcome.CLOSED
    return StepResult(Reason.DONE, outcome=outcome)
