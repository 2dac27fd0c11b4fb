"""The queue a transfer fills in from call variables must be a queue name: a value
from the AGI request's arguments is not trusted blindly."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import cast

import pytest

from ivr.engine.context import CallContext
from ivr.steps.transfer import queue_name

CTX = cast(CallContext, SimpleNamespace(call_id="c1", default_queue="umum"))


@pytest.mark.parametrize("name", ["periksa", "tambah_daya", "pln_mobile", "umum2"])
def test_a_queue_name_is_kept(name: str) -> None:
    assert queue_name(CTX, name) == name


@pytest.mark.parametrize(
    "filled", ["'; DROP TABLE calls; --", "umum,,,,1", "Umum", "x" * 41, "a b", "${EXTEN}"]
)
def test_anything_else_queues_to_the_default_with_a_warning(
    filled: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert queue_name(CTX, filled) == "umum"
    assert "is no queue name" in caplog.text


def test_an_empty_queue_is_the_default_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert queue_name(CTX, "") == "umum"
    assert not caplog.records
