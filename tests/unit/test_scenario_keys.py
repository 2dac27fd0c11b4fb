"""Scenario answers turned into the keys a caller presses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr.engine.loader import load_flow_file
from ivr.steps.collect import CollectNode
from ivr.steps.menu import MenuNode
from ivr.steps.registry import KINDS
from ivr.tools.scenario.keys import AnswerError, keys_for

REPO = Path(__file__).resolve().parents[2]


def menu(**extra: Any) -> MenuNode:
    return MenuNode.model_validate(
        {
            "kind": "menu",
            "id": "menu",
            "ask": "menu",
            "prompt": ["menu_utama"],
            "choices": {
                "1": {"value": "periksa", "next": "idpel"},
                "2": {"value": "status", "next": "cso"},
                "9": {"value": "selesai", "next": "penutup"},
            },
            **extra,
        }
    )


def collect(**extra: Any) -> CollectNode:
    return CollectNode.model_validate(
        {
            "kind": "collect",
            "id": "idpel",
            "ask": "idpel",
            "prompt": ["minta_idpel"],
            "min_length": 11,
            "max_length": 12,
            "next": "lanjut",
            **extra,
        }
    )


# --- menus ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "keys"), [("periksa", "1"), ("status", "2"), ("selesai", "9")])
def test_menu_value_to_its_key(value: str, keys: str) -> None:
    assert keys_for(menu(), "menu", value) == keys


@pytest.mark.parametrize("key", ["1", "2", "9"])
def test_menu_key_given_as_is(key: str) -> None:
    assert keys_for(menu(), "menu", key) == key


@pytest.mark.parametrize("raw", ["5", "*", "#", "55", "3#", "0"])
def test_menu_raw_keys_pass_through(raw: str) -> None:
    """How a scenario presses a wrong key (or the CSO key) on purpose."""
    assert keys_for(menu(), "menu", raw) == raw


def test_menu_cso_is_the_cso_key() -> None:
    assert keys_for(menu(), "menu", "cso") == "0"


def test_menu_value_wins_over_key_text() -> None:
    node = MenuNode.model_validate(
        {
            "kind": "menu",
            "id": "m",
            "ask": "m",
            "prompt": ["p"],
            "choices": {"1": {"value": "2", "next": "a"}, "2": {"value": "x", "next": "b"}},
        }
    )
    # "2" is choice 1's value before it is choice 2's key: first match in key order.
    assert keys_for(node, "m", "2") == "1"


@pytest.mark.parametrize("value", ["bayar", "", "periksa!", "1a", "Periksa"])
def test_menu_unknown_value(value: str) -> None:
    with pytest.raises(AnswerError) as caught:
        keys_for(menu(), "menu", value)
    assert str(caught.value) == (f"ask 'menu': {value!r} is not one of: periksa, status, selesai")
    assert isinstance(caught.value, ValueError)


def test_menu_cso_follows_the_node_cso_key() -> None:
    assert keys_for(menu(cso_key="#"), "menu", "cso") == "#"


def test_main_flow_menu() -> None:
    flow = load_flow_file(REPO / "flows" / "main.yaml", KINDS).flow
    node = flow.nodes["menu"]
    assert isinstance(node, MenuNode)
    for key, choice in node.choices.items():
        assert keys_for(node, "menu", choice.value) == key


# --- collect ----------------------------------------------------------------------------


def test_collect_shorter_than_max_gets_the_terminator() -> None:
    assert keys_for(collect(), "idpel", "14123456789") == "14123456789#"


def test_collect_at_max_length_needs_no_terminator() -> None:
    assert keys_for(collect(), "idpel", "512345678901") == "512345678901"


def test_collect_already_terminated_is_kept() -> None:
    assert keys_for(collect(), "idpel", "14123456789#") == "14123456789#"


def test_collect_other_terminator() -> None:
    node = collect(terminator="*")
    assert keys_for(node, "idpel", "123") == "123*"
    assert keys_for(node, "idpel", "123*") == "123*"


def test_collect_too_long_is_pressed_as_is() -> None:
    """A scenario may type too many digits on purpose."""
    assert keys_for(collect(), "idpel", "5123456789012") == "5123456789012"


def test_collect_short_value_on_purpose() -> None:
    assert keys_for(collect(), "idpel", "123") == "123#"


@pytest.mark.parametrize("value", ["abc", "12-34"])
def test_collect_value_that_is_not_keys(value: str) -> None:
    with pytest.raises(AnswerError):
        keys_for(collect(), "idpel", value)


# --- confirm: the read-back question is a yes/no menu --------------------------------------


def confirming(**confirm: Any) -> CollectNode:
    return collect(confirm={"prompt": ["konfirmasi_idpel"], **confirm})


def test_confirm_default_ask() -> None:
    node = confirming()
    assert keys_for(node, "idpel_konfirmasi", "ya") == "1"
    assert keys_for(node, "idpel_konfirmasi", "tidak") == "2"
    assert keys_for(node, "idpel_konfirmasi", "cso") == "0"
    assert keys_for(node, "idpel_konfirmasi", "3") == "3"


def test_confirm_named_ask() -> None:
    node = confirming(ask="benar")
    assert keys_for(node, "benar", "ya") == "1"
    assert keys_for(node, "benar", "tidak") == "2"


def test_confirm_node_still_takes_digits_for_its_own_ask() -> None:
    node = confirming()
    assert keys_for(node, "idpel", "512345678901") == "512345678901"
    assert keys_for(node, "idpel", "14123456789") == "14123456789#"


def test_confirm_unknown_answer() -> None:
    with pytest.raises(AnswerError) as caught:
        keys_for(confirming(), "idpel_konfirmasi", "mungkin")
    assert str(caught.value) == "ask 'idpel_konfirmasi': 'mungkin' is not one of: ya, tidak"


# --- nodes that take no answer ------------------------------------------------------------


def test_node_that_takes_no_answers() -> None:
    from ivr.engine.model import InputNode

    node = InputNode.model_validate({"kind": "input", "id": "x", "ask": "x", "prompt": ["p"]})
    with pytest.raises(AnswerError, match="ask 'x': node 'x' takes no answers"):
        keys_for(node, "x", "1")
