"""``action``: a named Python action; its result picks the next node.

An action that fails or runs past its time limit sends the caller to the fallback
(a CSO by default) with everything collected so far: fail toward a human.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from ivr.backends.ports import BackendError, BackendTimeout
from ivr.engine.context import CallContext
from ivr.engine.journey import CsoReason
from ivr.engine.kinds import Edge, Known, NodeKind, Problem, Reason, StepResult, Style
from ivr.engine.model import Flow, NodeBase

log = logging.getLogger(__name__)
ERROR_RESULT = "error"


class ActionNode(NodeBase):
    """Run a named Python action; its result picks the next node."""

    kind: Literal["action"]
    action: str
    args: dict[str, Any] = Field(default_factory=dict)
    #: Result name -> next node. ``error`` (failure or timeout) defaults to the fallback.
    results: dict[str, str] = Field(default_factory=dict)
    #: Next node for any result not listed in ``results``.
    next: str | None = None
    fallback: str | None = None


async def run(node: ActionNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Run the action and follow its result."""
    fallback = node.fallback or flow.defaults.fallback
    action = ctx.actions.get(node.action)
    if action is None:
        log.error("call %s: unknown action %r; to the fallback", ctx.call_id, node.action)
        return _failed(node, fallback, CsoReason.ERROR)
    try:
        async with asyncio.timeout(ctx.action_timeout):
            result = await action(ctx, node.args)
    except TimeoutError:
        log.warning("call %s: action %r timed out; to the fallback", ctx.call_id, node.action)
        return _failed(node, fallback, CsoReason.TIMEOUT)
    except BackendTimeout as exc:
        log.warning("call %s: action %r: %s; to the fallback", ctx.call_id, node.action, exc)
        return _failed(node, fallback, CsoReason.TIMEOUT)
    except BackendError as exc:
        log.warning("call %s: action %r: %s; to the fallback", ctx.call_id, node.action, exc)
        return _failed(node, fallback, CsoReason.BACKEND)
    except Exception:
        log.exception("call %s: action %r failed; to the fallback", ctx.call_id, node.action)
        return _failed(node, fallback, CsoReason.ERROR)
    target = node.results.get(result, node.next)
    if target is None:
        log.error(
            "call %s: action %r gave %r, which the node does not route",
            ctx.call_id,
            node.action,
            result,
        )
        return StepResult(Reason.ERROR, next=fallback, fault=CsoReason.ERROR)
    return StepResult(Reason.DONE, next=target, value=result)


def _failed(node: ActionNode, fallback: str, fault: CsoReason) -> StepResult:
    """To the node's ``error`` route (or the fallback), saying what failed."""
    return StepResult(Reason.ERROR, next=node.results.get(ERROR_RESULT, fallback), fault=fault)


def edges(flow: Flow, node: ActionNode) -> Iterator[Edge]:
    """Each named result, the node's ``next`` for the others, and the fallback."""
    base = ("nodes", node.id)
    for result, target in node.results.items():
        yield Edge(target, (*base, "results", result), result, "result")
    if node.next is not None:
        yield Edge(node.next, (*base, "next"), "other results" if node.results else "done")
    yield Edge(node.fallback or flow.defaults.fallback, (*base, "fallback"), "fallback", "fallback")


def check(node: ActionNode, known: Known) -> Iterator[Problem]:
    """The action must be one the IVR has."""
    if node.action not in known.actions:
        yield (
            ("nodes", node.id, "action"),
            f"node {node.id!r}: unknown action {node.action!r}; "
            f"known: {', '.join(sorted(known.actions))}",
        )


def describe(flow: Flow, node: ActionNode) -> list[str]:
    """The action it runs."""
    return [f"action: {node.action}"]


KIND = NodeKind(
    name="action",
    schema=ActionNode,
    run=run,
    edges=edges,
    check=check,
    describe=describe,
    style=Style(
        dot='shape=component, style=filled, fillcolor="#e6f4ea"',
        mermaid_shape=("[(", ")]"),
        mermaid_class="fill:#e6f4ea,stroke:#3c8d50",
    ),
)
