"""Speech grammars per input and what the recognised text means (text only, no model)."""

from __future__ import annotations

import pytest

from ivr.language.grammars import (
    digits_grammar,
    interpret,
    menu_grammar,
    yes_no_grammar,
)
from ivr.language.number_words import (
    FILLER_WORDS,
    NO_WORDS,
    NUMBER_VOCABULARY,
    POLITE_WORDS,
    YES_WORDS,
)

MENU = {
    "1": ["gangguan", "listrik padam", "padam"],
    "2": ["status laporan", "status"],
    "3": ["tagihan"],
}


# --- grammars -----------------------------------------------------------------------------


def test_menu_grammar_lists_every_phrase_once_with_fillers_and_address() -> None:
    grammar = menu_grammar(MENU)
    assert grammar.kind == "menu"
    assert grammar.phrases[:6] == (
        "gangguan",
        "listrik padam",
        "padam",
        "status laporan",
        "status",
        "tagihan",
    )
    assert set(grammar.phrases[6:]) == FILLER_WORDS | POLITE_WORDS
    assert len(grammar.phrases) == len(set(grammar.phrases))


def test_menu_grammar_normalises_phrases() -> None:
    grammar = menu_grammar({"1": ["  Listrik   PADAM ", "listrik padam"]})
    assert grammar.choices == {"1": ("listrik padam",)}


@pytest.mark.parametrize(
    "choices",
    [
        {"1": []},
        {"1": ["  "]},
        {"1": ["gangguan"], "2": ["Gangguan"]},
    ],
)
def test_menu_grammar_refuses_empty_or_shared_phrases(choices: dict[str, list[str]]) -> None:
    with pytest.raises(ValueError):
        menu_grammar(choices)


def test_yes_no_grammar_has_the_answer_words_negations_and_address() -> None:
    phrases = set(yes_no_grammar().phrases)
    assert phrases >= YES_WORDS | NO_WORDS
    assert {"pak", "bu", "eh"} <= phrases


def test_digits_grammar_is_the_number_vocabulary() -> None:
    grammar = digits_grammar()
    assert grammar.phrases == NUMBER_VOCABULARY
    assert {"nol", "sembilan", "belas", "ratus", "ribu", "koma", "eh"} <= set(grammar.phrases)


# --- menu ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("gangguan", "1"),
        ("listrik padam", "1"),
        ("Listrik padam, pak", "1"),
        ("eh gangguan", "1"),
        ("padam padam", "1"),
        ("gangguan listrik padam", "1"),
        ("status laporan", "2"),
        ("status", "2"),
        ("tagihan bu", "3"),
    ],
)
def test_menu_answer(text: str, value: str) -> None:
    assert interpret("menu", text, choices=MENU) == value
    assert menu_grammar(MENU).interpret(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "eh",
        "pak",
        "[unk]",
        "gangguan [unk]",
        "listrik",  # half a phrase
        "gangguan tagihan",  # two choices
        "status tagihan",
        "laporan",
        "gangguan tidak",
    ],
)
def test_menu_nomatch(text: str) -> None:
    assert interpret("menu", text, choices=MENU) is None


def test_menu_answer_when_one_reading_is_one_choice() -> None:
    # "listrik padam" is choice 1 as a whole; "listrik" alone belongs to 2.
    choices = {"1": ["listrik padam"], "2": ["listrik"]}
    assert interpret("menu", "listrik padam", choices=choices) == "1"
    assert interpret("menu", "listrik", choices=choices) == "2"


def test_menu_text_needs_the_choices() -> None:
    with pytest.raises(ValueError):
        interpret("menu", "gangguan")


# --- yes / no -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ya", "ya"),
        ("iya pak", "ya"),
        ("betul", "ya"),
        ("ya ya", "ya"),
        ("tidak", "tidak"),
        ("nggak bu", "tidak"),
        ("tidak benar", "tidak"),
        ("eh belum", "tidak"),
    ],
)
def test_yes_no_answer(text: str, value: str) -> None:
    assert interpret("yes_no", text) == value
    assert yes_no_grammar().interpret(text) == value


@pytest.mark.parametrize("text", ["", "ya tidak", "tidak salah", "[unk]", "tagihan"])
def test_yes_no_nomatch(text: str) -> None:
    assert interpret("yes_no", text) is None


# --- digits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("nol delapan satu dua", "0812"),
        ("lima tiga dua satu satu dua", "532112"),
        ("dua belas tiga empat", "1234"),
        ("seratus dua puluh tiga", "123"),
        ("eh lima, kosong", "50"),
    ],
)
def test_digits_answer(text: str, value: str) -> None:
    assert interpret("digits", text) == value
    assert digits_grammar().interpret(text) == value


@pytest.mark.parametrize("text", ["", "ribu", "satu [unk] dua", "ya", "lima ribu lima ribu"])
def test_digits_nomatch(text: str) -> None:
    assert interpret("digits", text) is None


def test_a_decimal_only_where_the_node_allows_it() -> None:
    text = "dua ratus dua puluh koma lima"
    assert interpret("digits", text) is None
    assert interpret("digits", text, allow_decimal=True) == "220,5"
