"""``transfer``: hand the call to a CSO queue with the screen-pop data.

The IVR stores the pop, sets the channel variables and lets go of the call; the
dialplan queues it. The AGI connection is not held while the caller waits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field, field_validator

from ivr.backends.forms import report_request
from ivr.backends.ports import ReportRequest
from ivr.domain import self_diagnosis
from ivr.engine.context import CallContext
from ivr.engine.kinds import NodeKind, Reason, StepResult, Style, no_edges, own_prompt
from ivr.engine.model import Flow, NodeBase, PromptPart, as_list
from ivr.engine.pop import Answer, Caller, Customer, Note, OpenReport, OutageNotice, ScreenPop
from ivr.engine.port import Outcome
from ivr.prompts.catalogue import PLACEHOLDER, fill
from ivr.steps import queue_hours

log = logging.getLogger(__name__)


class TransferNode(NodeBase):
    """Hand the call to a CSO queue with the screen-pop data; the IVR's part ends."""

    kind: Literal["transfer"]
    queue: str | None = None
    prompt: list[PromptPart] = Field(default_factory=list)
    #: Lines for the CSO's screen-pop, over the flow's ``defaults.pop``.
    pop: dict[str, str] = Field(default_factory=dict)

    _list = field_validator("prompt", mode="before")(as_list)


def pop_notes(lines: Mapping[str, str], variables: Mapping[str, str]) -> list[Note]:
    """A flow's ``pop:`` lines filled from the call; a line that names a variable the
    call has not set (or set empty) is left out, so the CSO sees no half sentences."""
    notes = []
    for label, template in lines.items():
        names = PLACEHOLDER.findall(template)
        if any(not variables.get(name) for name in names):
            continue
        value = fill(template, dict(variables)).strip()
        if value:
            notes.append(Note(label, value))
    return notes


def screenpop_data(ctx: CallContext, queue: str, notes: Sequence[Note] = ()) -> ScreenPop:
    """What the CSO's screen shows: who calls, every answer in the order given, the path,
    the APKT form as far as the call filled it (suggested problem text and WO type
    included), and the flow's own lines (``notes``), so nobody asks twice."""
    form: ReportRequest | None = None
    if ctx.variables.get("problem_text"):  # a gangguan call: the flow set up a report
        try:
            form = report_request(ctx.variables, ctx.call_id, ctx.default_timezone)
        except (ValueError, KeyError) as exc:  # an odd value must not stop the hand-over
            log.warning("call %s: APKT form left out of the screen-pop: %s", ctx.call_id, exc)
    v = ctx.variables
    return ScreenPop(
        call_id=ctx.call_id,
        flow=ctx.flow_name,
        queue=queue,
        caller=Caller(
            number=v.get("caller", ""),
            line=v.get("caller_class", ""),
            name=v.get("nama", ""),
            salutation=v.get("sapaan", ""),
        ),
        customer=_customer(v),
        power_state=v.get("power_state", ""),
        self_diagnosis={
            code: v[f"meter_{code}"] for code in self_diagnosis.CODES if f"meter_{code}" in v
        },
        answers=tuple(Answer(a["ask"], a["value"]) for a in ctx.answers),
        asks=tuple(ctx.asks),
        path=tuple(ctx.path),
        apkt=form,
        report_number=v.get("report_number", ""),
        notes=tuple(notes),
        # The caller's earlier report, when the flow found one (lapor ulang).
        open_report=(
            OpenReport(v["laporan_terbuka"], v.get("status_laporan", ""))
            if v.get("laporan_terbuka")
            else None
        ),
        outage=_outage(v),
    )


#: Call variables the outage actions set (:mod:`ivr.actions.outage`); the step reads
#: them by name, as it reads the customer's.
OUTAGE_HEARD = "gangguan_didengar"


def _outage(v: Mapping[str, str]) -> OutageNotice | None:
    """The outage announcement the caller heard (found but not played: none)."""
    if not v.get(OUTAGE_HEARD) or not v.get("gangguan_id"):
        return None
    return OutageNotice(
        id=v["gangguan_id"],
        message=v.get("gangguan_pesan", ""),
        until=v.get("gangguan_sampai", ""),
        report_number=v.get("gangguan_laporan", ""),
        units=tuple(unit for unit in v.get("gangguan_unit", "").split(", ") if unit),
    )


def _customer(v: Mapping[str, str]) -> Customer | None:
    """The customer the call identified, with whether the caller confirmed the address;
    or just the number keyed when the lookup found nobody."""
    keyed = v.get("idpel", "") if v.get("idpel") != "tidak_tahu" else ""
    if not v.get("nama_pelanggan"):
        return Customer(keyed=keyed) if keyed else None
    confirmed = v.get("address_correct")
    return Customer(
        found=True,
        keyed=v.get("id_dikunci", keyed),
        idpel=v.get("idpel", ""),
        meter_number=v.get("no_meter", ""),
        name=v.get("nama_pelanggan", ""),
        street=v.get("jalan", ""),
        area=v.get("wilayah", ""),
        address_confirmed=None if confirmed is None else confirmed == "ya",
        unit=v.get("unit", ""),
        posko=v.get("posko", ""),
        tariff=v.get("tarif", ""),
        power_va=v.get("daya", ""),
    )


async def hand_to_queue(ctx: CallContext, queue: str, notes: Sequence[Note] = ()) -> StepResult:
    """Store the pop and tell the dialplan to queue the call."""
    pop = screenpop_data(ctx, queue, notes)
    pop_id = await ctx.store.record_screenpop(ctx.call_id, queue, pop.to_stored())
    ctx.queue = queue
    await ctx.port.hand_over(queue, pop_id)
    return StepResult(Reason.DONE, outcome=Outcome.QUEUED)


async def hand_to_open_queue(ctx: CallContext, queue: str) -> StepResult:
    """The interpreter's hand-over when the IVR itself fails: a closed ``queue`` gives
    way to its open alternative (it can offer nothing else now); with none the call is
    queued as before, and the dialplan offers a call-back after the longest wait."""
    return await hand_to_queue(ctx, await queue_hours.open_queue(ctx, queue))


#: What an Asterisk queue name may be here (``queues.conf`` sections).
QUEUE_NAME = re.compile(r"[a-z0-9_]{1,40}")


def queue_name(ctx: CallContext, filled: str) -> str:
    """The queue a filled-in name gives; the default queue when it is empty or no
    queue name at all (a queue from the AGI request's arguments, ``{arg1}``, is not to
    be trusted blindly)."""
    if not filled:
        return ctx.default_queue
    if QUEUE_NAME.fullmatch(filled) is None:
        log.warning(
            "call %s: %r is no queue name; queueing to %s",
            ctx.call_id,
            filled[:60],
            ctx.default_queue,
        )
        return ctx.default_queue
    return filled


async def run(node: TransferNode, ctx: CallContext, flow: Flow) -> StepResult:
    """Say the hand-over prompt, then queue; a queue closed now (its hours, a holiday)
    takes the caller to the out-of-hours offer instead (:mod:`ivr.steps.queue_hours`)."""
    queue = queue_name(ctx, fill(node.queue or flow.defaults.cso_queue or "", ctx.variables))
    notes = pop_notes(flow.defaults.pop | node.pop, ctx.variables)
    closed = await queue_hours.out_of_hours(ctx, queue)
    if closed is not None:
        # The pop goes with the call-back task, so the CSO who calls back sees it all.
        ctx.variables.update(closed)
        pop = screenpop_data(ctx, queue, notes)
        ctx.variables["pop_id"] = await ctx.store.record_screenpop(
            ctx.call_id, queue, pop.to_stored()
        )
        # The out-of-hours flow ends the call; it has no ``return`` to come back by.
        return StepResult(Reason.DONE, next=node.id, enter=queue_hours.OUT_OF_HOURS_FLOW)
    await ctx.play(node.prompt, barge_in=False)
    return await hand_to_queue(ctx, queue, notes)


def describe(flow: Flow, node: TransferNode) -> list[str]:
    """The queue it hands the call to."""
    return [f"queue: {node.queue or flow.defaults.cso_queue or '(default)'}"]


KIND = NodeKind(
    name="transfer",
    schema=TransferNode,
    run=run,
    edges=no_edges,
    prompts=own_prompt,
    describe=describe,
    ends=True,
    style=Style(
        dot='shape=doubleoctagon, style=filled, fillcolor="#fde7e7"',
        mermaid_shape=("([", "])"),
        mermaid_class="fill:#fde7e7,stroke:#c0392b",
    ),
)
