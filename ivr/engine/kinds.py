"""The contract of a node kind: what one module under :mod:`ivr.steps` gives the engine.

A kind is its schema (a pydantic model under ``nodes:``), its run function, its ways
out (for the validator, the flow graph and the ops waterfall), and, for inputs, how a
scenario's answer becomes phone keys. The engine reads kinds from the table it is
given (:class:`ivr.engine.kit.FlowKit`) and never imports a step module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ivr.engine.journey import CsoReason
from ivr.engine.model import Flow, NodeBase, PromptPart
from ivr.engine.port import Outcome
from ivr.language.grammars import InputGrammar

if TYPE_CHECKING:
    from ivr.engine.context import CallContext

NodeT = TypeVar("NodeT", bound=NodeBase)

#: A path inside a flow file: ``("nodes", "menu", "choices", "1", "next")``.
YamlPath = tuple[str, ...]


class Reason(StrEnum):
    """Why a step ended."""

    DONE = "done"
    DTMF = "dtmf"
    SPEECH = "speech"
    NOINPUT = "noinput"
    NOMATCH = "nomatch"
    CSO = "cso"
    HANGUP = "hangup"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class StepResult:
    """Where to go next (``next``), or how the call ended (``outcome``), and why.

    ``enter``: run that flow first (from its start), then come back to ``next``;
    ``leave``: go back to where the current subflow was entered. ``fault``: for an
    ``error`` reason, what failed (a backend, a time limit, the IVR), which becomes the
    call's CSO reason if the fallback queues it.
    """

    reason: Reason
    next: str | None = None
    outcome: Outcome | None = None
    value: str | None = None
    enter: str | None = None
    leave: bool = False
    fault: CsoReason | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """One way out of a node: its target, the YAML path that says so, and how the flow
    graph labels it. ``kind`` is one of ``next``, ``choice``, ``fallback``, ``cso``,
    ``case``, ``default``, ``result``."""

    target: str
    path: YamlPath
    label: str = ""
    kind: str = "next"


@dataclass(frozen=True, slots=True)
class Style:
    """How the flow graph draws a kind: Graphviz node attributes, a Mermaid shape
    (opening, closing) and a Mermaid class definition."""

    dot: str
    mermaid_shape: tuple[str, str]
    mermaid_class: str


@dataclass(frozen=True)
class Known:
    """What a kind's own check may look names up in: the flows and actions there are."""

    flows: frozenset[str]
    actions: frozenset[str]


#: A problem a kind's check finds: where (YAML path) and what, in words.
Problem = tuple[YamlPath, str]


def _no_prompts(node: Any) -> Iterator[tuple[YamlPath, list[PromptPart]]]:
    return iter(())


def _no_problems(node: Any, known: Known) -> Iterator[Problem]:
    return iter(())


def _no_lines(flow: Flow, node: Any) -> list[str]:
    return []


def _no_grammars(node: Any, flow: Flow) -> Iterator[InputGrammar]:
    return iter(())


@dataclass(frozen=True)
class NodeKind(Generic[NodeT]):
    """One node kind, as its module declares it (``KIND = NodeKind(...)``)."""

    #: The ``kind:`` a flow writes.
    name: str
    #: Its pydantic model; its ``kind`` field is ``Literal[name]``.
    schema: type[NodeT]
    #: Runs the node on a call.
    run: Callable[[NodeT, CallContext, Flow], Awaitable[StepResult]]
    #: Every way out of the node, fallbacks and the CSO key included.
    edges: Callable[[Flow, NodeT], Iterable[Edge]]
    style: Style
    #: True for kinds that end a flow (a call, or a subflow): the validator's "way out".
    ends: bool = False
    #: Each prompt list of the node, with its YAML path (checked against the catalogue).
    prompts: Callable[[NodeT], Iterable[tuple[YamlPath, list[PromptPart]]]] = _no_prompts
    #: Problems only this kind can see (an unknown action, a missing subflow).
    check: Callable[[NodeT, Known], Iterable[Problem]] = _no_problems
    #: Lines of the node's label in the flow graph, after its id and kind.
    describe: Callable[[Flow, NodeT], list[str]] = _no_lines
    #: The speech grammars the node listens with (checked against the model's words).
    grammars: Callable[[NodeT, Flow], Iterable[InputGrammar]] = _no_grammars
    #: A scenario's answer to the question ``ask`` as phone keys; None: no answers.
    keys: Callable[[NodeT, str, str], str] | None = field(default=None)


#: Node kinds by name, as the wiring registers them.
KindTable = Mapping[str, NodeKind[Any]]


class AnswerError(ValueError):
    """A scenario answer that the node cannot take."""


class _Prompted(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def prompt(self) -> list[PromptPart]: ...


def own_prompt(node: _Prompted) -> Iterator[tuple[YamlPath, list[PromptPart]]]:
    """The ``prompts`` of a kind whose only prompt is its ``prompt:`` field."""
    yield ("nodes", node.id, "prompt"), node.prompt


def no_edges(flow: Flow, node: Any) -> Iterator[Edge]:
    """The ``edges`` of a kind that ends its flow (the call, or a subflow)."""
    return iter(())
