"""``collect``: a string of digits, checked for length and pattern, optionally read back."""

from __future__ import annotations

import re

from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import Choice, CollectNode, Flow, MenuNode
from ivr.language.grammars import digits_grammar
from ivr.steps.listen import InputRules, SpeechInput, listen, next_key
from ivr.steps.menu import speech_input as menu_speech_input

YES, NO = "ya", "tidak"
#: Words for the read-back question (the first of each is what a scenario says).
YES_WORDS = ("ya", "benar", "betul")
NO_WORDS = ("tidak", "salah", "bukan")


def confirm_ask(node: CollectNode) -> str:
    """The ask tag of a collect node's read-back question."""
    assert node.confirm is not None
    return node.confirm.ask or f"{node.ask}_konfirmasi"


def confirm_menu(node: CollectNode) -> MenuNode:
    """The read-back question as a yes/no menu (1 ya, 2 tidak)."""
    assert node.confirm is not None
    return MenuNode.model_validate(
        {
            "kind": "menu",
            "id": node.id,
            "ask": confirm_ask(node),
            "prompt": node.confirm.prompt,
            "choices": {
                "1": Choice(value=YES, next=node.next, words=list(YES_WORDS)),
                "2": Choice(value=NO, next=node.id, words=list(NO_WORDS)),
            },
            "max_attempts": node.max_attempts,
            "fallback": node.fallback,
            "timeout": node.timeout,
            "cso_key": node.cso_key,
            "repeat_key": node.repeat_key,
        }
    )


async def read_digits(ctx: CallContext, node: CollectNode, flow: Flow, first: str) -> str | None:
    """The value starting with key ``first``; None when it breaks the node's rules.

    A shortcut key gives its value at once; the terminator alone gives the node's
    ``empty_value``; the decimal key inside a value becomes a comma.
    """
    if first in node.shortcuts:
        return node.shortcuts[first].value
    if first == node.terminator:
        return node.empty_value
    inter_digit = node.inter_digit_timeout or flow.defaults.inter_digit_timeout
    keys = first
    digits = int(first.isdigit())
    while digits < node.max_length:
        key = await next_key(ctx, inter_digit)
        if key is None or key == node.terminator:
            break
        keys += key
        digits += key.isdigit()
    else:
        # Ended at maximum length: a '#' the caller adds belongs to this input.
        ctx.swallow_key = node.terminator
    value = keys.replace(node.decimal_key, ",") if node.decimal_key else keys
    return value if valid(node, value) else None


def valid(node: CollectNode, value: str) -> bool:
    """Digits (a comma where the node has a decimal key) of the right length and pattern."""
    if not re.fullmatch(r"\d+(,\d+)?" if node.decimal_key else r"\d+", value):
        return False
    if not node.min_length <= _digit_count(value) <= node.max_length:
        return False
    return node.pattern is None or re.fullmatch(node.pattern, value) is not None


def speech_input(node: CollectNode, flow: Flow) -> SpeechInput:
    """Digits said as digits or as numbers ("seratus dua puluh koma lima")."""

    def make() -> SpeechInput:
        grammar = digits_grammar()
        decimal = node.decimal_key is not None

        def to_value(text: str) -> str | None:
            value = grammar.interpret(text, allow_decimal=decimal)
            return value if value is not None and valid(node, value) else None

        return SpeechInput(grammar, to_value)

    return flow.derived(node, make, "speech")


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


async def run(node: CollectNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Ask for digits until a valid (and, if asked, confirmed) value or the fallback."""
    ctx.asks.append(node.ask)
    rules = InputRules.of(node, flow)
    for _ in range(rules.max_attempts):
        result, value = await listen(
            ctx,
            flow,
            node,
            lambda first: read_digits(ctx, node, flow, first),
            speech=speech_input(node, flow),
        )
        if value is None:
            return result
        special = value == node.empty_value or any(
            shortcut.value == value for shortcut in node.shortcuts.values()
        )
        if node.confirm is None or special:
            return await _keep(ctx, node, value, result.reason)
        menu = confirm_menu(node)
        ctx.variables[node.store or node.ask] = value
        ctx.asks.append(menu.ask)

        async def yes_no(key: str, menu: MenuNode = menu) -> str | None:
            choice = menu.choices.get(key)
            return choice.value if choice else None

        answer_result, answer = await listen(
            ctx, flow, menu, yes_no, speech=menu_speech_input(menu)
        )
        if answer is None:
            return answer_result
        await ctx.record_answer(node.id, menu.ask, answer, _via(answer_result.reason))
        if answer == YES:
            return await _keep(ctx, node, value, result.reason)
    return StepResult(Reason.NOMATCH, next=rules.fallback)


def _via(reason: Reason) -> str:
    return "speech" if reason == Reason.SPEECH else "dtmf"


async def _keep(ctx: CallContext, node: CollectNode, value: str, reason: Reason) -> StepResult:
    ctx.variables[node.store or node.ask] = value
    await ctx.record_answer(node.id, node.ask, value, _via(reason))
    shortcut = next((s for s in node.shortcuts.values() if s.value == value), None)
    target = shortcut.next if shortcut is not None and shortcut.next else node.next
    return StepResult(reason, next=target, value=value)
