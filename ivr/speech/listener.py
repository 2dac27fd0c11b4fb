"""Listening for speech on a call: AudioSocket in, Vosk on it, a key still wins.

For one listening window the IVR asks Asterisk, through the call's port (its AGI
session), to run ``AudioSocket(<uuid>,<host:port>)``. Asterisk connects to the IVR's
AudioSocket server and streams the caller's audio and keys; the IVR plays the prompt
back over the same socket, so the caller can answer (or press a key) while it plays.
The first key, an answer, or silence ends the window: the IVR hangs the socket up and
the AGI command returns. If the audio path fails (Asterisk does not connect), the
window is None and the input takes keys as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from ivr.config import SpeechSettings
from ivr.engine.port import CallerHungUp, Segment, SpeechTurn, StartAudio
from ivr.language.grammars import InputGrammar
from ivr.speech.audiosocket import SAMPLE_RATE, AudioSession, AudioSocketServer
from ivr.speech.prompt_audio import PromptAudio
from ivr.speech.recognizer import Grammar, Recognition, RecognizerPool, SpeechModel

log = logging.getLogger(__name__)

#: Seconds Asterisk may take to connect to the AudioSocket server.
CONNECT_TIMEOUT = 5.0


class SpeechListener:
    """The process's speech side: the model, the recognisers and the AudioSocket server
    (the engine's :class:`~ivr.engine.port.SpeechTurns`)."""

    def __init__(self, settings: SpeechSettings, prompts: PromptAudio) -> None:
        if settings.model_path is None:
            raise ValueError("speech needs speech.model_path")
        self.settings = settings
        self.prompts = prompts
        self.model: SpeechModel | None = None
        self.pool: RecognizerPool | None = None
        self.server = AudioSocketServer(settings.audiosocket_host, settings.audiosocket_port)
        self._grammars: dict[tuple[str, ...], Grammar] = {}

    async def start(self, grammars: Sequence[InputGrammar] = ()) -> None:
        """Load the model (off the loop), start the server, and report once the words
        of ``grammars`` (every input's) that the model does not know."""
        assert self.settings.model_path is not None
        self.model = await asyncio.to_thread(SpeechModel.load, self.settings.model_path)
        self.pool = RecognizerPool(
            self.model, self.settings.workers or None, min_confidence=self.settings.min_confidence
        )
        for grammar in grammars:
            self._grammar(grammar)
        missing = sorted(self.model.missing_words)
        if missing:
            log.warning(
                "speech: %d word(s) of the flows are not in the model and cannot be heard: %s",
                len(missing),
                ", ".join(missing),
            )
        await self.server.start()
        log.info("speech: AudioSocket on %s", self.connect_to)

    async def close(self) -> None:
        """Stop the server and the recognisers."""
        await self.server.close()
        if self.pool is not None:
            await asyncio.to_thread(self.pool.close)

    @property
    def connect_to(self) -> str:
        """Where Asterisk connects: ``host:port``."""
        return self.settings.connect_to or f"{self.settings.audiosocket_host}:{self.server.port}"

    def _grammar(self, grammar: InputGrammar) -> Grammar:
        known = self._grammars.get(grammar.phrases)
        if known is None:
            assert self.model is not None
            known = self._grammars[grammar.phrases] = self.model.grammar_for(grammar.phrases)
        return known

    async def turn(
        self,
        start_audio: StartAudio,
        segments: Sequence[Segment],
        grammar: InputGrammar,
        timeout: float,
    ) -> SpeechTurn | None:
        """One listening window, its audio started by ``start_audio`` (see the module
        docstring)."""
        session_id = str(uuid.uuid4())
        session = self.server.expect(session_id)
        command = asyncio.create_task(start_audio(f"{session_id},{self.connect_to}"))
        try:
            await session.connected(CONNECT_TIMEOUT)
        except (TimeoutError, ConnectionError):
            log.warning("speech: Asterisk did not connect to AudioSocket; keys only")
            await _finish(command)
            return None
        try:
            turn = await self._listen(session, segments, grammar, timeout)
        finally:
            await session.hangup()
            await _finish(command)
        if turn.key is not None:
            turn = dataclasses.replace(turn, more_keys=session.pending_keys())
        return turn

    async def _listen(
        self,
        session: AudioSession,
        segments: Sequence[Segment],
        grammar: InputGrammar,
        timeout: float,
    ) -> SpeechTurn:
        assert self.pool is not None
        pcm = await self.prompts.pcm(segments)
        speaking = asyncio.Event()
        prompt = asyncio.create_task(session.play(pcm, barge_in=[session.key_pressed, speaking]))
        recognition = asyncio.create_task(
            self.pool.recognize(
                session.frames(),
                self._grammar(grammar),
                sample_rate=SAMPLE_RATE,
                no_input_timeout=len(pcm) / 2 / SAMPLE_RATE + timeout,
                max_speech=self.settings.max_speech,
                end_silence=(
                    self.settings.digits_end_silence
                    if grammar.kind == "digits"
                    else self.settings.end_silence
                ),
                speech_started=speaking,
            )
        )
        key = asyncio.create_task(session.next_key())
        tasks: set[asyncio.Task[Any]] = {prompt, recognition, key}
        try:
            await asyncio.wait({recognition, key}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if key.done() and not key.cancelled() and key.result() is not None:
            return SpeechTurn(key=key.result())
        if recognition.cancelled() or recognition.exception() is not None:
            return SpeechTurn()
        heard: Recognition = recognition.result()
        if heard.outcome == "noinput":
            return SpeechTurn()
        return SpeechTurn(text=heard.text, confident=heard.outcome == "heard")


async def _finish(command: asyncio.Task[None]) -> None:
    """Let the AGI command (AudioSocket) return. A caller who hung up meanwhile ends
    the call as anywhere else; another failure of the command only costs the window."""
    done, _ = await asyncio.wait({command}, timeout=CONNECT_TIMEOUT + 5)
    if not done:
        command.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await command
        raise TimeoutError("AudioSocket did not return after the IVR hung it up")
    error = command.exception()
    if isinstance(error, CallerHungUp):
        raise error
    if error is not None:
        log.warning("speech: AudioSocket command failed: %s", error)
