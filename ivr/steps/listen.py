"""What every input node shares: attempts, escalating reprompts, the CSO and repeat keys.

Each attempt announces that the IVR listens, plays the prompt with every key as an
escape (so keys pressed during the prompt are kept), then waits for the first key.
Silence is a noinput, a wrong answer a nomatch; each plays the next, sterner reprompt
before the prompt again. When the attempts run out, the caller goes to the node's
fallback (by default a CSO).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from ivr.engine.context import ALL_KEYS, CallContext
from ivr.engine.kinds import AnswerError, Edge, Reason, StepResult, YamlPath, own_prompt
from ivr.engine.model import CSO_NODE, Flow, InputNode, PromptPart
from ivr.engine.port import SpeechTurn
from ivr.language.grammars import InputGrammar

#: Reads the rest of an answer after its first key: the value, or None for a nomatch.
ReadRest = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True)
class SpeechInput:
    """What an input listens for when the caller speaks, and how words become its value
    (None: a nomatch)."""

    grammar: InputGrammar
    to_value: Callable[[str], str | None]


@dataclass(frozen=True)
class InputRules:
    """An input node's settings with the flow's defaults filled in."""

    timeout: float
    max_attempts: int
    fallback: str
    cso_key: str
    repeat_key: str
    max_repeats: int
    noinput: list[list[PromptPart]]
    nomatch: list[list[PromptPart]]

    @classmethod
    def of(cls, node: InputNode, flow: Flow) -> InputRules:
        """The rules for ``node`` in ``flow`` (worked out once per flow load)."""
        return flow.derived(node, lambda: cls._make(node, flow))

    @classmethod
    def _make(cls, node: InputNode, flow: Flow) -> InputRules:
        defaults = flow.defaults
        return cls(
            timeout=node.timeout or defaults.timeout,
            max_attempts=node.max_attempts or defaults.max_attempts,
            fallback=node.fallback or defaults.fallback,
            cso_key=node.cso_key if node.cso_key is not None else defaults.cso_key,
            repeat_key=node.repeat_key if node.repeat_key is not None else defaults.repeat_key,
            max_repeats=defaults.max_repeats,
            noinput=node.noinput if node.noinput is not None else defaults.noinput,
            nomatch=node.nomatch if node.nomatch is not None else defaults.nomatch,
        )


#: The words heard at an input are kept in the call variable ``ucapan.<ask>``.
HEARD_PREFIX = "ucapan."


def _escalate(prompts: list[list[PromptPart]], count: int) -> list[PromptPart]:
    if not prompts:
        return []
    return prompts[min(count, len(prompts)) - 1]


async def first_key(ctx: CallContext, prompt: list[PromptPart], timeout: float) -> str | None:
    """The first key of an answer: typed ahead, pressed during the prompt, or after it.

    A terminator left over from an input that ended at its maximum length is dropped
    once (and the prompt played, if that key had cut it short).
    """
    key: str | None = None
    for _ in range(2):
        key = ctx.typeahead.popleft() if ctx.typeahead else None
        if key is None:
            key = await ctx.port.play(ctx.render(prompt), ALL_KEYS)
        stray, ctx.swallow_key = ctx.swallow_key, None
        if key is None or key != stray:
            break
        key = None
    if key is None:
        key = await ctx.port.wait_digit(timeout)
    return key


async def next_key(ctx: CallContext, timeout: float) -> str | None:
    """The next key: typed ahead, or pressed within ``timeout`` seconds."""
    if ctx.typeahead:
        return ctx.typeahead.popleft()
    return await ctx.port.wait_digit(timeout)


async def listen(
    ctx: CallContext,
    flow: Flow,
    node: InputNode,
    read_rest: ReadRest,
    ask: str | None = None,
    prompt: list[PromptPart] | None = None,
    own_keys: str = "",
    speech: SpeechInput | None = None,
) -> tuple[StepResult, str | None]:
    """Run the attempts of one input; the result, and the value when one was given.

    ``own_keys`` are keys the node gives a meaning of its own (a menu choice on 0),
    which then win over the flow's CSO and repeat keys. With ``speech``, the first
    ``ctx.speech_attempts`` attempts also listen for words (where the call can take
    speech); a key still wins, and later attempts take keys only.
    """
    rules = InputRules.of(node, flow)
    ask = ask or node.ask
    prompt = node.prompt if prompt is None else prompt
    misses = {Reason.NOINPUT: 0, Reason.NOMATCH: 0}
    escalation = {Reason.NOINPUT: rules.noinput, Reason.NOMATCH: rules.nomatch}
    repeats = 0
    attempt = 1
    reprompt: list[PromptPart] = []
    last = Reason.NOINPUT
    while attempt <= rules.max_attempts:
        await ctx.port.listening(flow.flow, node, ask, attempt)
        turn: SpeechTurn | None = None
        if speech is not None and attempt <= ctx.speech_attempts and not ctx.typeahead:
            turn = await ctx.port.listen_speech(
                ctx.render(reprompt + prompt, spoken=True), speech.grammar, rules.timeout
            )
        if turn is None:
            key = await first_key(ctx, reprompt + prompt, rules.timeout)
        else:
            key = turn.key
            ctx.typeahead.extend(turn.more_keys)
        value: str | None = None
        if turn is not None and turn.key is None and turn.text:
            ctx.variables[f"{HEARD_PREFIX}{ask}"] = turn.text
            value = speech.to_value(turn.text) if speech and turn.confident else None
            if value is not None:
                return StepResult(Reason.SPEECH, value=value), value
        if key is not None:
            global_key = key not in own_keys
            if global_key and key == rules.cso_key:
                return StepResult(Reason.CSO, next=CSO_NODE), None
            if global_key and key == rules.repeat_key and repeats < rules.max_repeats:
                repeats += 1
                reprompt = []
                continue
            value = await read_rest(key)
        if value is not None:
            return StepResult(Reason.DTMF, value=value), value
        heard = turn is not None and bool(turn.text)
        last = Reason.NOINPUT if key is None and not heard else Reason.NOMATCH
        misses[last] += 1
        reprompt = _escalate(escalation[last], misses[last])
        attempt += 1
    return StepResult(last, next=rules.fallback), None


# --- what every input kind declares the same way ---------------------------------------


def input_edges(flow: Flow, node: InputNode) -> Iterator[Edge]:
    """The ways out every input has: the fallback when attempts run out, the CSO key."""
    base = ("nodes", node.id)
    yield Edge(node.fallback or flow.defaults.fallback, (*base, "fallback"), "fallback", "fallback")
    cso_key = node.cso_key if node.cso_key is not None else flow.defaults.cso_key
    if cso_key:
        yield Edge(CSO_NODE, (*base, "cso_key"), f"{cso_key} → CSO", "cso")


def input_prompts(node: InputNode) -> Iterator[tuple[YamlPath, list[PromptPart]]]:
    """The question and its escalating reprompts."""
    yield from own_prompt(node)
    base = ("nodes", node.id)
    for kind in ("noinput", "nomatch"):
        for index, prompt in enumerate(getattr(node, kind) or []):
            yield (*base, kind, str(index)), prompt


def input_lines(node: InputNode) -> list[str]:
    """The flow graph's label line for what an input asks."""
    return [f"ask: {node.ask}"]


def cso_keys(node: InputNode, ask: str) -> str:
    """The key a scenario's ``cso`` answer presses at ``node``."""
    if node.cso_key == "":
        raise AnswerError(f"ask {ask!r}: the CSO key is switched off at node {node.id!r}")
    return node.cso_key or "0"
