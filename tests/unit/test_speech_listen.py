"""Inputs that listen for speech: words become values, a key wins, silence and words
that mean nothing are a noinput and a nomatch, later attempts take keys only. Over a
simulated port whose speech turns are scripted (the audio path is tested end to end in
tests/e2e/test_speech.py)."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Sequence
from pathlib import Path

from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.context import CallContext
from ivr.engine.interpreter import run_call
from ivr.engine.library import FlowLibrary
from ivr.engine.loader import parse_flow_text
from ivr.engine.model import InputNode
from ivr.engine.port import Audio, Segment, SpeechTurn
from ivr.kit import KIT
from ivr.language.grammars import InputGrammar
from ivr.prompts.catalogue import PromptCatalogue, PromptEntry
from ivr.sim.port import SimPort
from ivr.steps.registry import KINDS
from ivr.store.calls import CallStore

FLOW = """\
    flow: main
    start: kondisi
    defaults:
      max_attempts: 3
      noinput: [[p_again]]
      nomatch: [[p_wrong]]
    nodes:
      kondisi:
        kind: menu
        ask: power_state
        prompt: [p_power]
        choices:
          1: {value: padam, next: idpel, words: [padam, mati]}
          2: {value: menyala, next: idpel, words: [menyala, nyala]}
      idpel:
        kind: collect
        ask: idpel
        prompt: [p_idpel]
        min_length: 11
        max_length: 12
        next: selesai
      selesai: {kind: hangup}
"""
PROMPTS = {
    "p_power": "Padam atau menyala? Tekan 1 atau 2.",
    "p_power_ucapan": "Sebutkan padam atau menyala, atau tekan 1 atau 2.",
    "p_idpel": "Tekan ID pelanggan.",
    "p_again": "Maaf.",
    "p_wrong": "Maaf, salah.",
}


class SpeakingCaller(SimPort):
    """Answers speech turns from a script (one turn per listening window) and keys at
    the key-only attempts; records what each window played."""

    def __init__(self, turns: dict[str, list[SpeechTurn]], keys: dict[str, list[str]]) -> None:
        self.turns = {ask: list(script) for ask, script in turns.items()}
        self.keys_by_ask = {ask: list(script) for ask, script in keys.items()}
        self.windows: list[tuple[str, list[str]]] = []
        self.key_attempts: list[tuple[str, int]] = []
        self._ask = ""
        super().__init__(self._answer)

    async def _answer(self, flow: str, node: InputNode, ask: str, attempt: int) -> str:
        self.key_attempts.append((ask, attempt))
        script = self.keys_by_ask.get(ask, [])
        return script.pop(0) if script else ""

    async def listening(self, flow: str, node: InputNode, ask: str, attempt: int) -> None:
        self._ask = ask
        await super().listening(flow, node, ask, attempt)

    async def listen_speech(
        self, segments: Sequence[Segment], grammar: InputGrammar, timeout: float
    ) -> SpeechTurn | None:
        played = [s.prompt_id for s in segments if isinstance(s, Audio)]
        self.windows.append((self._ask, played))
        script = self.turns.get(self._ask, [])
        return script.pop(0) if script else SpeechTurn()


async def call(tmp_path: Path, port: SpeakingCaller, attempts: int = 2) -> CallContext:
    loaded = parse_flow_text(textwrap.dedent(FLOW), Path("main.yaml"), KINDS)
    catalogue = PromptCatalogue({p: PromptEntry(p, text, None) for p, text in PROMPTS.items()})
    library = FlowLibrary({"main": loaded}, catalogue, KIT)
    model = tmp_path / "model"
    settings = Settings(
        db_path=tmp_path / "calls.sqlite3",
        speech={"model_path": model, "attempts": attempts},  # type: ignore[arg-type]
    )
    store = CallStore(settings.db_path)
    ctx = await open_call(settings, library, store, port, "main", "081234567890")
    await run_call(ctx)
    store.close()
    return ctx


def vias(tmp_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(tmp_path / "calls.sqlite3") as db:
        return [
            tuple(row) for row in db.execute("SELECT ask, value, via FROM answers ORDER BY seq")
        ]


async def test_words_become_the_answer(tmp_path: Path) -> None:
    port = SpeakingCaller(
        {
            "power_state": [SpeechTurn(text="mati pak")],
            "idpel": [
                SpeechTurn(text="lima tiga dua satu satu dua tiga empat lima enam tujuh delapan")
            ],
        },
        {},
    )
    ctx = await call(tmp_path, port)
    assert ctx.variables["power_state"] == "padam"
    assert ctx.variables["idpel"] == "532112345678"
    assert ctx.variables["ucapan.power_state"] == "mati pak"
    assert vias(tmp_path) == [
        ("power_state", "padam", "speech"),
        ("idpel", "532112345678", "speech"),
    ]
    # The speech window plays the "sebutkan" variant of the prompt.
    assert port.windows[0] == ("power_state", ["p_power_ucapan"])


async def test_a_key_wins_over_speech(tmp_path: Path) -> None:
    port = SpeakingCaller({"power_state": [SpeechTurn(key="2")]}, {"idpel": ["14212345678#"]})
    ctx = await call(tmp_path, port, attempts=1)
    assert ctx.variables["power_state"] == "menyala"
    assert vias(tmp_path)[0] == ("power_state", "menyala", "dtmf")


async def test_unclear_words_and_silence_reprompt_then_keys_only(tmp_path: Path) -> None:
    port = SpeakingCaller(
        {"power_state": [SpeechTurn(text="tagihan"), SpeechTurn()]},
        {"power_state": ["1"], "idpel": ["14212345678#"]},
    )
    ctx = await call(tmp_path, port, attempts=2)
    # Attempt 1 heard a word no choice has (nomatch), attempt 2 silence (noinput);
    # attempt 3 takes keys only, with the plain prompt.
    assert [ask for ask, _ in port.windows] == ["power_state", "power_state", "idpel", "idpel"]
    assert port.windows[1][1] == ["p_wrong", "p_power_ucapan"]
    assert ("power_state", 3) in port.key_attempts
    assert ctx.variables["power_state"] == "padam"
    assert ctx.path[0] == "kondisi"


async def test_a_spoken_number_of_the_wrong_length_is_a_nomatch(tmp_path: Path) -> None:
    port = SpeakingCaller(
        {"power_state": [SpeechTurn(text="padam")], "idpel": [SpeechTurn(text="lima tiga dua")]},
        {"idpel": ["532112345678"]},
    )
    ctx = await call(tmp_path, port, attempts=1)
    assert ctx.variables["idpel"] == "532112345678"
    assert vias(tmp_path)[1] == ("idpel", "532112345678", "dtmf")


async def test_low_confidence_is_a_nomatch(tmp_path: Path) -> None:
    port = SpeakingCaller(
        {"power_state": [SpeechTurn(text="padam", confident=False)]},
        {"power_state": ["2"], "idpel": ["14212345678#"]},
    )
    ctx = await call(tmp_path, port, attempts=1)
    assert ctx.variables["power_state"] == "menyala"


async def test_without_a_model_inputs_take_keys_only(tmp_path: Path) -> None:
    port = SpeakingCaller({}, {"power_state": ["1"], "idpel": ["14212345678#"]})
    settings_off = Settings(db_path=tmp_path / "calls.sqlite3")
    assert settings_off.speech.model_path is None
    loaded = parse_flow_text(textwrap.dedent(FLOW), Path("main.yaml"), KINDS)
    catalogue = PromptCatalogue({p: PromptEntry(p, text, None) for p, text in PROMPTS.items()})
    store = CallStore(settings_off.db_path)
    ctx = await open_call(
        settings_off, FlowLibrary({"main": loaded}, catalogue, KIT), store, port, "main", "0812"
    )
    await run_call(ctx)
    store.close()
    assert port.windows == []
    assert ctx.variables["power_state"] == "padam"


async def test_values_are_prepared_for_indonesian_speech(tmp_path: Path) -> None:
    from ivr.engine.model import SayDigits, SayNumber
    from ivr.engine.port import Digits

    loaded = parse_flow_text(textwrap.dedent(FLOW), Path("main.yaml"), KINDS)
    catalogue = PromptCatalogue({p: PromptEntry(p, text, None) for p, text in PROMPTS.items()})
    store = CallStore(tmp_path / "calls.sqlite3")
    ctx = await open_call(
        Settings(db_path=tmp_path / "calls.sqlite3"),
        FlowLibrary({"main": loaded}, catalogue, KIT),
        store,
        SpeakingCaller({}, {}),
        "main",
        "0812",
    )
    store.close()
    ctx.variables.update({"nomor": "2503100000123", "nilai": "220,5"})
    digits, number = ctx.render([SayDigits(digits="{nomor}", group=4), SayNumber(number="{nilai}")])
    assert digits == Digits("2503100000123", 4)
    assert isinstance(number, Audio) and number.dynamic
    assert number.text == "dua ratus dua puluh koma lima"
    assert [s.prompt_id for s in ctx.render(["p_power"], spoken=True)] == ["p_power_ucapan"]
    assert [s.prompt_id for s in ctx.render(["p_idpel"], spoken=True)] == ["p_idpel"]


async def test_keys_after_the_first_one_are_kept(tmp_path: Path) -> None:
    """The caller keys the IDPEL while the IVR listens for speech: the first key ends the
    window, the keys that reached it before it closed go on to the input."""
    port = SpeakingCaller(
        {
            "power_state": [SpeechTurn(text="padam")],
            "idpel": [SpeechTurn(key="5", more_keys="3211234")],
        },
        {"idpel": ["5678"]},
    )
    ctx = await call(tmp_path, port)
    assert ctx.variables["idpel"] == "532112345678"
