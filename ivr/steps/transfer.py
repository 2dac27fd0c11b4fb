"""``transfer``: hand the call to a CSO queue with the screen-pop data.

The IVR stores the pop, sets the channel variables and lets go of the call; the
dialplan queues it. The AGI connection is not held while the caller waits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from ivr.backends.forms import report_request
from ivr.domain import self_diagnosis
from ivr.engine.context import CallContext
from ivr.engine.kinds import Reason, StepResult
from ivr.engine.model import Flow, TransferNode
from ivr.engine.port import Outcome
from ivr.prompts.catalogue import PLACEHOLDER, fill

log = logging.getLogger(__name__)


def pop_notes(lines: Mapping[str, str], variables: Mapping[str, str]) -> list[dict[str, str]]:
    """A flow's ``pop:`` lines filled from the call; a line that names a variable the
    call has not set (or set empty) is left out, so the CSO sees no half sentences."""
    notes = []
    for label, template in lines.items():
        names = PLACEHOLDER.findall(template)
        if any(not variables.get(name) for name in names):
            continue
        value = fill(template, dict(variables)).strip()
        if value:
            notes.append({"label": label, "value": value})
    return notes


def screenpop_data(
    ctx: CallContext, queue: str, notes: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """What the CSO's screen shows: who calls, every answer in the order given, the path,
    the APKT form as far as the call filled it (suggested problem text and WO type
    included), and the flow's own lines (``notes``), so nobody asks twice."""
    form: dict[str, Any] | None = None
    if ctx.variables.get("problem_text"):  # a gangguan call: the flow set up a report
        try:
            filled = report_request(ctx.variables, ctx.call_id, ctx.default_timezone)
            form = {f.name: getattr(filled, f.name) for f in fields(filled)}
        except (ValueError, KeyError) as exc:  # an odd value must not stop the hand-over
            log.warning("call %s: APKT form left out of the screen-pop: %s", ctx.call_id, exc)
    v = ctx.variables
    return {
        "call_id": ctx.call_id,
        "flow": ctx.flow_name,
        "queue": queue,
        "caller": v.get("caller", ""),
        "caller_class": v.get("caller_class", ""),
        "caller_name": v.get("nama", ""),
        "salutation": v.get("sapaan", ""),
        "customer": _customer(v),
        "power_state": v.get("power_state", ""),
        "self_diagnosis": {
            code: v[f"meter_{code}"] for code in self_diagnosis.CODES if f"meter_{code}" in v
        },
        "answers": list(ctx.answers),
        "asks": list(ctx.asks),
        "path": list(ctx.path),
        "apkt": form,
        "report_number": ctx.variables.get("report_number", ""),
        "notes": notes or [],
        # The caller's earlier report, when the flow found one (lapor ulang).
        "open_report": (
            {
                "number": ctx.variables["laporan_terbuka"],
                "status": ctx.variables.get("status_laporan", ""),
            }
            if ctx.variables.get("laporan_terbuka")
            else None
        ),
    }


def _customer(v: Mapping[str, str]) -> dict[str, Any] | None:
    """The customer the call identified, with whether the caller confirmed the address;
    or just the number keyed when the lookup found nobody."""
    keyed = v.get("idpel", "") if v.get("idpel") != "tidak_tahu" else ""
    if not v.get("nama_pelanggan"):
        return {"keyed": keyed, "found": False} if keyed else None
    confirmed = v.get("address_correct")
    return {
        "found": True,
        "keyed": v.get("id_dikunci", keyed),
        "idpel": v.get("idpel", ""),
        "meter_number": v.get("no_meter", ""),
        "name": v.get("nama_pelanggan", ""),
        "street": v.get("jalan", ""),
        "area": v.get("wilayah", ""),
        "address_confirmed": None if confirmed is None else confirmed == "ya",
        "unit": v.get("unit", ""),
        "posko": v.get("posko", ""),
        "tariff": v.get("tarif", ""),
        "power_va": v.get("daya", ""),
    }


async def hand_to_queue(
    ctx: CallContext, queue: str, notes: list[dict[str, str]] | None = None
) -> StepResult:
    """Store the pop and tell the dialplan to queue the call."""
    data = screenpop_data(ctx, queue, notes)
    pop_id = await ctx.store.record_screenpop(ctx.call_id, queue, data)
    ctx.queue = queue
    await ctx.port.hand_over(queue, pop_id)
    return StepResult(Reason.DONE, outcome=Outcome.QUEUED)


async def run(node: TransferNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Say the hand-over prompt, then queue."""
    await ctx.play(node.prompt, barge_in=False)
    queue = fill(node.queue or flow.defaults.cso_queue or "", ctx.variables)
    notes = pop_notes(flow.defaults.pop | node.pop, ctx.variables)
    return await hand_to_queue(ctx, queue or ctx.default_queue, notes)
