"""Running a call through its flow, node by node.

The interpreter owns the subflow stack and the ending of a call; each node kind's
behaviour comes from the kind table the flow was read with (:mod:`ivr.steps`, wired
in :mod:`ivr.kit`). Whatever goes wrong inside the IVR sends the caller to a CSO with
what was collected; a hangup ends the record as ``hangup``.
"""

from __future__ import annotations

import logging

from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason
from ivr.engine.model import Flow, NodeBase
from ivr.engine.port import EVENT_CALL_END, EVENT_CALL_START, CallerHungUp, Outcome

log = logging.getLogger(__name__)

#: A flow that runs this many nodes without ending is looping; the caller goes to a CSO.
MAX_STEPS = 500


def _label(flow: Flow, top: str, node: NodeBase) -> str:
    return node.id if flow.flow == top else f"{flow.flow}/{node.id}"


async def run_call(ctx: CallContext) -> Outcome:
    """Run the call to its end and close its record; the outcome."""
    await ctx.port.event(EVENT_CALL_START, {"CallId": ctx.call_id, "Flow": ctx.flow_name})
    outcome = Outcome.HANGUP
    try:
        outcome = await _walk(ctx)
    except CallerHungUp:
        outcome = Outcome.HANGUP
    except Exception:
        log.exception("call %s: the IVR failed; handing the caller to a CSO", ctx.call_id)
        outcome = await _rescue(ctx)
    finally:
        await ctx.store.end_call(ctx.call_id, outcome, ctx.path, ctx.asks, ctx.queue, ctx.variables)
    try:
        await ctx.port.event(EVENT_CALL_END, {"CallId": ctx.call_id, "Outcome": outcome.value})
        if outcome in (Outcome.CLOSED, Outcome.REPORT_CREATED):
            await ctx.port.finish()
    except CallerHungUp:
        pass
    return outcome


async def _rescue(ctx: CallContext) -> Outcome:
    try:
        await ctx.hand_over(ctx, ctx.default_queue)
        return Outcome.QUEUED
    except CallerHungUp:
        return Outcome.HANGUP
    except Exception:
        # The dialplan queues a call whose IVR left no instruction.
        log.exception("call %s: could not hand over; the dialplan's fallback takes it", ctx.call_id)
        return Outcome.QUEUED


async def _walk(ctx: CallContext) -> Outcome:
    flow = ctx.flows[ctx.flow_name].flow
    node_id = flow.start
    stack: list[tuple[Flow, str]] = []
    for _ in range(MAX_STEPS):
        node = flow.nodes[node_id]
        ctx.path.append(_label(flow, ctx.flow_name, node))
        result = await flow.kinds[node.kind].run(node, ctx, flow)
        if result.outcome is not None:
            return result.outcome
        if result.enter is not None:
            assert result.next is not None, f"step {node.kind} entered a flow with no way back"
            stack.append((flow, result.next))
            flow = ctx.flows[result.enter].flow
            node_id = flow.start
            continue
        if result.leave:
            if not stack:
                log.error("call %s: 'return' outside a subflow in %s", ctx.call_id, flow.flow)
                return (await ctx.hand_over(ctx, ctx.default_queue)).outcome or Outcome.QUEUED
            flow, node_id = stack.pop()
            continue
        if result.reason is Reason.CSO:
            log.info("call %s: caller asked for a CSO at %s", ctx.call_id, node.id)
        assert result.next is not None, f"step {node.kind} gave neither next nor outcome"
        node_id = result.next
    log.error("call %s: %d steps without an end; handing to a CSO", ctx.call_id, MAX_STEPS)
    return (await ctx.hand_over(ctx, ctx.default_queue)).outcome or Outcome.QUEUED
