"""The node kinds a flow may use: one line each. A new kind is its module plus a line here."""

from __future__ import annotations

from typing import Any

from ivr.engine.kinds import KindTable, NodeKind
from ivr.steps import action, branch, collect, hangup, menu, play, return_, subflow, transfer


def kind_table(*kinds: NodeKind[Any]) -> KindTable:
    """Kinds by name; a name given twice is a mistake."""
    table: dict[str, NodeKind[Any]] = {}
    for kind in kinds:
        if kind.name in table:
            raise ValueError(f"node kind {kind.name!r} is registered twice")
        table[kind.name] = kind
    return table


KINDS = kind_table(
    play.KIND,
    menu.KIND,
    collect.KIND,
    branch.KIND,
    action.KIND,
    transfer.KIND,
    subflow.KIND,
    return_.KIND,
    hangup.KIND,
)
