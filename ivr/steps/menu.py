"""``menu``: one key picks one option."""

from __future__ import annotations

from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import Flow, MenuNode
from ivr.language.grammars import menu_grammar
from ivr.steps.listen import SpeechInput, listen


def speech_input(node: MenuNode, flow: Flow | None = None) -> SpeechInput | None:
    """The words of the menu's choices, or None when no choice has any."""

    def make() -> SpeechInput | None:
        words = {choice.value: choice.words for choice in node.choices.values() if choice.words}
        if not words:
            return None
        grammar = menu_grammar(words)
        return SpeechInput(grammar, grammar.interpret)

    return make() if flow is None else flow.derived(node, make, "speech")


async def run(node: MenuNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Ask, and go where the chosen option leads."""
    ctx.asks.append(node.ask)

    async def pick(key: str) -> str | None:
        choice = node.choices.get(key)
        return choice.value if choice else None

    result, value = await listen(
        ctx, flow, node, pick, own_keys="".join(node.choices), speech=speech_input(node, flow)
    )
    if value is None:
        return result
    key = next(k for k, choice in node.choices.items() if choice.value == value)
    ctx.variables[node.ask] = value
    via = "speech" if result.reason == Reason.SPEECH else "dtmf"
    await ctx.record_answer(node.id, node.ask, value, via)
    return StepResult(result.reason, next=node.choices[key].next, value=value)
