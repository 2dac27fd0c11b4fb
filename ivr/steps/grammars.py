"""Every input's speech grammar, for the check of the model's vocabulary at start-up."""

from __future__ import annotations

from collections.abc import Iterable

from ivr.engine.library import FlowLibrary
from ivr.engine.model import CollectNode, MenuNode
from ivr.language.grammars import InputGrammar
from ivr.steps import collect, menu


def input_grammars(library: FlowLibrary) -> list[InputGrammar]:
    """The grammars of every menu with words and every collect (and its read-back)."""
    found: list[InputGrammar] = []
    for loaded in library.flows.values():
        flow = loaded.flow
        for node in flow.nodes.values():
            if isinstance(node, MenuNode):
                spoken = menu.speech_input(node, flow)
                found += [spoken.grammar] if spoken is not None else []
            elif isinstance(node, CollectNode):
                found.append(collect.speech_input(node, flow).grammar)
                if node.confirm is not None:
                    confirm = menu.speech_input(collect.confirm_menu(node))
                    found += [confirm.grammar] if confirm is not None else []
    return list(_unique(found))


def _unique(grammars: Iterable[InputGrammar]) -> Iterable[InputGrammar]:
    seen: set[tuple[str, ...]] = set()
    for grammar in grammars:
        if grammar.phrases not in seen:
            seen.add(grammar.phrases)
            yield grammar
