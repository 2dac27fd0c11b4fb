"""The engine's call port over a real Asterisk channel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ivr.agi import variables as var
from ivr.agi.channel import AgiChannel
from ivr.engine.model import InputNode
from ivr.engine.port import Audio, Digits, Number, Segment, SpeechTurn
from ivr.language.grammars import InputGrammar
from ivr.prompts.tts import TtsError
from ivr.speech.dynamic import DynamicSpeech, words_for
from ivr.speech.listener import SpeechListener

log = logging.getLogger(__name__)


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
        speech: DynamicSpeech | None = None,
        dynamic_sounds: str = "",
        listener: SpeechListener | None = None,
    ) -> None:
        self._channel = channel
        self._call_id = call_id
        self._listen_events = listen_events
        self._max_prompt = max_prompt_seconds
        #: Run-time speech for prompts filled from call variables, written where
        #: Asterisk finds them as ``<dynamic_sounds>/<file>``.
        self._speech = speech
        self._dynamic_sounds = dynamic_sounds
        self._listener = listener

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
        if self._speech is None:
            return None
        words = words_for(segment)
        if words is None:
            return None
        try:
            path = await self._speech.sound_for(words)
        except (TtsError, ValueError) as exc:
            log.warning("call %s: a prompt part was not spoken: %s", self._call_id, exc)
            return None
        return f"{self._dynamic_sounds}/{path.stem}"

    async def listen_speech(
        self, segments: Sequence[Segment], grammar: InputGrammar, timeout: float
    ) -> SpeechTurn | None:
        """Play and listen for speech and keys over AudioSocket (None: keys only)."""
        if self._listener is None:
            return None
        return await self._listener.turn(self._channel, segments, grammar, timeout)

    async def wait_digit(self, timeout: float) -> str | None:
        """The next key within ``timeout`` seconds."""
        return await self._channel.wait_for_digit(timeout)

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
