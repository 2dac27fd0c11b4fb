"""The AMI queue events a screen-pop follows, read into one small type.

``manager.conf`` exports ``PLN123_POP_ID`` (``channelvars``), so each queue event about
a caller the IVR handed over carries ``ChanVariable: PLN123_POP_ID=<id>`` for the
caller's channel; ``timestampevents = yes`` adds Asterisk's own ``Timestamp``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ivr.agi import variables as var
from ivr.asterisk.ami import AmiEvent

#: AMI event name -> what it means for a pop.
KINDS = {
    "AgentCalled": "ring",
    "AgentConnect": "connect",
    "AgentRingNoAnswer": "no_answer",
    "AgentComplete": "complete",
    "QueueCallerAbandon": "abandon",
}

#: Pop id of a queued call that did not come through the IVR (the IVR was down, or a
#: call queued by other dialplan): the caller channel's Uniqueid after this prefix.
BYPASS_PREFIX = "uid-"


@dataclass(frozen=True)
class QueueEvent:
    """One queue event about a caller: which pop, which agent (member name), when."""

    kind: str
    pop_id: str
    queue: str
    #: Queue member name ("" for events about the caller alone, e.g. an abandon).
    member: str
    interface: str
    caller: str
    #: Epoch seconds, from Asterisk's ``Timestamp`` when it sends one.
    at: float


def queue_event(event: AmiEvent) -> QueueEvent | None:
    """The queue event in an AMI event, or None when it is not one a pop follows."""
    kind = KINDS.get(event.name)
    if kind is None:
        return None
    pop_id = event.variables.get(var.POP_ID, "")
    if not pop_id:
        uniqueid = event.get("uniqueid")
        if not uniqueid:
            return None
        pop_id = BYPASS_PREFIX + uniqueid
    try:
        at = float(event.get("timestamp"))
    except ValueError:
        at = time.time()
    return QueueEvent(
        kind=kind,
        pop_id=pop_id,
        queue=event.get("queue"),
        member=event.get("membername"),
        interface=event.get("interface"),
        caller=event.get("calleridnum"),
        at=at,
    )
