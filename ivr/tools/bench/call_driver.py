"""Many scenario calls at once through a real Asterisk, for ``pln123 bench calls``.

The calls are the scenario runner's (:mod:`ivr.tools.scenario.via_asterisk`): AMI
Originate of a ``Local/`` channel into 123, a caller bot on the caller leg pressing a
scenario's answers with ``SendDTMF`` when the IVR's ``PLN123Listen`` UserEvent says it
listens. What differs is the scale: the runner follows one call at a time by scanning
the AMI event history, which costs every call every other call's events; here one
AMI session routes each event to its call by the IVR leg's Uniqueid, and asks
Asterisk (``Action: Filter``) for only the events the calls need.

An answer is *acknowledged* when, after the caller leg pressed its keys, the IVR went
on to a different question, or ended the call with an outcome other than a hand-over
to a CSO (which may be what keys it did not take led to); an acknowledged answer must
be in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from panoramisk.message import Message

from ivr.agi import variables as var
from ivr.agi.server import FastAgiServer
from ivr.asterisk.ami import AmiClient, AmiError, AmiEvent, ivr_leg_id
from ivr.config import Settings
from ivr.engine.library import FlowLibrary
from ivr.engine.port import CallerHungUp
from ivr.tools.scenario.answerer import ScenarioAnswerer
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.via_asterisk import CallerBots, keys_for_event

log = logging.getLogger(__name__)

#: The events a bench call follows; Asterisk sends this session no others.
EVENT_FILTER = "Event: (UserEvent|Hangup|QueueCallerJoin)"
QUEUE_JOIN = "QueueCallerJoin"


@dataclass
class CallTrace:
    """What one bench call did, as the caller side saw it (clock: ``time.monotonic``)."""

    test_id: str
    originated: float
    #: The IVR leg's Hangup (or the bench hanging up a queued call).
    ended: float | None = None
    #: The IVR's call id (from its call-start event), when it started the call.
    call_id: str | None = None
    #: The outcome the IVR's call-end event gave (None: it gave none).
    outcome: str | None = None
    #: The CSO queue the call joined (by the IVR's hand-over or the dialplan's fallback).
    queue: str | None = None
    #: Asks the caller answered and the IVR acknowledged (see the module's docstring).
    acknowledged: list[str] = field(default_factory=list)
    #: Keys pressed for asks, acknowledged or not.
    answered: int = 0
    problems: list[str] = field(default_factory=list)
    #: The IVR's events as this side saw them, and the keys handed to the caller leg:
    #: ``+seconds since originated  what`` (kept by ``--keep``).
    seen: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.seen.append(f"+{time.monotonic() - self.originated:.3f} {what}")


class RoutedAmi(AmiClient):
    """An AMI session that hands each event of a test call's IVR leg to that call's
    queue, and keeps no history (so it costs nothing per event beyond the route)."""

    def __init__(self, manager: Any = None) -> None:
        super().__init__(manager)
        self.routes: dict[str, asyncio.Queue[AmiEvent]] = {}

    def _dispatch(self, _manager: Any, message: Message) -> None:
        route = self.routes.get(message.get("Uniqueid", ""))
        if route is not None:
            route.put_nowait(AmiEvent.from_message(message))


@dataclass
class Driver:
    """Places scenario calls and follows them until they end."""

    settings: Settings
    library: FlowLibrary
    timeout: float
    ami: RoutedAmi
    bots: CallerBots
    bot_url: str
    _server: FastAgiServer

    @classmethod
    async def open(cls, settings: Settings, library: FlowLibrary, timeout: float) -> Driver:
        """The caller bots' FastAGI server and the AMI session, filtered."""
        bots = CallerBots()
        server = FastAgiServer(
            bots.handle,
            host=settings.agi.host,
            port=settings.agi.callerbot_port,
            allow=settings.agi.allow,
        )
        await server.start()
        ami = await RoutedAmi.connect(
            settings.ami.host,
            settings.ami.port,
            settings.ami.user,
            settings.ami.secret.get_secret_value(),
            timeout=settings.ami.connect_timeout,
        )
        assert isinstance(ami, RoutedAmi)
        await ami.action({"Action": "Filter", "Operation": "Add", "Filter": EVENT_FILTER})
        bot_url = f"agi://{settings.agi.host}:{server.port}/callerbot"
        return cls(settings, library, timeout, ami, bots, bot_url, server)

    async def close(self) -> None:
        await self.ami.close()
        await self._server.shutdown(grace=2.0)

    async def call(self, scenario: Scenario) -> CallTrace:
        """One call of ``scenario``, until the IVR leg hangs up or joins a CSO queue."""
        test_id = f"pln123bench-{uuid.uuid4().hex[:16]}"
        events: asyncio.Queue[AmiEvent] = asyncio.Queue()
        leg = ivr_leg_id(test_id)
        self.ami.routes[leg] = events
        trace = CallTrace(test_id, time.monotonic())
        line = self.bots.line(test_id)
        channel = ""
        try:
            moment = {f"__{var.TEST_AT}": scenario.at.isoformat()} if scenario.at else None
            await self.ami.originate_test_call(
                scenario.caller or "", self.bot_url, moment, call_id=test_id
            )
            answerer = ScenarioAnswerer(scenario)
            channel = await self._follow(trace, events, answerer, line.keys)
            trace.problems.extend(answerer.errors)
        except (AmiError, TimeoutError) as exc:
            trace.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            line.keys.put_nowait(None)
            self.bots.lines.pop(test_id, None)
            self.ami.routes.pop(leg, None)
            if trace.ended is None:
                trace.ended = time.monotonic()
            if channel and (trace.queue is not None or trace.problems):
                with contextlib.suppress(AmiError):
                    await self.ami.action(
                        {"Action": "Hangup", "Channel": channel}, timeout=10, check=False
                    )
        return trace

    async def _follow(
        self,
        trace: CallTrace,
        events: asyncio.Queue[AmiEvent],
        answerer: ScenarioAnswerer,
        keys: asyncio.Queue[str | None],
    ) -> str:
        """Answer the IVR's questions until the call ends; the IVR leg's channel name."""
        deadline = trace.originated + self.timeout
        channel = ""
        #: The ask whose keys were pressed, not yet acknowledged.
        pending: tuple[str, str, str] | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                trace.problems.append(f"the call did not end within {self.timeout:.0f}s")
                return channel
            try:
                event = await asyncio.wait_for(events.get(), remaining)
            except TimeoutError:
                continue
            channel = event.get("channel") or channel
            kind = event.get("userevent") if event.name == "UserEvent" else event.name
            if kind == var.EVENT_CALL_START:
                trace.call_id = event.get("callid")
                trace.note(f"start {trace.call_id}")
            elif kind == var.EVENT_LISTEN:
                where = (event.get("flow"), event.get("node"), event.get("ask"))
                if pending is not None and where != pending:
                    trace.acknowledged.append(pending[2])
                pending = None
                try:
                    pressed = await keys_for_event(event, answerer, self.library)
                except CallerHungUp:
                    trace.problems.append("the scenario hangs up")
                    return channel
                trace.note(
                    f"listen {where[0]}/{where[1]} ask={where[2]}"
                    f" attempt={event.get('attempt')} keys={pressed!r}"
                )
                if pressed:
                    keys.put_nowait(pressed)
                    trace.answered += 1
                    pending = where
            elif kind == var.EVENT_CALL_END:
                trace.outcome = event.get("outcome") or None
                trace.note(f"end {trace.outcome}")
                # Keys before a hand-over may be what failed (a CSO after the last
                # attempt): only an outcome of the flow's own end acknowledges them.
                if pending is not None and trace.outcome not in (None, "queued"):
                    trace.acknowledged.append(pending[2])
                pending = None
            elif kind == QUEUE_JOIN:
                trace.queue = event.get("queue")
                trace.note(f"queue {trace.queue}")
                trace.ended = time.monotonic()
                return channel
            elif kind == "Hangup":
                trace.ended = time.monotonic()
                trace.note("hangup")
                if trace.outcome is None:
                    trace.problems.append("the call hung up before the IVR gave an outcome")
                return channel


async def place_calls(
    driver: Driver,
    scenario: Scenario,
    calls: int,
    ramp: float,
    started: asyncio.Event | None = None,
) -> list[CallTrace]:
    """``calls`` calls of ``scenario``, their starts spread evenly over ``ramp`` seconds;
    ``started`` is set as the first one is placed."""
    loop = asyncio.get_running_loop()
    begin = loop.time()
    tasks: list[asyncio.Task[CallTrace]] = []
    for index in range(calls):
        at = begin + (ramp * index / calls if calls > 1 else 0.0)
        if (wait := at - loop.time()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(driver.call(scenario)))
        if started is not None:
            started.set()
    return list(await asyncio.gather(*tasks))
