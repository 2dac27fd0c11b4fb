"""Running flows in-process: a call to its end, and a person at the terminal."""

from __future__ import annotations

import asyncio

from ivr.backends.ports import Backends
from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.context import Clock, utc_now
from ivr.engine.interpreter import run_call
from ivr.engine.library import FlowLibrary
from ivr.engine.model import InputNode
from ivr.engine.port import CallerHungUp
from ivr.sim.port import Answerer, Echo, SimPort
from ivr.store.calls import CallStore, CallSummary


async def simulate_call(
    settings: Settings,
    library: FlowLibrary,
    store: CallStore,
    flow: str,
    caller: str,
    answerer: Answerer,
    echo: Echo | None = None,
    backends: Backends | None = None,
    args: list[str] | None = None,
    clock: Clock = utc_now,
) -> CallSummary:
    """One simulated call to its end; what it did. ``clock`` is the call's "now"."""
    port = SimPort(answerer, echo)
    ctx = await open_call(
        settings, library, store, port, flow, caller, backends=backends, args=args, clock=clock
    )
    await run_call(ctx)
    summary = store.summary(ctx.call_id)
    assert summary is not None
    return summary


def terminal_answerer(show: Echo) -> Answerer:
    """Asks the person at the terminal for keys at each listening point."""

    async def answer(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        show(f"  [ask: {ask}, percobaan {attempt}] tekan tombol lalu Enter (kosong = diam):")
        try:
            line = await asyncio.to_thread(input, "  > ")
        except EOFError:
            raise CallerHungUp("the terminal closed") from None
        return "".join(ch for ch in line if ch in "0123456789*#")

    return answer
