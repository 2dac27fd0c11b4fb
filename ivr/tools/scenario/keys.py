"""Turning a semantic answer (``ya``, ``periksa``, ``512345678901``) into phone keys.

Both the simulator and the real-call runner use this, so a scenario means the same
thing either way.
"""

from __future__ import annotations

from ivr.engine.model import CollectNode, InputNode, MenuNode
from ivr.steps.collect import confirm_ask, confirm_menu

PHONE_KEYS = "0123456789*#"


class AnswerError(ValueError):
    """A scenario answer that the node cannot take."""


def keys_for(node: InputNode, ask: str, value: str) -> str:
    """The keys a caller presses to give ``value`` to ``node``'s question ``ask``."""
    if isinstance(node, CollectNode) and node.confirm is not None and ask == confirm_ask(node):
        node = confirm_menu(node)
    if isinstance(node, MenuNode):
        for key, choice in node.choices.items():
            if value in (choice.value, key):
                return key
        if value == "cso":
            return _cso_key(node, ask)
        if value and all(ch in PHONE_KEYS for ch in value):
            return value  # raw keys: how a scenario presses a wrong key on purpose
        known = ", ".join(choice.value for choice in node.choices.values())
        raise AnswerError(f"ask {ask!r}: {value!r} is not one of: {known}")
    if isinstance(node, CollectNode):
        if value == "cso":
            return _cso_key(node, ask)
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
    raise AnswerError(f"ask {ask!r}: node {node.id!r} takes no answers")


def _cso_key(node: InputNode, ask: str) -> str:
    if node.cso_key == "":
        raise AnswerError(f"ask {ask!r}: the CSO key is switched off at node {node.id!r}")
    return node.cso_key or "0"
