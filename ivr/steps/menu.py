"""``menu``: one key picks one option."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field, field_validator

from ivr.engine.context import CallContext
from ivr.engine.kinds import AnswerError, Edge, NodeKind, Reason, StepResult, Style
from ivr.engine.model import KEY_RE, Flow, InputNode, Strict
from ivr.language.grammars import InputGrammar, menu_grammar
from ivr.steps.listen import (
    SpeechInput,
    cso_keys,
    input_edges,
    input_lines,
    input_prompts,
    listen,
)

#: Keys a phone has: a scenario may press them raw to give a wrong answer on purpose.
PHONE_KEYS = "0123456789*#"


class Choice(Strict):
    """One option of a menu."""

    value: str
    next: str
    #: Words a caller may say for this option (speech recognition).
    words: list[str] = Field(default_factory=list)


class MenuNode(InputNode):
    """Pick one option by key (or by word)."""

    kind: Literal["menu"]
    choices: dict[str, Choice]

    @field_validator("choices", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key): choice for key, choice in value.items()}
        return value

    @field_validator("choices")
    @classmethod
    def _keys_are_keys(cls, choices: dict[str, Choice]) -> dict[str, Choice]:
        if not choices:
            raise ValueError("a menu needs at least one choice")
        for key in choices:
            if not KEY_RE.match(key):
                raise ValueError(f"choice key {key!r} is not a phone key (0-9, *, #)")
        return choices


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


def edges(flow: Flow, node: MenuNode) -> Iterator[Edge]:
    """Each choice (``1=periksa``), then the fallback and the CSO key."""
    for key, choice in node.choices.items():
        yield Edge(
            choice.next,
            ("nodes", node.id, "choices", key, "next"),
            f"{key}={choice.value}",
            "choice",
        )
    yield from input_edges(flow, node)


def grammars(node: MenuNode, flow: Flow) -> Iterator[InputGrammar]:
    """The words of its choices, when any choice has some."""
    spoken = speech_input(node, flow)
    if spoken is not None:
        yield spoken.grammar


def keys(node: MenuNode, ask: str, value: str) -> str:
    """The key of the choice whose value (or key) is ``value``; ``cso``; or raw keys."""
    for key, choice in node.choices.items():
        if value in (choice.value, key):
            return key
    if value == "cso":
        return cso_keys(node, ask)
    if value and all(ch in PHONE_KEYS for ch in value):
        return value  # raw keys: how a scenario presses a wrong key on purpose
    known = ", ".join(choice.value for choice in node.choices.values())
    raise AnswerError(f"ask {ask!r}: {value!r} is not one of: {known}")


KIND = NodeKind(
    name="menu",
    schema=MenuNode,
    run=run,
    edges=edges,
    prompts=input_prompts,
    describe=lambda flow, node: input_lines(node),
    grammars=grammars,
    keys=keys,
    style=Style(
        dot='shape=diamond, style=filled, fillcolor="#fff4d6"',
        mermaid_shape=("{", "}"),
        mermaid_class="fill:#fff4d6,stroke:#b58900",
    ),
)
