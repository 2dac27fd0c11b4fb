"""The interpreter and the steps, over the simulated call port and a real SQLite file."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ivr.agi.errors import CallerHungUp
from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.context import CallContext
from ivr.engine.interpreter import run_call
from ivr.engine.library import FlowLibrary
from ivr.engine.loader import parse_flow_text
from ivr.engine.model import InputNode
from ivr.engine.port import Outcome
from ivr.kit import KIT
from ivr.prompts.catalogue import PromptCatalogue, PromptEntry
from ivr.sim.port import SimPort
from ivr.store.calls import CallStore

PROMPTS = ["p_menu", "p_ask", "p_bye", "p_hello", "p_again", "p_wrong", "p_wait", "p_confirm"]


def library(*texts: str) -> FlowLibrary:
    flows = {}
    for text in texts:
        loaded = parse_flow_text(textwrap.dedent(text), Path(f"{text.split()[1]}.yaml"), KIT.kinds)
        flows[loaded.flow.flow] = loaded
    catalogue = PromptCatalogue({p: PromptEntry(p, p.upper(), None) for p in PROMPTS})
    return FlowLibrary(flows, catalogue, KIT)


class Caller:
    """Presses scripted keys at each listening point; records what the IVR said."""

    def __init__(self, keys: Mapping[str, list[str]]) -> None:
        self.keys = {ask: list(presses) for ask, presses in keys.items()}
        self.heard: list[str] = []
        self.listened: list[tuple[str, int]] = []

    async def __call__(self, flow: str, node: InputNode, ask: str, attempt: int) -> str:
        self.listened.append((ask, attempt))
        presses = self.keys.get(ask, [])
        return presses.pop(0) if presses else ""


async def call(
    lib: FlowLibrary,
    caller: Caller,
    tmp_path: Path,
    actions: Mapping[str, Any] | None = None,
    typed_ahead: str = "",
) -> tuple[CallContext, Outcome, SimPort]:
    """One call over the simulated port; ``typed_ahead`` are keys pressed before the
    first input (during the greeting)."""
    settings = Settings(db_path=tmp_path / "calls.sqlite3", action_timeout=0.2)
    store = CallStore(settings.db_path)
    port = SimPort(caller, caller.heard.append)
    ctx = await open_call(settings, lib, store, port, "main", "081234567890")
    ctx.typeahead.extend(typed_ahead)
    if actions is not None:
        ctx.actions = actions
    outcome = await run_call(ctx)
    store.close()
    return ctx, outcome, port


MENU = """\
    flow: main
    start: hello
    defaults:
      noinput: [[p_again], [p_again, p_wait]]
      nomatch: [[p_wrong]]
    nodes:
      hello: {kind: play, prompt: [p_hello], next: menu}
      menu:
        kind: menu
        ask: menu
        prompt: [p_menu]
        choices:
          1: {value: satu, next: bye}
          2: {value: dua, next: id}
      id:
        kind: collect
        ask: idpel
        prompt: [p_ask]
        min_length: 11
        max_length: 12
        next: bye
      bye: {kind: hangup, prompt: [p_bye]}
"""


async def test_menu_choice_is_recorded_and_leads_on(tmp_path: Path) -> None:
    ctx, outcome, _ = await call(library(MENU), Caller({"menu": ["1"]}), tmp_path)
    assert outcome is Outcome.CLOSED
    assert ctx.path == ["hello", "menu", "bye"]
    assert ctx.variables["menu"] == "satu"


async def test_silence_escalates_then_falls_back_to_cso(tmp_path: Path) -> None:
    caller = Caller({})
    ctx, outcome, port = await call(library(MENU), caller, tmp_path)
    assert outcome is Outcome.QUEUED
    assert port.queue == "umum"
    assert ctx.path == ["hello", "menu", "cso"]
    assert caller.listened == [("menu", 1), ("menu", 2), ("menu", 3)]
    said = [line for line in caller.heard if line.startswith("IVR:")]
    assert said[1:4] == ["IVR: P_MENU", "IVR: P_AGAIN P_MENU", "IVR: P_AGAIN P_WAIT P_MENU"]


async def test_wrong_key_reprompts_with_nomatch(tmp_path: Path) -> None:
    caller = Caller({"menu": ["7", "1"]})
    _ctx, outcome, _ = await call(library(MENU), caller, tmp_path)
    assert outcome is Outcome.CLOSED
    assert "IVR: P_WRONG P_MENU" in caller.heard


async def test_zero_reaches_a_cso_and_star_repeats(tmp_path: Path) -> None:
    caller = Caller({"menu": ["*", "0"]})
    ctx, outcome, _port = await call(library(MENU), caller, tmp_path)
    assert outcome is Outcome.QUEUED
    assert ctx.path[-1] == "cso"
    assert caller.listened == [("menu", 1), ("menu", 1)]  # * is not an attempt


async def test_keys_pressed_during_a_play_are_kept(tmp_path: Path) -> None:
    """The menu's key arrives while the greeting plays: the menu takes it."""
    ctx, outcome, _ = await call(
        library(MENU), Caller({"menu": ["1"]}), tmp_path, typed_ahead="2" + "512345678901"
    )
    assert outcome is Outcome.CLOSED
    assert ctx.variables["menu"] == "dua"
    assert ctx.variables["idpel"] == "512345678901"


TWO_COLLECTS = """\
    flow: main
    start: id
    nodes:
      id:
        kind: collect
        ask: idpel
        prompt: [p_ask]
        min_length: 11
        max_length: 12
        next: again
      again:
        kind: collect
        ask: again
        prompt: [p_ask]
        next: bye
      bye: {kind: hangup, prompt: [p_bye]}
"""


async def test_collect_ends_at_max_length_and_swallows_the_hash(tmp_path: Path) -> None:
    """12 digits end the input; the '#' the caller adds must not end the next one empty."""
    caller = Caller({"idpel": ["512345678901#"], "again": ["42#"]})
    ctx, outcome, _ = await call(library(TWO_COLLECTS), caller, tmp_path)
    assert ctx.variables["idpel"] == "512345678901"
    assert ctx.variables["again"] == "42"
    assert caller.listened == [("idpel", 1), ("again", 1)]
    assert outcome is Outcome.CLOSED


class CountingPort(SimPort):
    """Counts the key operations a call makes."""

    def __init__(self, caller: Caller) -> None:
        super().__init__(caller, caller.heard.append)
        self.reads: list[int] = []
        #: Single-key waits outside :meth:`read_keys` (the simulator's gathers keys
        #: with waits of its own).
        self.waits = 0
        self._reading = False

    async def wait_digit(self, timeout: float) -> str | None:
        self.waits += not self._reading
        return await super().wait_digit(timeout)

    async def read_keys(self, timeout: float, max_keys: int) -> str:
        self.reads.append(max_keys)
        self._reading = True
        try:
            return await super().read_keys(timeout, max_keys)
        finally:
            self._reading = False


async def test_the_rest_of_a_number_is_read_in_one_operation(tmp_path: Path) -> None:
    """After the first key, the channel gathers the rest itself (one GET DATA on a real
    call): a key pressed while the IVR works between two operations is not lost."""
    caller = Caller({"idpel": ["512345678901#"], "again": ["42#"]})
    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    store = CallStore(settings.db_path)
    port = CountingPort(caller)
    ctx = await open_call(settings, library(TWO_COLLECTS), store, port, "main", "081234567890")
    assert await run_call(ctx) is Outcome.CLOSED
    store.close()
    assert ctx.variables["idpel"] == "512345678901"
    assert ctx.variables["again"] == "42"
    # 12 digits at most, the first taken: 11 more; the second input up to its own max.
    assert port.reads[0] == 11 and len(port.reads) == 2
    assert port.waits <= 3  # at most: each first key, and the '#' after 12 digits


async def test_collect_refuses_a_wrong_length(tmp_path: Path) -> None:
    caller = Caller({"menu": ["2"], "idpel": ["123#", "14123456789#"]})
    ctx, _outcome, _ = await call(library(MENU), caller, tmp_path)
    assert ctx.variables["idpel"] == "14123456789"
    assert "IVR: P_WRONG P_ASK" in caller.heard


async def test_confirm_no_asks_again(tmp_path: Path) -> None:
    flow = MENU.replace(
        "        max_length: 12\n",
        "        max_length: 12\n        confirm: {prompt: [p_confirm, {digits: '{idpel}'}]}\n",
    )
    caller = Caller(
        {"menu": ["2"], "idpel": ["512345678901", "512345678902"], "idpel_konfirmasi": ["2", "1"]}
    )
    ctx, _outcome, _ = await call(library(flow), caller, tmp_path)
    assert ctx.variables["idpel"] == "512345678902"
    assert "IVR: P_CONFIRM 5 1 2 3 4 5 6 7 8 9 0 1" in caller.heard


ACTION_FLOW = """\
    flow: main
    start: act
    nodes:
      act:
        kind: action
        action: check
        results: {ok: bye}
      bye: {kind: hangup, prompt: [p_bye]}
"""


@pytest.mark.parametrize("behaviour", ["raises", "too_slow", "unrouted"])
async def test_a_failing_action_goes_to_a_cso(behaviour: str, tmp_path: Path) -> None:
    import asyncio

    async def check(ctx: CallContext, args: Mapping[str, Any]) -> str:
        if behaviour == "raises":
            raise ConnectionError("backend down")
        if behaviour == "too_slow":
            await asyncio.sleep(5)
        return "surprise"

    ctx, outcome, _port = await call(library(ACTION_FLOW), Caller({}), tmp_path, {"check": check})
    assert outcome is Outcome.QUEUED
    assert ctx.path == ["act", "cso"]


async def test_an_action_result_picks_the_way(tmp_path: Path) -> None:
    async def check(ctx: CallContext, args: Mapping[str, Any]) -> str:
        return "ok"

    _ctx, outcome, _ = await call(library(ACTION_FLOW), Caller({}), tmp_path, {"check": check})
    assert outcome is Outcome.CLOSED


async def test_subflow_returns_and_branch_decides(tmp_path: Path) -> None:
    main = """\
        flow: main
        start: sub
        nodes:
          sub: {kind: subflow, flow: child, next: pick}
          pick:
            kind: branch
            cases:
              - when: {var: child_said, eq: "2"}
                next: bye
            default: cso
          bye: {kind: hangup}
    """
    child = """\
        flow: child
        start: q
        nodes:
          q:
            kind: menu
            ask: child_said
            prompt: [p_menu]
            choices:
              1: {value: "1", next: back}
              2: {value: "2", next: back}
          back: {kind: return}
    """
    ctx, outcome, _ = await call(library(main, child), Caller({"child_said": ["2"]}), tmp_path)
    assert ctx.path == ["sub", "child/q", "child/back", "pick", "bye"]
    assert outcome is Outcome.CLOSED


async def test_answers_survive_a_hangup(tmp_path: Path) -> None:
    """The caller hangs up after the menu: the menu answer is on disk, outcome hangup."""

    class HangsUp(Caller):
        async def __call__(self, flow: str, node: InputNode, ask: str, attempt: int) -> str:
            if ask == "idpel":
                raise CallerHungUp("gone")
            return await super().__call__(flow, node, ask, attempt)

    ctx, outcome, _ = await call(library(MENU), HangsUp({"menu": ["2"]}), tmp_path)
    assert outcome is Outcome.HANGUP
    db = sqlite3.connect(tmp_path / "calls.sqlite3")
    rows = db.execute("SELECT ask, value FROM answers WHERE call_id = ?", (ctx.call_id,)).fetchall()
    (stored_outcome,) = db.execute(
        "SELECT outcome FROM calls WHERE id = ?", (ctx.call_id,)
    ).fetchone()
    assert rows == [("menu", "dua")]
    assert stored_outcome == "hangup"


async def test_a_bug_in_the_ivr_still_hands_the_caller_to_a_cso(tmp_path: Path) -> None:
    class Broken(Caller):
        async def __call__(self, flow: str, node: InputNode, ask: str, attempt: int) -> str:
            raise RuntimeError("bug")

    _ctx, outcome, port = await call(library(MENU), Broken({}), tmp_path)
    assert outcome is Outcome.QUEUED
    assert port.queue == "umum"
