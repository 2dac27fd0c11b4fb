"""The engine's call port over a real Asterisk channel.

Run-time speech and listening windows come from outside (the speech package, wired by
:mod:`ivr.app`) as the engine's :class:`~ivr.engine.port.RuntimeVoice` and
:class:`~ivr.engine.port.SpeechTurns`; this package does not import them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ivr.agi import variables as var
from ivr.agi.channel import AgiChannel
from ivr.engine.model import InputNode
from ivr.engine.port import (
    Audio,
    Digits,
    Number,
    RuntimeVoice,
    Segment,
    SpeechTurn,
    SpeechTurns,
)
from ivr.language.grammars import InputGrammar


def _event_body(name: str, fields: dict[str, str]) -> str:
    """``UserEvent`` arguments: the name, then ``Key: value`` pairs split by commas."""
    body = ",".join([name, *(f"{key}: {value.replace(',', ' ')}" for key, value in fields.items())])
    if "\n" in body:
        body = body.replace("\n", " ")
    return body


class AgiPort:
    """Plays, listens and hands over through AGI commands."""

    def __init__(
        self,
        channel: AgiChannel,
        call_id: str,
        listen_events: bool = True,
        max_prompt_seconds: float = 180.0,
        voice: RuntimeVoice | None = None,
        speech: SpeechTurns | None = None,
    ) -> None:
        self._channel = channel
        self._call_id = call_id
        self._listen_events = listen_events
        self._max_prompt = max_prompt_seconds
        #: Run-time speech for prompts filled from call variables, digits and numbers
        #: (None: Asterisk's own voice for digits and numbers, nothing for the rest).
        self._voice = voice
        #: Listening windows with speech (None: keys only).
        self._speech = speech

    async def play(self, segments: Sequence[Segment], escape: str) -> str | None:
        """Each segment in turn; a key stops the rest and is returned."""
        for segment in segments:
            sound = segment.sound if isinstance(segment, Audio) else None
            if sound is None:
                sound = await self._spoken(segment)
            if sound is not None:
                key = (await self._channel.stream_file(sound, escape, self._max_prompt)).key
            elif isinstance(segment, Digits):  # Asterisk's own voice (its sound language)
                key = await self._channel.say_digits(segment.digits, escape)
            elif isinstance(segment, Number):
                key = await self._channel.say_number(segment.number, escape)
            else:
                continue  # no audio: the text is in the catalogue only
            if key is not None:
                return key
        return None

    async def _spoken(self, segment: Segment) -> str | None:
        """The segment spoken in Indonesian at run time: its sound name, or None (no TTS
        here, nothing to say, or it failed: the call goes on without it)."""
        if self._voice is None:
            return None
        return await self._voice.sound_for(segment, self._call_id)

    async def listen_speech(
        self, segments: Sequence[Segment], grammar: InputGrammar, timeout: float
    ) -> SpeechTurn | None:
        """Play and listen for speech and keys over AudioSocket (None: keys only)."""
        if self._speech is None:
            return None
        return await self._speech.turn(self._audiosocket, segments, grammar, timeout)

    async def _audiosocket(self, argument: str) -> None:
        """Run Asterisk's AudioSocket application on the call (a listening window's
        audio path) until it returns."""
        await self._channel.exec("AudioSocket", argument)

    async def wait_digit(self, timeout: float) -> str | None:
        """The next key within ``timeout`` seconds."""
        return await self._channel.wait_for_digit(timeout)

    async def read_keys(self, timeout: float, max_keys: int) -> str:
        """Keys until ``#``, ``max_keys`` or a gap of ``timeout`` s: one ``GET DATA``
        with no sound, so Asterisk gathers them itself."""
        keys, _ = await self._channel.get_data("", timeout, max_keys)
        return keys

    async def listening(self, flow: str, node: InputNode, ask: str, attempt: int) -> None:
        """Announce the listening point as an AMI UserEvent (if switched on)."""
        if self._listen_events:
            await self.event(
                var.EVENT_LISTEN,
                {"Flow": flow, "Node": node.id, "Ask": ask, "Attempt": str(attempt)},
            )

    async def event(self, name: str, fields: dict[str, str]) -> None:
        """An AMI UserEvent carrying the call id."""
        if self._listen_events:
            body = {"CallId": self._call_id, **fields}
            await self._channel.exec("UserEvent", _event_body(name, body))

    async def hand_over(self, queue: str, pop_id: str) -> None:
        """Set the variables the dialplan queues by; the action last, as the commit."""
        await self._channel.set_variable(var.QUEUE, queue)
        await self._channel.set_variable(var.POP_ID, pop_id)
        await self._channel.set_variable(var.ACTION, var.ACTION_QUEUE)

    async def finish(self) -> None:
        """Hang up (the dialplan would too, on ``PLN123_ACTION=hangup``)."""
        await self._channel.set_variable(var.ACTION, var.ACTION_HANGUP)
        await self._channel.hangup()
