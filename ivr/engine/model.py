"""The flow model: what a ``flows/*.yaml`` file may say, as pydantic models.

One model per node kind, joined in a union discriminated by ``kind``. Structural
checks live here (types, required fields, value ranges); checks across nodes
(targets exist, nodes reachable, every input has a way out) live in
:mod:`ivr.engine.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

T = TypeVar("T")

#: Name of the transfer node every flow has: written out, or added with the defaults.
CSO_NODE = "cso"
IMPLICIT_CSO_NOTE = "added by the engine: transfer to the flow's CSO queue"
KEY_RE = re.compile(r"^[0-9*#]$")
ID_RE = r"^[A-Za-z_][A-Za-z0-9_.-]*$"


class Strict(BaseModel):
    """Unknown keys are mistakes (a typo in ``nxet:`` must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SayDigits(Strict):
    """Speak a value digit by digit: ``{digits: "{idpel}"}``; with ``group: 4``, in
    groups of four with a pause between (report numbers, CTT tokens)."""

    digits: str
    group: int = Field(0, ge=0, le=8)


class SayNumber(Strict):
    """Speak a value as a number: ``{number: "{amount}"}``."""

    number: str


#: A prompt part: a catalogue id (may hold ``{variable}``), or a spoken value.
PromptPart = str | SayDigits | SayNumber


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


def _as_prompt_lists(value: Any) -> Any:
    value = _as_list(value)
    if isinstance(value, list):
        return [_as_list(item) for item in value]
    return value


class Condition(Strict):
    """A test on one call variable. Give exactly one of eq, ne, in, set."""

    var: str
    eq: str | None = None
    ne: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    set: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.eq, self.ne, self.in_, self.set]
        if sum(test is not None for test in tests) != 1:
            raise ValueError("a condition needs exactly one of: eq, ne, in, set")
        return self

    def holds(self, variables: dict[str, str]) -> bool:
        """Whether the condition is true for these call variables."""
        value = variables.get(self.var)
        if self.set is not None:
            return (value not in (None, "")) == self.set
        if self.eq is not None:
            return value == self.eq
        if self.ne is not None:
            return value != self.ne
        assert self.in_ is not None
        return value in self.in_


class NodeBase(Strict):
    """Fields every node has."""

    id: str = Field("", pattern=r"^$|" + ID_RE)
    note: str | None = None


class PlayNode(NodeBase):
    """Play a prompt, then go on. A key pressed meanwhile is kept for the next input."""

    kind: Literal["play"]
    prompt: list[PromptPart]
    next: str

    _list = field_validator("prompt", mode="before")(_as_list)


class InputNode(NodeBase):
    """What every node that waits for the caller has."""

    ask: str = Field(pattern=ID_RE)
    prompt: list[PromptPart]
    #: Escalating prompts after silence: the first after the first silence, and so on;
    #: the last one repeats.
    noinput: list[list[PromptPart]] | None = None
    #: Escalating prompts after a wrong answer.
    nomatch: list[list[PromptPart]] | None = None
    max_attempts: int | None = Field(None, ge=1, le=10)
    #: Where the caller goes when the attempts run out (default: the flow's fallback).
    fallback: str | None = None
    #: Seconds of silence before a noinput.
    timeout: float | None = Field(None, gt=0, le=60)
    #: Overrides of the flow's CSO and repeat keys for this node ("" switches off).
    cso_key: str | None = None
    repeat_key: str | None = None

    _list = field_validator("prompt", mode="before")(_as_list)

    _prompt_lists = field_validator("noinput", "nomatch", mode="before")(_as_prompt_lists)


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


class Confirm(Strict):
    """Read the collected value back and ask 1 (ya) or 2 (tidak)."""

    prompt: list[PromptPart]
    ask: str | None = Field(None, pattern=ID_RE)

    _list = field_validator("prompt", mode="before")(_as_list)


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


class Case(Strict):
    """One arm of a branch."""

    when: Condition
    next: str


class BranchNode(NodeBase):
    """Go one way or another on call variables; the first case that holds wins."""

    kind: Literal["branch"]
    cases: list[Case]
    default: str


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


class TransferNode(NodeBase):
    """Hand the call to a CSO queue with the screen-pop data; the IVR's part ends."""

    kind: Literal["transfer"]
    queue: str | None = None
    prompt: list[PromptPart] = Field(default_factory=list)
    #: Lines for the CSO's screen-pop, over the flow's ``defaults.pop``.
    pop: dict[str, str] = Field(default_factory=dict)

    _list = field_validator("prompt", mode="before")(_as_list)


class SubflowNode(NodeBase):
    """Run another flow; come back to ``next`` when it reaches a ``return`` node."""

    kind: Literal["subflow"]
    flow: str
    next: str


class ReturnNode(NodeBase):
    """End of a subflow: go back to the calling flow."""

    kind: Literal["return"]


class HangupNode(NodeBase):
    """Say goodbye and end the call."""

    kind: Literal["hangup"]
    prompt: list[PromptPart] = Field(default_factory=list)

    _list = field_validator("prompt", mode="before")(_as_list)


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | BranchNode
    | ActionNode
    | TransferNode
    | SubflowNode
    | ReturnNode
    | HangupNode,
    Field(discriminator="kind"),
]
#: Node kinds that end a flow (a call, or a subflow).
TERMINAL_KINDS = ("transfer", "hangup", "return")


class FlowDefaults(Strict):
    """Defaults every input node of the flow inherits."""

    timeout: float = Field(5.0, gt=0, le=60)
    inter_digit_timeout: float = Field(3.0, gt=0, le=30)
    max_attempts: int = Field(3, ge=1, le=10)
    fallback: str = CSO_NODE
    cso_key: str = "0"
    repeat_key: str = "*"
    #: Most times ``*`` may repeat one prompt before it counts as a wrong answer.
    max_repeats: int = Field(3, ge=0, le=10)
    noinput: list[list[PromptPart]] = Field(default_factory=list)
    nomatch: list[list[PromptPart]] = Field(default_factory=list)
    #: Queue of the implicit ``cso`` node (default: the configured default queue).
    cso_queue: str | None = None
    #: Lines the CSO's screen-pop shows when a call is queued from this flow: label ->
    #: text with ``{variables}``. A line whose variables are not all set is left out.
    pop: dict[str, str] = Field(default_factory=dict)

    @field_validator("cso_key", "repeat_key")
    @classmethod
    def _key_or_off(cls, key: str) -> str:
        if key and not KEY_RE.match(key):
            raise ValueError(f"{key!r} is not a phone key (0-9, *, #) or '' for off")
        return key

    _prompt_lists = field_validator("noinput", "nomatch", mode="before")(_as_prompt_lists)


class Flow(Strict):
    """One call flow file."""

    #: Per-node values derived once and reused by every call (the steps' caches).
    _derived: dict[tuple[str, str, str], Any] = PrivateAttr(default_factory=dict)

    flow: str = Field(pattern=ID_RE)
    description: str = ""
    start: str
    defaults: FlowDefaults = Field(default_factory=FlowDefaults)
    nodes: dict[str, Node]

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: Any) -> Any:
        """Each node's id is its key under ``nodes:``."""
        if isinstance(data, dict) and isinstance(data.get("nodes"), dict):
            nodes = {}
            for key, node in data["nodes"].items():
                if isinstance(node, dict):
                    node = {**node, "id": str(key)}
                nodes[str(key)] = node
            if CSO_NODE not in nodes:
                defaults = data.get("defaults")
                queue = defaults.get("cso_queue") if isinstance(defaults, dict) else None
                nodes[CSO_NODE] = {
                    "kind": "transfer",
                    "id": CSO_NODE,
                    "queue": queue,
                    "note": IMPLICIT_CSO_NOTE,
                }
            data = {**data, "nodes": nodes}
        return data

    @field_validator("nodes")
    @classmethod
    def _node_ids(cls, nodes: dict[str, Node]) -> dict[str, Node]:
        for key in nodes:
            if not re.match(ID_RE, key):
                raise ValueError(f"node id {key!r}: use letters, digits, _ . - only")
        return nodes

    def derived(self, node: NodeBase, make: Callable[[], T], what: str = "") -> T:
        """A value derived from ``node`` (its input rules, say), made once per flow load;
        ``what`` tells apart several values of one node."""
        # The private dict itself: ``self._derived`` goes through pydantic's
        # ``__getattr__``, which costs more than the rest of this on every input node.
        private = self.__pydantic_private__
        assert private is not None
        cache: dict[tuple[str, str, str], Any] = private["_derived"]
        key = (node.id, type(node).__name__, what)
        value: T | None = cache.get(key)
        if value is None:
            value = cache[key] = make()
        return value

    def node(self, node_id: str) -> Node:
        """The node with this id (the implicit ``cso`` node included)."""
        return self.nodes[node_id]
