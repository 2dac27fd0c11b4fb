"""What a caller may say at each kind of input, and what it means for the node.

A grammar here is language, not model: the phrases an input listens for. The recogniser
checks them against its model (:meth:`ivr.speech.recognizer.SpeechModel.grammar_for`),
and Vosk repeats the phrases freely ("ya ya pak" is heard from ``ya`` and ``pak``), so
single words are enough for answers built from words. :func:`interpret` turns the text
heard back into the node's value, or ``None`` (a nomatch: the IVR asks again).

* A menu hears the phrases given for each value; the answer is the value whose phrases
  cover everything said, fillers and forms of address aside. Phrases of two values
  ("gangguan, eh, tagihan") are no answer.
* A yes/no question hears the yes and no words with the negations, forms of address and
  fillers (:func:`ivr.language.number_words.parse_yes_no` reads them).
* A number hears the Indonesian number words and fillers
  (:func:`ivr.language.number_words.parse_number_words` reads them); the answer is its
  digits, with a decimal comma only where the node allows one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from ivr.language.number_words import (
    FILLER_WORDS,
    NO_WORDS,
    NUMBER_VOCABULARY,
    POLITE_WORDS,
    UNKNOWN_TOKEN,
    YES_WORDS,
    parse_number_words,
    parse_yes_no,
)

InputKind = Literal["menu", "yes_no", "digits"]

#: What callers add around a menu choice without changing it ("gangguan pak").
_NOISE_WORDS: Final = FILLER_WORDS | POLITE_WORDS


@dataclass(frozen=True)
class InputGrammar:
    """The phrases one input listens for."""

    kind: InputKind
    phrases: tuple[str, ...]
    #: For a menu: each value's phrases, normalised.
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def interpret(self, text: str, *, allow_decimal: bool = False) -> str | None:
        """The node's value for ``text``; see :func:`interpret`."""
        return interpret(self.kind, text, choices=self.choices, allow_decimal=allow_decimal)


def _normalise(text: str) -> list[str]:
    """Lower-cased words, punctuation a space (``[unk]`` is kept whole)."""
    return re.sub(r"[^\w\s\[\]]|_", " ", text.lower()).split()


def menu_grammar(choices: Mapping[str, Sequence[str]]) -> InputGrammar:
    """A menu: ``{value: [phrase, ...]}``, e.g. ``{"1": ["gangguan", "listrik padam"]}``.

    Raises ValueError for a value without phrases or a phrase given to two values.
    """
    owner: dict[str, str] = {}
    normalised: dict[str, tuple[str, ...]] = {}
    for value, phrases in choices.items():
        kept = tuple(dict.fromkeys(" ".join(_normalise(phrase)) for phrase in phrases))
        kept = tuple(phrase for phrase in kept if phrase)
        if not kept:
            raise ValueError(f"menu value {value!r} has no phrase to say")
        for phrase in kept:
            if owner.setdefault(phrase, value) != value:
                raise ValueError(f"{phrase!r} is said for both {owner[phrase]!r} and {value!r}")
        normalised[value] = kept
    phrases = (*owner, *sorted(_NOISE_WORDS))
    return InputGrammar("menu", phrases, normalised)


def yes_no_grammar() -> InputGrammar:
    """Yes or no, with "tidak benar" and the like, and "pak" / "bu" around them."""
    words = YES_WORDS | NO_WORDS | _NOISE_WORDS
    return InputGrammar("yes_no", tuple(sorted(words)))


def digits_grammar() -> InputGrammar:
    """Digits and composed numbers in Indonesian words, and hesitations."""
    return InputGrammar("digits", NUMBER_VOCABULARY)


def interpret(
    kind: InputKind,
    text: str,
    *,
    choices: Mapping[str, Sequence[str]] | None = None,
    allow_decimal: bool = False,
) -> str | None:
    """The value ``text`` means at an input of ``kind``, or ``None`` for a nomatch.

    ``choices`` (a menu's ``{value: phrases}``) is needed for a menu. A number is its
    digits (``"0812"``); with ``allow_decimal`` it may have one decimal comma.
    """
    if kind == "yes_no":
        return parse_yes_no(text)
    if kind == "digits":
        number = parse_number_words(text)
        if number is None or ("," in number and not allow_decimal):
            return None
        return number
    if choices is None:
        raise ValueError("a menu's text is interpreted against its choices")
    return _menu_value(_normalise(text), choices)


def _menu_value(words: list[str], choices: Mapping[str, Sequence[str]]) -> str | None:
    """The one value whose phrases, one after another, make up ``words``.

    Fillers and forms of address between phrases are skipped; any other word, the
    unknown token, or phrases of two values make no answer.
    """
    if UNKNOWN_TOKEN in words:
        return None
    phrases = [
        (value, words_of)
        for value, value_phrases in choices.items()
        for words_of in (_normalise(phrase) for phrase in value_phrases)
        if words_of
    ]
    # reach[i]: each set of values whose phrases can make up words[:i].
    reach: list[set[frozenset[str]]] = [set() for _ in range(len(words) + 1)]
    reach[0].add(frozenset())
    for index in range(len(words)):
        for values in reach[index]:
            if words[index] in _NOISE_WORDS:
                reach[index + 1].add(values)
            for value, phrase in phrases:
                if words[index : index + len(phrase)] == phrase:
                    reach[index + len(phrase)].add(values | {value})
    answers = {value for values in reach[len(words)] if len(values) == 1 for value in values}
    return answers.pop() if len(answers) == 1 else None
