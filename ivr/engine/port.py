"""The call contract: what the engine needs from a call, whatever carries it.

The AGI channel, the simulator and the speech listener are adapters over this module;
the engine imports none of them. Here are the port the steps drive, the segments a
prompt is made of, a speech turn, the one exception for a call that is gone, the
names of the call events, and how a call ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ivr.engine.model import InputNode
from ivr.language.grammars import InputGrammar


class CallerHungUp(Exception):
    """The call is gone: caller hangup, dead channel or lost connection. Every adapter
    raises this (or a subclass of it), so the engine has one thing to catch."""


class PortFailed(Exception):
    """The telephony side refused or failed an operation on a live call (Asterisk
    answered a command with an error): not a fault of the IVR. The engine hands the
    caller to a CSO and logs a warning, not an error with a traceback."""


class Outcome(StrEnum):
    """How a call ended."""

    REPORT_CREATED = "report_created"
    QUEUED = "queued"
    CLOSED = "closed"
    HANGUP = "hangup"


#: Names of the call events a port announces (AMI UserEvents over Asterisk).
EVENT_CALL_START = "PLN123CallStart"
EVENT_LISTEN = "PLN123Listen"
EVENT_CALL_END = "PLN123CallEnd"


@dataclass(frozen=True, slots=True)
class Audio:
    """A catalogue prompt: its text, and the sound Asterisk plays (None: no audio yet).

    ``dynamic``: the text was filled from call variables (a name, an address), so its
    audio is spoken at run time from ``text``.
    """

    prompt_id: str
    text: str
    sound: str | None
    dynamic: bool = False


@dataclass(frozen=True, slots=True)
class Digits:
    """A value spoken digit by digit (in groups of ``group``, when not 0)."""

    digits: str
    group: int = 0


@dataclass(frozen=True, slots=True)
class Number:
    """A value spoken as a number."""

    number: int


Segment = Audio | Digits | Number


@dataclass(frozen=True, slots=True)
class SpeechTurn:
    """One listening window with speech: the key pressed (a key wins), or the words
    heard (``confident`` False: heard, but below the confidence floor), or neither
    (silence)."""

    key: str | None = None
    text: str | None = None
    confident: bool = True
    #: Keys that followed the first one before the window closed.
    more_keys: str = ""


class CallPort(Protocol):
    """The call, as the engine drives it."""

    async def play(self, segments: Sequence[Segment], escape: str) -> str | None:
        """Play segments in order; the first escape key pressed stops them and is returned."""

    async def wait_digit(self, timeout: float) -> str | None:
        """The next key within ``timeout`` seconds, or None."""

    async def read_keys(self, timeout: float, max_keys: int) -> str:
        """The keys pressed next, each within ``timeout`` seconds of the one before,
        until ``#`` (not returned) or ``max_keys`` keys; "" when none came in time.

        The channel gathers them by itself, in one operation: a key pressed while the
        IVR is busy between two operations is not lost (Asterisk drops keys that
        arrive between AGI commands, and a loaded IVR takes longer than the caller's
        gap between keys)."""

    async def listen_speech(
        self, segments: Sequence[Segment], grammar: InputGrammar, timeout: float
    ) -> SpeechTurn | None:
        """Play the prompt while listening for speech and keys at once, until a key, an
        answer, or ``timeout`` seconds of silence after the prompt; None when this call
        cannot take speech (no model, or the audio path failed): listen for keys."""

    async def listening(self, flow: str, node: InputNode, ask: str, attempt: int) -> None:
        """The IVR starts listening for ``ask`` (announced before the prompt plays)."""

    async def event(self, name: str, fields: dict[str, str]) -> None:
        """Announce a call event (start, end) to whoever watches."""

    async def hand_over(self, queue: str, pop_id: str) -> None:
        """Tell the dialplan to queue the call once the IVR lets go."""

    async def finish(self) -> None:
        """End the call."""


# --- run-time speech handed to a port that carries real audio ---------------------------


class RuntimeVoice(Protocol):
    """Segments spoken at run time (text to speech), for a port that plays sound files."""

    async def sound_for(self, segment: Segment, call_id: str) -> str | None:
        """The sound name to play for ``segment`` spoken at run time; None when it has
        nothing to speak, or speaking it failed (a warning for ``call_id``): the call
        goes on without that part."""


class StartAudio(Protocol):
    """Opens the call's audio to the speech side: runs Asterisk's ``AudioSocket``
    application on the call with ``argument`` (``<uuid>,<host:port>``) and returns once
    the application has ended. Raises :class:`CallerHungUp` when the call is gone."""

    async def __call__(self, argument: str, /) -> None:
        """Run ``AudioSocket(<argument>)`` on the call until it returns."""


class SpeechTurns(Protocol):
    """Listening windows with speech, for a port that can stream the call's audio."""

    async def turn(
        self,
        start_audio: StartAudio,
        segments: Sequence[Segment],
        grammar: InputGrammar,
        timeout: float,
    ) -> SpeechTurn | None:
        """One window of :meth:`CallPort.listen_speech`, its audio opened by
        ``start_audio``; None when the audio path failed (keys only). Raises
        :class:`CallerHungUp` when the call ended meanwhile, and :class:`TimeoutError`
        when ``start_audio`` did not return after the window closed."""
