"""Per-call state: variables, the path taken, the answers, keys typed ahead."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from ivr.backends.ports import Backends
from ivr.engine.journey import CallWatcher, Journey
from ivr.engine.kit import HandOver
from ivr.engine.loader import LoadedFlow
from ivr.engine.model import PromptPart, SayDigits, SayNumber
from ivr.engine.port import Audio, CallPort, Digits, Number, Segment
from ivr.language.number_words import to_words
from ivr.prompts.catalogue import PromptCatalogue, fill
from ivr.store.calls import CallStore

TableT = TypeVar("TableT", bound=BaseModel)

Action = Callable[["CallContext", Mapping[str, Any]], Awaitable[str]]
#: The call's clock: an aware datetime (the simulator and scenarios pass a fixed one).
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class CallContext:
    """Everything one call's steps share."""

    call_id: str
    flow_name: str
    port: CallPort
    store: CallStore
    flows: Mapping[str, LoadedFlow]
    catalogue: PromptCatalogue
    actions: Mapping[str, Action]
    #: How the call is handed to a CSO queue when the IVR itself fails.
    hand_over: HandOver
    #: PLN's systems (None in flows that need none; an action then fails to a CSO).
    backends: Backends | None = None
    sounds_prefix: str = "pln123"
    default_queue: str = "umum"
    action_timeout: float = 5.0
    default_timezone: str = "Asia/Jakarta"
    #: Local hour each greeting period starts (``pagi``, ``siang``, ``sore``, ``malam``).
    greeting_hours: dict[str, int] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    asks: list[str] = field(default_factory=list)
    #: Answers in the order given: ``{"ask": ..., "value": ...}``.
    answers: list[dict[str, str]] = field(default_factory=list)
    #: Keys pressed while a prompt played, kept for the next input.
    typeahead: deque[str] = field(default_factory=deque)
    #: A terminator to drop if it is the next key: the caller pressed ``#`` after an
    #: input that had already ended at its maximum length.
    swallow_key: str | None = None
    queue: str | None = None
    #: Attempts of each input that listen for speech (0: keys only).
    speech_attempts: int = 0
    #: The flows' data tables by name (``flows/data/<name>.yaml``).
    tables: Mapping[str, BaseModel] = field(default_factory=dict)
    #: The nodes passed so far and how each was left (what ops count).
    journey: Journey = field(default_factory=Journey)
    #: Follows the call live (the Prometheus metrics); None: nothing does.
    watcher: CallWatcher | None = None
    #: What "now" is for this call (greeting, queue opening hours): the real clock,
    #: or a fixed moment when a scenario runs a call "at" a given time.
    clock: Clock = utc_now

    def now(self) -> datetime:
        """The call's current moment, an aware datetime."""
        return self.clock()

    def table(self, name: str, model: type[TableT]) -> TableT:
        """The data table ``name``; :class:`LookupError` when it is missing or not a
        ``model`` (the action fails, and the caller goes to a CSO)."""
        table = self.tables.get(name)
        if not isinstance(table, model):
            raise LookupError(f"data table {name!r} is missing: add flows/data/{name}.yaml")
        return table

    def render(self, prompt: list[PromptPart], spoken: bool = False) -> list[Segment]:
        """A flow's prompt parts as segments to play, variables filled in.

        ``spoken``: the caller may also answer by voice now, so a prompt that has a
        variant ``<id>_ucapan`` in the catalogue ("sebutkan atau tekan ...") plays that.
        """
        segments: list[Segment] = []
        for part in prompt:
            if isinstance(part, SayDigits):
                digits = "".join(ch for ch in fill(part.digits, self.variables) if ch.isdigit())
                if digits:
                    segments.append(Digits(digits, part.group))
            elif isinstance(part, SayNumber):
                text = fill(part.number, self.variables)
                if text.lstrip("-").isdigit():
                    segments.append(Number(int(text)))
                elif DECIMAL.fullmatch(text):
                    # "220,5": only the run-time TTS says a decimal ("koma lima").
                    segments.append(Audio("angka", to_words(text), None, dynamic=True))
            else:
                prompt_id = fill(part, self.variables)
                if spoken and self.catalogue.get(prompt_id + SPOKEN_SUFFIX) is not None:
                    prompt_id += SPOKEN_SUFFIX
                entry = self.catalogue.get(prompt_id)
                text = fill(entry.text, self.variables) if entry else ""
                sound = entry.sound if entry is not None else None
                dynamic = entry is not None and sound is None and "{" in entry.text
                segments.append(
                    Audio(
                        prompt_id,
                        text,
                        f"{self.sounds_prefix}/{sound}" if sound else None,
                        dynamic,
                    )
                )
        return segments

    async def play(self, prompt: list[PromptPart], barge_in: bool = True) -> None:
        """Play a prompt; a key pressed meanwhile is kept for the next input."""
        segments = self.render(prompt)
        if not segments:
            return
        key = await self.port.play(segments, ALL_KEYS if barge_in else "")
        if key is not None:
            self.typeahead.append(key)

    async def record_answer(self, node: str, ask: str, value: str, via: str = "dtmf") -> None:
        """Keep an answer on disk before the call goes on."""
        self.answers.append({"ask": ask, "value": value})
        await self.store.record_answer(self.call_id, len(self.answers) - 1, node, ask, value, via)


ALL_KEYS = "0123456789*#"
#: A number with the Indonesian decimal comma.
DECIMAL = re.compile(r"-?\d+,\d+")
#: Catalogue suffix of a prompt's variant for inputs that also take speech.
SPOKEN_SUFFIX = "_ucapan"
