"""What ops count: each node a call passes, how it leaves it, and how the call ends.

The interpreter reports every node a call enters as one :class:`NodeExit` when the
call leaves it (to the next node, by running out of attempts, by hanging up, to a
CSO, or by a fault). :class:`Journey` keeps a call's exits in order and works out
*why* a call that ends in a CSO queue got there: the caller asked, the flow routed
it, the attempts ran out, a backend failed or timed out, or the IVR failed.

Definitions (the README's "What the numbers mean" uses the same words):

- ``contained``: the IVR finished the caller's task itself: a report filed, status or
  information given and the call closed, a call-back task registered.
- ``cso``: the call was queued to a CSO, for any reason.
- ``abandoned``: the caller hung up before any outcome.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, Protocol

from ivr.engine.port import Outcome


class Exit(StrEnum):
    """How a call left a node."""

    #: On to the next node (an answer given, a prompt played, an action's result).
    NEXT = "next"
    #: The attempts ran out on silence.
    NOINPUT = "noinput"
    #: The attempts ran out on wrong answers.
    NOMATCH = "nomatch"
    #: The caller hung up here.
    HANGUP = "hangup"
    #: Toward a CSO: the caller pressed the CSO key here, or the call was queued here.
    CSO = "cso"
    #: A fault: an action failed or timed out, or the IVR itself failed.
    ERROR = "error"
    #: The call ended here, finished by the IVR.
    END = "end"


class CsoReason(StrEnum):
    """Who asked for a CSO, for a call that was queued."""

    #: The caller pressed the CSO key, or chose the CSO option of a menu.
    CALLER = "caller"
    #: The flow's own route (the SOP sends this case to a CSO).
    FLOW = "flow"
    #: An input's attempts ran out (silence or wrong answers).
    RETRIES = "retries"
    #: A backend (CRM, customer data, APKT, AP2T, ITSM) failed.
    BACKEND = "backend"
    #: An action ran past its time limit.
    TIMEOUT = "timeout"
    #: The IVR itself failed (a bug, a broken flow at run time).
    ERROR = "error"


class CallResult(StrEnum):
    """The one outcome ops count a call by."""

    CONTAINED = "contained"
    CSO = "cso"
    ABANDONED = "abandoned"


#: A call variable whose presence means the caller's task was done (a report filed, a
#: call-back registered): a hangup after it still counts as contained.
TASK_DONE_VARIABLES = ("report_number", "callback_tersimpan", "gangguan_dilampirkan")


def call_result(outcome: Outcome, variables: Mapping[str, str]) -> CallResult:
    """The ops outcome of a call that ended with ``outcome``."""
    if outcome is Outcome.QUEUED:
        return CallResult.CSO
    if outcome in (Outcome.CLOSED, Outcome.REPORT_CREATED):
        return CallResult.CONTAINED
    if any(variables.get(name) for name in TASK_DONE_VARIABLES):
        return CallResult.CONTAINED
    return CallResult.ABANDONED


class NodeExit(NamedTuple):
    """One node of one call: entered, then left by ``exit`` toward ``target``.

    ``cause``: for ``cso`` and ``error`` exits, the :class:`CsoReason` it stands for;
    ``via``: ``dtmf`` or ``speech`` when the caller answered here; ``at``: epoch
    seconds of the exit. A named tuple, not a dataclass: one is made for every node
    of every call, and the store writes it as it is.
    """

    seq: int
    flow: str
    node: str
    exit: Exit
    target: str
    cause: str
    via: str
    seconds: float
    at: float


class CallWatcher(Protocol):
    """Something that follows calls live (the Prometheus metrics)."""

    def call_started(self, flow: str) -> None: ...

    def node_left(self, flow: str, node: str, exit: Exit) -> None: ...

    def call_ended(
        self, flow: str, result: CallResult, cso_reason: CsoReason | None, seconds: float
    ) -> None: ...


@dataclass
class Journey:
    """One call's exits so far, and the reason a CSO would be given now."""

    started: float = field(default_factory=time.monotonic)
    #: Epoch seconds at monotonic time 0 (exits are stamped without a second clock read).
    epoch: float = field(default_factory=lambda: time.time() - time.monotonic())
    exits: list[NodeExit] = field(default_factory=list)
    #: The latest event that pointed toward a CSO; an answer given clears it.
    pending: CsoReason | None = None
    #: Set once the call is queued: why.
    cso_reason: CsoReason | None = None

    def left(
        self,
        flow: str,
        node: str,
        exit: Exit,
        entered: float,
        target: str = "",
        cause: str = "",
        via: str = "",
    ) -> NodeExit:
        """Record that the call left ``node`` (entered at monotonic time ``entered``).

        Runs for every node of every call: positional arguments, one clock read.
        """
        exits = self.exits
        now = time.monotonic()
        record = NodeExit(
            len(exits), flow, node, exit, target, cause, via, now - entered, self.epoch + now
        )
        exits.append(record)
        return record

    @property
    def seconds(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self.started
