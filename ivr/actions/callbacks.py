"""Actions of the call-back flow (``flows/panggilan_balik.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.backends.ports import BackendError
from ivr.domain.callerid import parse_caller_id
from ivr.engine.context import CallContext


async def request_callback(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Store a call-back task for the CSOs of the queue the caller waited in.

    Reads ``callback_number`` (the caller's number or one they keyed), ``antrean`` and
    ``pop_id``. Result ``tersimpan``; without a task list the action fails, and the
    flow's ``error`` route sends the caller back to the queue.
    """
    port = ctx.backends.callbacks if ctx.backends is not None else None
    if port is None:
        raise BackendError("no call-back task list in this process")
    raw = ctx.variables.get("callback_number", "")
    number = parse_caller_id(raw).national or raw
    queue = ctx.variables.get("antrean") or ctx.default_queue
    await port.request(ctx.call_id, ctx.variables.get("pop_id", ""), number, queue)
    ctx.variables["callback_tersimpan"] = "ya"  # the task is done (see CallResult)
    return "tersimpan"
