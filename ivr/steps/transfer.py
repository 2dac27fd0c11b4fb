"""``transfer``: hand the call to a CSO queue with the screen-pop data.

The IVR stores the pop, sets the channel variables and lets go of the call; the
dialplan queues it. The AGI connection is not held while the caller waits.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

from ivr.backends.forms import report_request
from ivr.engine.context import CallContext
from ivr.engine.model import Flow, TransferNode
from ivr.steps.base import Outcome, Reason, StepResult

log = logging.getLogger(__name__)


def screenpop_data(ctx: CallContext, queue: str) -> dict[str, Any]:
    """What the CSO's screen shows: who calls, every answer in the order given, the path,
    and the APKT form as far as the call filled it (suggested problem text and WO type
    included), so nobody asks twice."""
    form: dict[str, Any] | None = None
    if ctx.variables.get("problem_text"):  # a gangguan call: the flow set up a report
        try:
            filled = report_request(ctx.variables, ctx.call_id, ctx.default_timezone)
            form = {f.name: getattr(filled, f.name) for f in fields(filled)}
        except (ValueError, KeyError) as exc:  # an odd value must not stop the hand-over
            log.warning("call %s: APKT form left out of the screen-pop: %s", ctx.call_id, exc)
    return {
        "call_id": ctx.call_id,
        "flow": ctx.flow_name,
        "queue": queue,
        "caller": ctx.variables.get("caller", ""),
        "caller_class": ctx.variables.get("caller_class", ""),
        "answers": list(ctx.answers),
        "asks": list(ctx.asks),
        "path": list(ctx.path),
        "apkt": form,
        "report_number": ctx.variables.get("report_number", ""),
        # The caller's earlier report, when the flow found one (lapor ulang).
        "open_report": (
            {
                "number": ctx.variables["laporan_terbuka"],
                "status": ctx.variables.get("status_laporan", ""),
            }
            if ctx.variables.get("laporan_terbuka")
            else None
        ),
    }


async def hand_to_queue(ctx: CallContext, queue: str) -> StepResult:
    """Store the pop and tell the dialplan to queue the call."""
    pop_id = await ctx.store.record_screenpop(ctx.call_id, queue, screenpop_data(ctx, queue))
    ctx.queue = queue
    await ctx.port.hand_over(queue, pop_id)
    return StepResult(Reason.DONE, outcome=Outcome.QUEUED)


async def run(node: TransferNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Say the hand-over prompt, then queue."""
    await ctx.play(node.prompt, barge_in=False)
    return await hand_to_queue(ctx, node.queue or flow.defaults.cso_queue or ctx.default_queue)
