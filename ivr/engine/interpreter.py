"""Running a call through its flow, node by node.

The interpreter owns the subflow stack and the ending of a call; each node kind's
behaviour comes from the kind table the flow was read with (:mod:`ivr.steps`, wired
in :mod:`ivr.kit`). Whatever goes wrong inside the IVR sends the caller to a CSO with
what was collected; a hangup ends the record as ``hangup``.
"""

from __future__ import annotations

import logging
import time

from ivr.engine.context import CallContext
from ivr.engine.journey import CallResult, CsoReason, Exit, Journey, call_result
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import CSO_NODE, Flow, NodeBase
from ivr.engine.port import (
    EVENT_CALL_END,
    EVENT_CALL_START,
    CallerHungUp,
    Outcome,
    PortFailed,
)
from ivr.logs import bind_call, bind_node
from ivr.store.health import StoreUnavailable

log = logging.getLogger(__name__)

#: A flow that runs this many nodes without ending is looping; the caller goes to a CSO.
MAX_STEPS = 500
#: Values of the ``idpel`` variable that name no customer.
NO_IDPEL = ("", "tidak_tahu")


def _label(flow: Flow, top: str, node: NodeBase) -> str:
    return node.id if flow.flow == top else f"{flow.flow}/{node.id}"


async def run_call(ctx: CallContext) -> Outcome:
    """Run the call to its end and close its record; the outcome."""
    bind_call(ctx.call_id, ctx.flow_name)
    if ctx.watcher is not None:
        ctx.watcher.call_started(ctx.flow_name)
    outcome = Outcome.HANGUP
    try:
        # Inside the try: a caller gone (or a channel failing) at the very first command
        # still gets a closed record.
        await ctx.port.event(EVENT_CALL_START, {"CallId": ctx.call_id, "Flow": ctx.flow_name})
        if not ctx.store.ok:
            raise StoreUnavailable(ctx.store.health.reason)
        outcome = await _walk(ctx)
    except CallerHungUp:
        outcome = Outcome.HANGUP
    except StoreUnavailable:
        # Nothing the caller gives now would be safe: a CSO takes them at once, the
        # pop built from what the call holds in memory (the store logged why, once).
        log.info("call %s: the call store fails; handing the caller to a CSO", ctx.call_id)
        ctx.journey.pending = CsoReason.ERROR
        outcome = await _rescue(ctx)
    except PortFailed as exc:
        log.warning(
            "call %s: the channel failed (%s); handing the caller to a CSO", ctx.call_id, exc
        )
        ctx.journey.pending = CsoReason.ERROR
        outcome = await _rescue(ctx)
    except Exception:
        log.exception("call %s: the IVR failed; handing the caller to a CSO", ctx.call_id)
        ctx.journey.pending = CsoReason.ERROR
        outcome = await _rescue(ctx)
    finally:
        try:
            await _close_record(ctx, outcome)
        except Exception:
            # Ending a call must not fail on what a flow stored: the caller is already
            # where the outcome says; the record keeps what was written before.
            log.exception("call %s: could not close its record", ctx.call_id)
    try:
        await ctx.port.event(EVENT_CALL_END, {"CallId": ctx.call_id, "Outcome": outcome.value})
        if outcome in (Outcome.CLOSED, Outcome.REPORT_CREATED):
            await ctx.port.finish()
    except (CallerHungUp, PortFailed):
        pass  # the call is over; its record is closed
    return outcome


async def _close_record(ctx: CallContext, outcome: Outcome) -> None:
    """End the call's record with its outcome, ops' outcome and its CSO reason."""
    journey = ctx.journey
    result = call_result(outcome, ctx.variables)
    reason = (journey.pending or CsoReason.FLOW) if result is CallResult.CSO else None
    journey.cso_reason = reason
    idpel = ctx.variables.get("idpel", "")
    seconds = journey.seconds
    await ctx.store.end_call(
        ctx.call_id,
        outcome,
        ctx.path,
        ctx.asks,
        ctx.queue,
        ctx.variables,
        result=result.value,
        cso_reason=reason.value if reason is not None else "",
        idpel="" if idpel in NO_IDPEL else idpel,
        seconds=seconds,
    )
    if ctx.watcher is not None:
        ctx.watcher.call_ended(ctx.flow_name, result, reason, seconds)


async def _rescue(ctx: CallContext) -> Outcome:
    try:
        await ctx.hand_over(ctx, ctx.default_queue)
        return Outcome.QUEUED
    except CallerHungUp:
        return Outcome.HANGUP
    except PortFailed as exc:
        log.warning(
            "call %s: could not hand over (%s); the dialplan's fallback takes it", ctx.call_id, exc
        )
        return Outcome.QUEUED
    except Exception:
        # The dialplan queues a call whose IVR left no instruction.
        log.exception("call %s: could not hand over; the dialplan's fallback takes it", ctx.call_id)
        return Outcome.QUEUED


def _left(
    ctx: CallContext,
    flow: Flow,
    node: NodeBase,
    exit: Exit,
    entered: float,
    target: str = "",
    cause: CsoReason | None = None,
    via: str = "",
) -> None:
    """Record that the call left ``node``: in the journey, the store and the watcher."""
    ctx.store.record_exit(
        ctx.journey.left(ctx.call_id, flow.flow, node.id, exit, entered, target, cause or "", via)
    )
    watcher = ctx.watcher
    if watcher is not None:
        watcher.node_left(flow.flow, node.id, exit)


def _step_left(
    ctx: CallContext, flow: Flow, node: NodeBase, result: StepResult, entered: float
) -> None:
    """Record how ``result`` left the node, and what it says of a later CSO."""
    journey: Journey = ctx.journey
    outcome = result.outcome
    if outcome is not None:
        if outcome is Outcome.QUEUED:
            cause = journey.pending or CsoReason.FLOW
            _left(ctx, flow, node, Exit.CSO, entered, ctx.queue or "", cause)
        elif outcome is Outcome.HANGUP:
            _left(ctx, flow, node, Exit.HANGUP, entered)
        else:
            _left(ctx, flow, node, Exit.END, entered, outcome.value)
        return
    reason = result.reason
    target = result.enter or result.next or ""
    if reason is Reason.DTMF or reason is Reason.SPEECH:
        # An answer: what pointed toward a CSO before is forgotten, unless the answer
        # itself is the CSO option.
        journey.pending = CsoReason.CALLER if target == CSO_NODE else None
        _left(ctx, flow, node, Exit.NEXT, entered, target, via=reason.value)
    elif reason is Reason.NOINPUT or reason is Reason.NOMATCH:
        journey.pending = CsoReason.RETRIES
        exit = Exit.NOINPUT if reason is Reason.NOINPUT else Exit.NOMATCH
        _left(ctx, flow, node, exit, entered, target, CsoReason.RETRIES)
    elif reason is Reason.CSO:
        journey.pending = CsoReason.CALLER
        _left(ctx, flow, node, Exit.CSO, entered, target, CsoReason.CALLER)
    elif reason is Reason.ERROR:
        journey.pending = result.fault or CsoReason.ERROR
        _left(ctx, flow, node, Exit.ERROR, entered, target, journey.pending)
    else:
        _left(ctx, flow, node, Exit.NEXT, entered, target)


async def _walk(ctx: CallContext) -> Outcome:
    flow = ctx.flows[ctx.flow_name].flow
    node_id = flow.start
    stack: list[tuple[Flow, str]] = []
    for _ in range(MAX_STEPS):
        node = flow.nodes[node_id]
        ctx.path.append(_label(flow, ctx.flow_name, node))
        entered = time.monotonic()
        bind_node(flow.flow, node.id)
        try:
            result = await flow.kinds[node.kind].run(node, ctx, flow)
        except CallerHungUp:
            _left(ctx, flow, node, Exit.HANGUP, entered)
            raise
        except Exception:
            _left(ctx, flow, node, Exit.ERROR, entered, cause=CsoReason.ERROR)
            raise
        _step_left(ctx, flow, node, result, entered)
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
                return await _give_up(ctx)
            flow, node_id = stack.pop()
            continue
        if result.reason is Reason.CSO:
            log.info("call %s: caller asked for a CSO at %s", ctx.call_id, node.id)
        assert result.next is not None, f"step {node.kind} gave neither next nor outcome"
        node_id = result.next
    log.error("call %s: %d steps without an end; handing to a CSO", ctx.call_id, MAX_STEPS)
    return await _give_up(ctx)


async def _give_up(ctx: CallContext) -> Outcome:
    """The flow went wrong at run time: to the default queue, as an IVR fault."""
    ctx.journey.pending = CsoReason.ERROR
    return (await ctx.hand_over(ctx, ctx.default_queue)).outcome or Outcome.QUEUED
