"""``action``: a named Python action; its result picks the next node.

An action that fails or runs past its time limit sends the caller to the fallback
(a CSO by default) with everything collected so far: fail toward a human.
"""

from __future__ import annotations

import asyncio
import logging

from ivr.backends.ports import BackendError
from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import ActionNode, Flow

log = logging.getLogger(__name__)
ERROR_RESULT = "error"


async def run(node: ActionNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Run the action and follow its result."""
    fallback = node.fallback or flow.defaults.fallback
    action = ctx.actions.get(node.action)
    if action is None:
        log.error("call %s: unknown action %r; to the fallback", ctx.call_id, node.action)
        return StepResult(Reason.ERROR, next=node.results.get(ERROR_RESULT, fallback))
    try:
        async with asyncio.timeout(ctx.action_timeout):
            result = await action(ctx, node.args)
    except TimeoutError:
        log.warning("call %s: action %r timed out; to the fallback", ctx.call_id, node.action)
        return StepResult(Reason.ERROR, next=node.results.get(ERROR_RESULT, fallback))
    except BackendError as exc:
        log.warning("call %s: action %r: %s; to the fallback", ctx.call_id, node.action, exc)
        return StepResult(Reason.ERROR, next=node.results.get(ERROR_RESULT, fallback))
    except Exception:
        log.exception("call %s: action %r failed; to the fallback", ctx.call_id, node.action)
        return StepResult(Reason.ERROR, next=node.results.get(ERROR_RESULT, fallback))
    target = node.results.get(result, node.next)
    if target is None:
        log.error(
            "call %s: action %r gave %r, which the node does not route",
            ctx.call_id,
            node.action,
            result,
        )
        return StepResult(Reason.ERROR, next=fallback)
    return StepResult(Reason.DONE, next=target, value=result)
