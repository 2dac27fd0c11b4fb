"""The flow model: what a ``flows/*.yaml`` file may say, as pydantic models.

The parts every flow shares live here: prompts, conditions, the fields every node
and every input node has, the flow's defaults and the flow itself. Each node kind's
own model lives in its module under :mod:`ivr.steps`; :func:`flow_schema` joins the
kinds it is given in a union discriminated by ``kind``. Structural checks live in
the models (types, required fields, value ranges); checks across nodes (targets
exist, nodes reachable, every input has a way out) live in :mod:`ivr.engine.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    create_model,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from ivr.engine.kinds import KindTable, NodeKind

T = TypeVar("T")

#: Name of the transfer node every flow has: written out, or added with the defaults.
CSO_NODE = "cso"
#: The node kind that ends a subflow; a flow with one is a subflow only (never a call's flow).
RETURN_KIND = "return"
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


def as_list(value: Any) -> Any:
    """A prompt written as one part (``prompt: greeting``) as a list of parts."""
    return [value] if isinstance(value, str | dict) else value


def as_prompt_lists(value: Any) -> Any:
    """Escalating prompts, each written as one part or a list, as lists of parts."""
    value = as_list(value)
    if isinstance(value, list):
        return [as_list(item) for item in value]
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

    def text(self) -> str:
        """The condition in words: ``waktu == pagi``, ``idpel is set``."""
        if self.set is not None:
            return f"{self.var} is {'set' if self.set else 'not set'}"
        if self.eq is not None:
            return f"{self.var} == {self.eq}"
        if self.ne is not None:
            return f"{self.var} != {self.ne}"
        return f"{self.var} in [{', '.join(self.in_ or [])}]"


class NodeBase(Strict):
    """Fields every node has; each kind narrows ``kind`` to its own name."""

    kind: str
    id: str = Field("", pattern=r"^$|" + ID_RE)
    note: str | None = None


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

    _list = field_validator("prompt", mode="before")(as_list)

    _prompt_lists = field_validator("noinput", "nomatch", mode="before")(as_prompt_lists)


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

    _prompt_lists = field_validator("noinput", "nomatch", mode="before")(as_prompt_lists)


class Flow(Strict):
    """One call flow file. Parse with the class :func:`flow_schema` makes for the
    node kinds in use; this base knows no kind."""

    #: The node kinds this flow's nodes were read with (set on the class by
    #: :func:`flow_schema`).
    kinds: ClassVar[KindTable] = {}

    #: Per-node values derived once and reused by every call (the steps' caches).
    _derived: dict[tuple[str, str, str], Any] = PrivateAttr(default_factory=dict)

    flow: str = Field(pattern=ID_RE)
    description: str = ""
    start: str
    defaults: FlowDefaults = Field(default_factory=FlowDefaults)
    nodes: dict[str, NodeBase]

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
    def _node_ids(cls, nodes: dict[str, NodeBase]) -> dict[str, NodeBase]:
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

    @property
    def subflow_only(self) -> bool:
        """A flow with a ``return`` node is a subflow: it runs from another flow's
        ``subflow`` node, never as the flow a call starts in (its ``return`` would have
        nowhere to go)."""
        return any(node.kind == RETURN_KIND for node in self.nodes.values())

    def node(self, node_id: str) -> NodeBase:
        """The node with this id (the implicit ``cso`` node included)."""
        return self.nodes[node_id]

    def kind_of(self, node: NodeBase) -> NodeKind[Any]:
        """The kind that reads and runs ``node``."""
        return self.kinds[node.kind]


def flow_schema(kinds: KindTable) -> type[Flow]:
    """The flow model whose nodes are the given kinds (made once per kind table)."""
    return _flow_schema(tuple(kinds.values()))


@cache
def _flow_schema(kinds: tuple[NodeKind[Any], ...]) -> type[Flow]:
    if not kinds:
        raise ValueError("no node kinds: a flow needs at least one")
    schemas = tuple(kind.schema for kind in kinds)
    node = Annotated[Union[schemas], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007
    schema: type[Flow] = create_model("Flow", __base__=Flow, nodes=(dict[str, node], ...))
    schema.kinds = {kind.name: kind for kind in kinds}
    return schema
