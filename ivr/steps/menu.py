"""``menu``: one key picks one option."""

from __future__ import annotations

from ivr.engine.context import CallContext
from ivr.engine.model import Flow, MenuNode
from ivr.steps.base import StepResult
from ivr.steps.listen import listen


async def run(node: MenuNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Ask, and go where the chosen option leads."""
    ctx.asks.append(node.ask)

    async def pick(key: str) -> str | None:
        choice = node.choices.get(key)
        return choice.value if choice else None

    result, value = await listen(ctx, flow, node, pick, own_keys="".join(node.choices))
    if value is None:
        return result
    key = next(k for k, choice in node.choices.items() if choice.value == value)
    ctx.variables[node.ask] = value
    await ctx.record_answer(node.id, node.ask, value)
    return StepResult(result.reason, next=node.choices[key].next, value=value)
