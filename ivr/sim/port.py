"""A call port that runs in-process: no Asterisk, no audio, no waiting.

Prompts are shown as text; keys come from an answerer (a scenario's answer book or a
person at the terminal) each time the IVR starts listening. Keys the answerer gives
are pressed during the prompt, so type-ahead behaves as it does on a real call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from ivr.engine.model import InputNode
from ivr.engine.port import Audio, Digits, Number, Segment, SpeechTurn
from ivr.language.grammars import InputGrammar

#: Given (flow, node, ask, attempt), the keys the caller presses ("" for silence).
Answerer = Callable[[str, InputNode, str, int], Awaitable[str]]
Echo = Callable[[str], None]


def segment_text(segment: Segment) -> str:
    """What a segment says, for the terminal."""
    if isinstance(segment, Audio):
        return segment.text or f"<{segment.prompt_id}>"
    if isinstance(segment, Digits):
        return " ".join(segment.digits)
    assert isinstance(segment, Number)
    return str(segment.number)


class SimPort:
    """The engine's call port, simulated."""

    def __init__(self, answerer: Answerer, echo: Echo | None = None) -> None:
        self._answerer = answerer
        self._echo = echo or (lambda _line: None)
        self._keys: deque[str] = deque()
        self.events: list[tuple[str, dict[str, str]]] = []
        self.queue: str | None = None
        self.pop_id: str | None = None
        self.hung_up = False
        self._pending: tuple[str, InputNode, str, int] | None = None

    async def play(self, segments: Sequence[Segment], escape: str) -> str | None:
        """Show the prompt; the first pending key that may interrupt it does."""
        text = " ".join(segment_text(segment) for segment in segments)
        self._echo(f"IVR: {text}")
        if escape:
            await self._answer_pending()
        if self._keys and escape and self._keys[0] in escape:
            return self._keys.popleft()
        return None

    async def wait_digit(self, timeout: float) -> str | None:
        """The next pending key; none pending is silence for ``timeout`` seconds."""
        await self._answer_pending()
        if self._keys:
            return self._keys.popleft()
        self._echo(f"     (diam {timeout:g} detik)")
        return None

    async def read_keys(self, timeout: float, max_keys: int) -> str:
        """Pending keys until ``#`` or ``max_keys``, as the channel would gather them."""
        keys = ""
        while len(keys) < max_keys:
            key = await self.wait_digit(timeout)
            if key is None or key == "#":
                break
            keys += key
        return keys

    async def listen_speech(
        self, segments: Sequence[Segment], grammar: InputGrammar, timeout: float
    ) -> SpeechTurn | None:
        """The simulator takes keys only."""
        return None

    async def listening(self, flow: str, node: InputNode, ask: str, attempt: int) -> None:
        """Note the question; the answerer is asked once its prompt has been shown."""
        self._pending = (flow, node, ask, attempt)

    async def _answer_pending(self) -> None:
        if self._pending is None:
            return
        flow, node, ask, attempt = self._pending
        self._pending = None
        keys = await self._answerer(flow, node, ask, attempt)
        if keys:
            self._echo(f"     [{ask}] caller presses {keys}")
        self._keys.extend(keys)

    async def event(self, name: str, fields: dict[str, str]) -> None:
        """Keep the event (tests look at them)."""
        self.events.append((name, fields))

    async def hand_over(self, queue: str, pop_id: str) -> None:
        """Note the queue; the simulated call ends here."""
        self.queue, self.pop_id = queue, pop_id
        self._echo(f"IVR: -> antrian CSO {queue!r} (screen-pop {pop_id})")

    async def finish(self) -> None:
        """Note the hangup."""
        self.hung_up = True
        self._echo("IVR: (menutup panggilan)")
