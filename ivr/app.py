"""The IVR server: FastAGI in, flows run, call records out.

Wires the settings, the flow library, the call store and the FastAGI server; handles
SIGHUP (reload flows, keep the last good ones) and SIGTERM (finish calls up to the
grace period, then stop).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import signal
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ivr.agi import variables as var
from ivr.agi.channel import AgiChannel
from ivr.agi.port import AgiPort
from ivr.agi.server import FastAgiServer
from ivr.backends.guarded import GuardedCallbacks
from ivr.backends.ports import Backends
from ivr.config import Settings
from ivr.domain.callerid import mask
from ivr.engine.call import new_call_id, open_call
from ivr.engine.context import Clock, utc_now
from ivr.engine.interpreter import run_call
from ivr.engine.library import LibraryHolder
from ivr.ops.live import MetricsWatcher
from ivr.privacy.retention import RetentionSweeper
from ivr.prompts.tts import Speaker
from ivr.screenpop.recovered import close_interrupted
from ivr.speech.dynamic import DynamicSounds, DynamicSpeech
from ivr.speech.listener import SpeechListener
from ivr.speech.prompt_audio import PromptAudio
from ivr.store.calls import CallStore
from ivr.store.dbapi import DatabaseError
from ivr.web.server import WORKERS
from ivr.web.service import ScreenPopService
from ivr.web.worker_peers import WorkerPeers
from ivr.worker_id import this_host, worker_id

log = logging.getLogger(__name__)


def flow_of(headers: dict[str, str], default: str) -> str:
    """The flow an AGI request names: ``agi://host:port/main`` runs ``main``."""
    script = headers.get("agi_network_script") or ""
    if not script:
        script = urlsplit(headers.get("agi_request", "")).path
    name = script.strip("/").split("?", 1)[0]
    return name or default


def dynamic_speech(settings: Settings) -> DynamicSpeech | None:
    """Run-time speech for prompts filled from call variables, when configured."""
    if settings.dynamic_audio_dir is None:
        log.info("prompts with {variables} are not spoken: no dynamic_audio_dir")
        return None
    return DynamicSpeech(settings.dynamic_audio_dir, Speaker())


def agi_args(headers: dict[str, str]) -> list[str]:
    """The AGI script's arguments, in order (``agi_arg_1`` ...)."""
    args: list[str] = []
    while (value := headers.get(f"agi_arg_{len(args) + 1}")) is not None:
        args.append(value)
    return args


class Role(enum.Enum):
    """What one process of ``pln123 serve`` does (see :mod:`ivr.workers`)."""

    #: Everything: FastAGI calls, the web pages, AMI, housekeeping (one process).
    ALL = "all"
    #: FastAGI calls only, on a port shared with the other call workers.
    AGI = "agi"
    #: The web pages, the AMI watcher and housekeeping, once per host: no calls.
    WEB = "web"


class IvrApp:
    """Runs a flow for each call Asterisk hands over."""

    def __init__(
        self,
        settings: Settings,
        library: LibraryHolder,
        store: CallStore,
        backends: Backends | None = None,
        role: Role = Role.ALL,
        workers: WorkerPeers | None = None,
    ) -> None:
        self.settings = settings
        #: Role WEB: the call workers whose metrics and health the web pages show.
        self.workers = workers
        self.library = library
        self.store = store
        self.backends = backends
        self.role = role
        if not store.worker:  # the calls this process holds are stored as its own
            store.worker = worker_id()
        self.speech = dynamic_speech(settings) if role is not Role.WEB else None
        #: Counts calls and node exits for ``/metrics``.
        self.watcher = MetricsWatcher()
        #: What AgiPort plays for prompts spoken at run time (None: no dynamic_audio_dir).
        self.voice = (
            DynamicSounds(self.speech, f"{settings.asterisk_sounds_prefix}/dynamic")
            if self.speech is not None
            else None
        )
        self.listener = (
            SpeechListener(
                settings.speech,
                PromptAudio(settings.audio_dir, settings.asterisk_sounds_prefix, self.speech),
            )
            if settings.speech.model_path is not None and role is not Role.WEB
            else None
        )
        self.server = FastAgiServer(
            self.handle_call,
            host=settings.agi.host,
            port=settings.agi.port,
            allow=settings.agi.allow,
            header_timeout=settings.agi.header_timeout,
            command_timeout=settings.agi.command_timeout,
            max_connections=settings.agi.max_connections,
            reuse_port=role is Role.AGI,
        )

    async def handle_call(self, channel: AgiChannel) -> None:
        """One call, from the header block to its outcome."""
        headers = channel.headers
        library = self.library.current  # a reload mid-call does not change this call
        flow_name = flow_of(headers, self.settings.default_flow)
        call_id = new_call_id()
        caller = headers.get("agi_callerid", "")
        if caller in ("unknown", "<unknown>"):
            caller = ""
        port = AgiPort(
            channel,
            call_id,
            self.settings.agi.listen_events,
            self.settings.agi.max_prompt_seconds,
            voice=self.voice,
            speech=self.listener,
        )
        await channel.set_variable(var.CALL_ID, call_id)
        if (refused := library.entry_problem(flow_name)) is not None:
            # No such flow, or a subflow only (its `return` would have nowhere to go).
            log.error(
                "call %s asks for flow %r, refused: %s; running %s",
                call_id,
                flow_name,
                refused,
                self.settings.default_flow,
            )
            flow_name = self.settings.default_flow
        if log.isEnabledFor(logging.INFO):
            log.info("call %s from %s runs flow %s", call_id, mask(caller), flow_name)
        ctx = await open_call(
            self.settings,
            library,
            self.store,
            port,
            flow_name,
            caller,
            call_id=call_id,
            channel=headers.get("agi_channel", ""),
            uniqueid=headers.get("agi_uniqueid", ""),
            backends=self.backends,
            args=agi_args(headers),
            watcher=self.watcher,
            clock=await self._clock(channel, call_id),
        )
        outcome = await run_call(ctx)
        log.info("call %s ended: %s", call_id, outcome.value)

    async def _clock(self, channel: AgiChannel, call_id: str) -> Clock:
        """The call's clock: the real one, or in a sandbox with ``[agi] test_clock`` the
        one its channel's ``PLN123_TEST_AT`` names."""
        if not self.settings.agi.test_clock:
            return utc_now
        value = await channel.get_variable(var.TEST_AT)
        clock = moment_clock(value or "")
        if clock is None:
            if value:
                log.warning("call %s: %s=%r is no time with an offset", call_id, var.TEST_AT, value)
            return utc_now
        return clock

    async def _start_screenpop(self) -> ScreenPopService | None:
        """The web pages (CSOs' screen-pop, ops, ``/metrics``) and the AMI watcher, when
        ``[web] enabled`` (with or without agents); flows then take call-backs."""
        if not self.settings.web.enabled or self.role is Role.AGI:
            return None
        if not self.settings.agents:
            log.info("screen-pop page: no [agents] configured, no CSO can log in")
        if not self.settings.ops:
            log.info("ops page: no [ops] configured, no one can log in")
        # Flows' call-back requests reach the hub directly only in the same process.
        service = ScreenPopService(
            self.settings, self.library, poll_callbacks=self.role is Role.WEB
        )
        service.store_health = self.store.health
        service.hub.kept_pops = self.store.kept_pops
        if self.workers is not None:
            service.web.app[WORKERS] = self.workers
        await service.start()
        if self.backends is not None:
            callbacks = GuardedCallbacks(service.callbacks, self.settings.backend_timeout)
            self.backends = dataclasses.replace(self.backends, callbacks=callbacks)
        return service

    def _close_interrupted(self) -> None:
        """Close the records of calls an earlier process left open (see
        :func:`ivr.screenpop.recovered.close_interrupted`)."""
        if not self.store.ok:
            return
        started = datetime.now(UTC).isoformat(timespec="milliseconds")
        try:
            closed = close_interrupted(self.store.connection, started, host=this_host())
        except DatabaseError as exc:
            log.warning("calls left open by an earlier run: cannot close them now (%s)", exc)
            return
        if closed:
            log.warning(
                "%d calls were cut by the IVR stopping (the dialplan queued them): closed as"
                " queued, reason error, with their pops: %s",
                len(closed),
                ", ".join(closed),
            )

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT; reload flows on SIGHUP."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self.library.reload)
        if self.role is Role.ALL:  # else the supervisor does (ivr.workers)
            self._close_interrupted()
        screenpop = await self._start_screenpop()
        retention = RetentionSweeper(self.store.location, self.settings.privacy.retention_days)
        if self.role is not Role.AGI:
            retention.start()
        if self.listener is not None:
            await self.listener.start(self.library.current.input_grammars())
        if self.role is not Role.WEB:
            await self.server.start()
            print(
                f"pln123 serving FastAGI on {self.settings.agi.host}:{self.server.port}"
                + ("" if self.role is Role.ALL else f" (worker {self.store.worker})"),
                flush=True,
            )
        try:
            await stop.wait()
            log.info("stopping: no new calls")
        finally:
            await self.server.shutdown(self.settings.agi.shutdown_grace)
            if screenpop is not None:
                await screenpop.stop()
            await retention.stop()
            if self.listener is not None:
                await self.listener.close()
            if self.speech is not None:
                self.speech.close()
            await self.store.drain()  # a server-backed store's writes in flight
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)


def moment_clock(value: str, now: Clock = utc_now) -> Clock | None:
    """A clock that reads ``value`` (ISO 8601 with an offset) now and runs on from there;
    None when ``value`` is no such time."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    offset = at - now()
    return lambda: now() + offset
