"""Running a scenario as a real call through Asterisk.

The runner places a call with AMI Originate on a ``Local/`` channel into extension
123. The caller leg runs a FastAGI "caller bot" served here; the IVR leg runs the
IVR. Each time the IVR starts listening it emits a ``PLN123Listen`` UserEvent; the
runner looks up the scenario's answer for that ask and has the caller bot press the
keys with ``SendDTMF``, over the call, while the prompt plays. Nothing waits on a
clock: every step waits on an event, with a time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.agi import variables as var
from ivr.agi.channel import AgiChannel
from ivr.agi.server import FastAgiServer
from ivr.asterisk.ami import AmiClient, AmiEvent, ivr_leg_id
from ivr.config import Settings
from ivr.engine.library import FlowLibrary
from ivr.engine.model import InputNode
from ivr.engine.port import CallerHungUp
from ivr.store.calls import connect, read_summary
from ivr.store.schema import migrate
from ivr.tools.scenario.answerer import ScenarioAnswerer
from ivr.tools.scenario.check import mismatches
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.outages import scenario_outages
from ivr.tools.scenario.result import ScenarioResult

log = logging.getLogger(__name__)

CALLER_SUFFIX = "-caller"
#: Pause and length of each DTMF tone the caller bot sends, in milliseconds.
DTMF_GAP_MS = 100
DTMF_LENGTH_MS = 100
#: When the test caller hangs up (see :func:`_place_call`).
UNTIL_END, UNTIL_ANSWERED, UNTIL_HANGUP = "end", "answered", "hangup"
UNTIL_CHOICES = (UNTIL_END, UNTIL_ANSWERED, UNTIL_HANGUP)


@dataclass
class _BotLine:
    """Keys waiting to be pressed by one call's caller bot; ``None`` ends the bot."""

    keys: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    connected: asyncio.Event = field(default_factory=asyncio.Event)


class CallerBots:
    """The FastAGI side of the caller legs: presses the keys it is handed."""

    def __init__(self) -> None:
        self.lines: dict[str, _BotLine] = {}

    def line(self, test_id: str) -> _BotLine:
        """The key line of a test call (made on first use)."""
        return self.lines.setdefault(test_id, _BotLine())

    async def handle(self, channel: AgiChannel) -> None:
        """One caller leg: press each batch of keys until told to stop or hung up."""
        uniqueid = channel.headers.get("agi_uniqueid", "")
        if not uniqueid.endswith(CALLER_SUFFIX):
            log.warning("caller bot: unexpected call %s", uniqueid)
            return
        line = self.line(uniqueid.removesuffix(CALLER_SUFFIX))
        line.connected.set()
        while (keys := await line.keys.get()) is not None:
            try:
                await channel.exec("SendDTMF", f"{keys},{DTMF_GAP_MS},{DTMF_LENGTH_MS}")
            except CallerHungUp:
                return


def _is_ours(test_id: str) -> Callable[[AmiEvent], bool]:
    leg = ivr_leg_id(test_id)

    def match(event: AmiEvent) -> bool:
        if event.get("uniqueid") != leg:
            return False
        if event.name == "UserEvent":
            return event.get("userevent").startswith("PLN123")
        return event.name in ("Hangup", "QueueCallerJoin", "AgentConnect")

    return match


async def _place_call(
    scenario: Scenario,
    ami: AmiClient,
    bots: CallerBots,
    bot_url: str,
    library: FlowLibrary,
    timeout: float,
    until: str = UNTIL_END,
) -> tuple[str | None, list[str]]:
    """Run one call; the (last) IVR call id and any problems seen on the way.

    ``until`` says when the test caller hangs up: ``end``, once the IVR let go (a queued
    call: once it joined the queue); ``answered``, once a CSO answered a queued call
    (so their page gets the pop and sees it connected); ``hangup``, never: the call
    runs until Asterisk or the IVR ends it, through any later IVR session (the
    call-back offer after the longest wait in a queue).
    """
    answerer = ScenarioAnswerer(scenario)
    problems: list[str] = []
    since = ami.mark
    # The IVR leg inherits the moment (``__``); a sandbox IVR runs the call at it.
    moment = {f"__{var.TEST_AT}": scenario.at.isoformat()} if scenario.at else None
    test_id = await ami.originate_test_call(scenario.caller or "", bot_url, moment)
    line = bots.line(test_id)
    match = _is_ours(test_id)
    call_id: str | None = None
    outcome: str | None = None
    queue_joined = False
    answered = False
    position = since
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            for event in ami.events(position):
                position += 1
                if not match(event):
                    continue
                if event.name == "QueueCallerJoin":
                    queue_joined = True
                elif event.name == "AgentConnect":
                    answered = True
                elif event.name == "Hangup":
                    # The IVR leg is gone only once the IVR let go, its record closed.
                    early = not outcome and not answerer.hung_up
                    return call_id, problems + (["the call hung up early"] if early else [])
                elif event.get("userevent") == var.EVENT_CALL_START:
                    call_id = event.get("callid")
                elif event.get("userevent") == var.EVENT_LISTEN:
                    try:
                        keys = await keys_for_event(event, answerer, library)
                    except CallerHungUp:
                        await ami.hangup_call(test_id)
                        keys = ""
                    if keys:
                        line.keys.put_nowait(keys)
                elif event.get("userevent") == var.EVENT_CALL_END:
                    outcome = event.get("outcome")
                if (
                    until != UNTIL_HANGUP
                    and outcome
                    and (
                        outcome != "queued"
                        or (answered if until == UNTIL_ANSWERED else queue_joined)
                    )
                ):
                    return call_id, problems
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return call_id, [*problems, f"the call did not end within {timeout:.0f}s"]
            try:
                await ami.wait_for_event(match, remaining, since=position)
            except TimeoutError:
                what = "end"
                if outcome == "queued":
                    what = "reach a CSO" if until == UNTIL_ANSWERED else "join a queue"
                return call_id, [*problems, f"the call did not {what} within {timeout:.0f}s"]
    finally:
        problems.extend(answerer.errors)
        line.keys.put_nowait(None)
        with contextlib.suppress(Exception):
            await ami.hangup_call(test_id)
        bots.lines.pop(test_id, None)


async def keys_for_event(event: AmiEvent, answerer: ScenarioAnswerer, library: FlowLibrary) -> str:
    """The keys the caller presses for the IVR's ``PLN123Listen`` event ('': none)."""
    flow_name, node_id, ask = event.get("flow"), event.get("node"), event.get("ask")
    attempt = int(event.get("attempt") or "1")
    loaded = library.flows.get(flow_name)
    node = loaded.flow.nodes.get(node_id) if loaded else None
    if not isinstance(node, InputNode):
        answerer.errors.append(f"IVR listened at {flow_name}/{node_id}, unknown to this runner")
        return ""
    return await answerer(flow_name, node, ask, attempt)


async def run_scenarios_asterisk(
    scenarios: list[Scenario],
    settings: Settings,
    library: FlowLibrary,
    timeout: float,
    until: str = UNTIL_END,
) -> list[ScenarioResult]:
    """Each scenario as a real call, one after another (see :func:`_place_call`)."""
    bots = CallerBots()
    server = FastAgiServer(
        bots.handle,
        host=settings.agi.host,
        port=settings.agi.callerbot_port,
        allow=settings.agi.allow,
    )
    await server.start()
    bot_url = f"agi://{settings.agi.host}:{server.port}/callerbot"
    ami = await AmiClient.connect(
        settings.ami.host,
        settings.ami.port,
        settings.ami.user,
        settings.ami.secret.get_secret_value(),
        timeout=settings.ami.connect_timeout,
    )
    db = connect(settings.store_location)
    results = []
    try:
        migrate(db)  # the outage tables, should the serving IVR be older than the file
        for scenario in scenarios:
            with scenario_outages(db, scenario):
                call_id, problems = await _place_call(
                    scenario,
                    ami,
                    bots,
                    bot_url,
                    library,
                    timeout,
                    UNTIL_HANGUP if scenario.queue_timeout else until,
                )
            summary = read_summary(db, call_id) if call_id else None
            if summary is None:
                problems = [*problems, "the IVR recorded no call (is `pln123 serve` running?)"]
            else:
                problems = [*problems, *mismatches(summary, scenario.expect)]
            results.append(ScenarioResult(scenario, "asterisk", summary, problems))
    finally:
        db.close()
        await ami.close()
        await server.shutdown(grace=2.0)
    return results
