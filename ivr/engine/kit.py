"""What the engine runs flows with, handed to it by the wiring (:mod:`ivr.kit`).

The engine defines these shapes and never imports what fills them: the node kinds
(:mod:`ivr.steps`), the named actions (:mod:`ivr.actions`), the data tables' models
(:mod:`ivr.tables`), and the hand-over to a CSO the interpreter falls back on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from ivr.engine.kinds import KindTable, StepResult

if TYPE_CHECKING:
    from ivr.engine.context import Action, CallContext

#: Hands the call to a queue with its screen-pop (the ``transfer`` kind's own way).
HandOver = Callable[["CallContext", str], Awaitable[StepResult]]


@dataclass(frozen=True)
class FlowKit:
    """Node kinds, actions, data-table models and the hand-over, by injection."""

    kinds: KindTable
    actions: Mapping[str, Action]
    table_models: Mapping[str, type[BaseModel]]
    hand_over: HandOver
