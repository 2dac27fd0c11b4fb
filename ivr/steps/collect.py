"""``collect``: a string of digits, checked for length and pattern, optionally read back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ivr.engine.context import CallContext
from ivr.engine.kinds import AnswerError, Edge, NodeKind, Reason, StepResult, Style, YamlPath
from ivr.engine.model import ID_RE, KEY_RE, Flow, InputNode, PromptPart, Strict, as_list
from ivr.language.grammars import InputGrammar, digits_grammar
from ivr.steps import menu as menu_kind
from ivr.steps.listen import (
    InputRules,
    SpeechInput,
    cso_keys,
    input_edges,
    input_lines,
    input_prompts,
    listen,
    next_key,
)
from ivr.steps.menu import PHONE_KEYS, Choice, MenuNode


class Confirm(Strict):
    """Read the collected value back and ask 1 (ya) or 2 (tidak)."""

    prompt: list[PromptPart]
    ask: str | None = Field(None, pattern=ID_RE)

    _list = field_validator("prompt", mode="before")(as_list)


class Shortcut(Strict):
    """A key that, pressed first, is the whole answer (``*`` for "tidak tahu")."""

    value: str
    #: Where the answer leads (default: the node's ``next``).
    next: str | None = None


class CollectNode(InputNode):
    """Collect digits: a customer ID, a meter number, a phone number, a meter reading."""

    kind: Literal["collect"]
    min_length: int = Field(1, ge=1, le=64)
    max_length: int = Field(20, ge=1, le=64)
    #: A regular expression the whole value must match.
    pattern: str | None = None
    #: Key that ends the input early.
    terminator: str = "#"
    #: Seconds allowed between two keys.
    inter_digit_timeout: float | None = Field(None, gt=0, le=30)
    #: Call variable that receives the value (default: the ask tag).
    store: str | None = None
    confirm: Confirm | None = None
    #: Keys that, pressed first, are the whole answer.
    shortcuts: dict[str, Shortcut] = Field(default_factory=dict)
    #: A key that stands for the decimal comma inside a value (``*`` for meter readings);
    #: the value is stored with a comma: ``220,5``.
    decimal_key: str | None = None
    #: The value when the caller presses only the terminator ("no number shown").
    empty_value: str | None = None
    next: str

    @field_validator("shortcuts", mode="before")
    @classmethod
    def _shortcut_keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key): shortcut for key, shortcut in value.items()}
        return value

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_length > self.max_length:
            raise ValueError("min_length is larger than max_length")
        for key in [*self.shortcuts, self.decimal_key or "0", self.terminator]:
            if not KEY_RE.match(key):
                raise ValueError(f"{key!r} is not a phone key (0-9, *, #)")
        if self.terminator in self.shortcuts or self.decimal_key == self.terminator:
            raise ValueError(
                f"the terminator {self.terminator!r} cannot also be a shortcut or the decimal key"
            )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return self


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
    if node.terminator == "#" and not ctx.typeahead and digits < node.max_length:
        # The rest in one operation: no key is lost between two of them.
        most = node.max_length - digits + (1 if node.decimal_key else 0)
        rest = await ctx.port.read_keys(inter_digit, most)
        keys += rest
        if len(rest) == most:  # ended at its length: a '#' added belongs to it
            ctx.swallow_key = node.terminator
    else:
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
            ctx, flow, menu, yes_no, speech=menu_kind.speech_input(menu)
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


def edges(flow: Flow, node: CollectNode) -> Iterator[Edge]:
    """``next`` (once valid, and confirmed if asked), shortcuts that lead elsewhere, then
    the fallback and the CSO key."""
    base = ("nodes", node.id)
    yield Edge(node.next, (*base, "next"), "confirmed" if node.confirm is not None else "valid")
    for key, shortcut in node.shortcuts.items():
        if shortcut.next is not None:
            yield Edge(
                shortcut.next,
                (*base, "shortcuts", key, "next"),
                f"{key}={shortcut.value}",
                "choice",
            )
    yield from input_edges(flow, node)


def prompts(node: CollectNode) -> Iterator[tuple[YamlPath, list[PromptPart]]]:
    """The question, its reprompts and the read-back."""
    yield from input_prompts(node)
    if node.confirm is not None:
        yield ("nodes", node.id, "confirm", "prompt"), node.confirm.prompt


def describe(flow: Flow, node: CollectNode) -> list[str]:
    """What it asks and how many digits."""
    span = (
        str(node.min_length)
        if node.min_length == node.max_length
        else f"{node.min_length}-{node.max_length}"
    )
    return [*input_lines(node), f"{span} digits"]


def grammars(node: CollectNode, flow: Flow) -> Iterator[InputGrammar]:
    """Digits and numbers, and the read-back's yes and no."""
    yield speech_input(node, flow).grammar
    if node.confirm is not None:
        yield from menu_kind.grammars(confirm_menu(node), flow)


def keys(node: CollectNode, ask: str, value: str) -> str:
    """The keys for ``value``: a shortcut, the terminator for the empty value, the
    decimal key for the comma, and the terminator after a short value; the read-back
    question's answers as its yes/no menu."""
    if node.confirm is not None and ask == confirm_ask(node):
        return menu_kind.keys(confirm_menu(node), ask, value)
    if value == "cso":
        return cso_keys(node, ask)
    for key, shortcut in node.shortcuts.items():
        if value == shortcut.value:
            return key
    if node.empty_value is not None and value == node.empty_value:
        return node.terminator
    if node.decimal_key is not None and "," in value:
        value = value.replace(",", node.decimal_key)
        if value.replace(node.decimal_key, "").isdigit():
            return value + node.terminator
    if not value or any(ch not in PHONE_KEYS for ch in value):
        raise AnswerError(f"ask {ask!r}: {value!r} cannot be keyed on a phone")
    if len(value) < node.max_length and not value.endswith(node.terminator):
        return value + node.terminator
    return value


KIND = NodeKind(
    name="collect",
    schema=CollectNode,
    run=run,
    edges=edges,
    prompts=prompts,
    describe=describe,
    grammars=grammars,
    keys=keys,
    style=Style(
        dot='shape=parallelogram, style=filled, fillcolor="#fff4d6"',
        mermaid_shape=("[/", "/]"),
        mermaid_class="fill:#fff4d6,stroke:#b58900",
    ),
)
