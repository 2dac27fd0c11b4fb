"""When the IVR is down or breaks, a real call still reaches a CSO queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from ivr.agi.channel import AgiChannel
from ivr.agi.server import FastAgiServer
from ivr.asterisk.ami import AmiClient, AmiEvent, ivr_leg_id
from ivr.config import Settings
from ivr.tools.sandbox import AsteriskSandbox
from tests.support import IvrProcess

pytestmark = pytest.mark.e2e
STEP = 20.0


@contextlib.asynccontextmanager
async def caller_on_hold(settings: Settings) -> AsyncIterator[str]:
    """A caller bot that stays on the line; yields its AGI URL."""
    release = asyncio.Event()

    async def hold(channel: AgiChannel) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), STEP * 2)

    bot = FastAgiServer(hold, port=settings.agi.callerbot_port)
    await bot.start()
    try:
        yield f"agi://127.0.0.1:{bot.port}/callerbot"
    finally:
        release.set()
        await bot.shutdown(grace=5)


async def queue_join_of_a_call(settings: Settings, caller: str) -> AmiEvent:
    """Place a call and return the QueueCallerJoin of its IVR leg."""
    ami = await AmiClient.connect(
        settings.ami.host,
        settings.ami.port,
        settings.ami.user,
        settings.ami.secret.get_secret_value(),
    )
    try:
        async with caller_on_hold(settings) as bot_url:
            test_id = await ami.originate_test_call(caller, bot_url)
            try:
                return await ami.wait_for_event(
                    lambda e: (
                        e.name == "QueueCallerJoin" and e.get("uniqueid") == ivr_leg_id(test_id)
                    ),
                    STEP,
                )
            finally:
                await ami.hangup_call(test_id)
    finally:
        await ami.close()


async def test_a_stopped_ivr_sends_the_call_to_queue_umum(
    ivr_server: IvrProcess, asterisk: AsteriskSandbox, e2e_settings: Settings
) -> None:
    ivr_server.stop()
    try:
        joined = await queue_join_of_a_call(e2e_settings, "0215551234")
    finally:
        ivr_server.start()
    assert joined.get("queue") == "umum"
    assert joined.variables.get("PLN123_QUEUE_REASON") == "fallback"
    assert joined.get("calleridnum") == "0215551234"


async def test_an_ivr_that_drops_the_call_sends_it_to_queue_umum(
    ivr_server: IvrProcess, asterisk: AsteriskSandbox, e2e_settings: Settings
) -> None:
    """An IVR that takes the call and closes the connection without an instruction
    (as a crash would) leaves the caller to the dialplan's fallback."""

    async def crash(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\n\n"), STEP)
        writer.close()

    ivr_server.stop()
    broken = await asyncio.start_server(crash, "127.0.0.1", e2e_settings.agi.port)
    try:
        joined = await queue_join_of_a_call(e2e_settings, "081234567890")
    finally:
        broken.close()
        await broken.wait_closed()
        ivr_server.start()
    assert joined.get("queue") == "umum"
    assert joined.variables.get("PLN123_QUEUE_REASON") == "fallback"
