"""Turning a semantic answer (``ya``, ``periksa``, ``512345678901``) into phone keys.

Both the simulator and the real-call runner use this, so a scenario means the same
thing either way. Each input kind says how its answers are keyed (``keys`` in its
module under :mod:`ivr.steps`); this module only finds the kind.
"""

from __future__ import annotations

from ivr.engine.kinds import AnswerError, KindTable
from ivr.engine.model import NodeBase
from ivr.steps.registry import KINDS

__all__ = ["AnswerError", "keys_for"]


def keys_for(node: NodeBase, ask: str, value: str, kinds: KindTable = KINDS) -> str:
    """The keys a caller presses to give ``value`` to ``node``'s question ``ask``."""
    kind = kinds.get(node.kind)
    if kind is None or kind.keys is None:
        raise AnswerError(f"ask {ask!r}: node {node.id!r} takes no answers")
    return kind.keys(node, ask, value)
