"""What ops count: each node a call passes, how it leaves it, and how the call ends.

The interpreter reports every node a call enters as one :data:`NodeExit` when the
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
from typing import Protocol

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


#: One node exit of one call, as the store writes it: ``(call_id, seq, flow, node, exit,
#: target, cause, via, seconds, at)``. The call entered ``node`` and left it by ``exit``
#: (an :class:`Exit`'s value) toward ``target``; ``cause``: for ``cso`` and ``error``
#: exits, the :class:`CsoReason` it stands for; ``via``: ``dtmf`` or ``speech`` when the
#: caller answered here; ``at``: epoch seconds of the exit.
#:
#: A plain tuple of strings and numbers, made once per node of every call: the garbage
#: collector stops tracking such a tuple at its first pass (a named tuple, or one holding
#: an enum member, it tracks until it is freed), and the store writes it as it is.
NodeExit = tuple[str, int, str, str, str, str, str, str, float, float]


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
    #: Exits so far (the next one's ``seq``). The exits themselves are not kept here: the
    #: store holds them until they are written, a fraction of a second.
    count: int = 0
    #: The latest event that pointed toward a CSO; an answer given clears it.
    pending: CsoReason | None = None
    #: Set once the call is queued: why.
    cso_reason: CsoReason | None = None

    def left(
        self,
        call_id: str,
        flow: str,
        node: str,
        exit: Exit,
        entered: float,
        target: str = "",
        cause: str = "",
        via: str = "",
    ) -> NodeExit:
        """The exit of the call from ``node`` (entered at monotonic time ``entered``), as
        the store writes it.

        Runs for every node of every call: positional arguments, one clock read.
        """
        seq = self.count
        self.count = seq + 1
        now = time.monotonic()
        return (
            call_id,
            seq,
            flow,
            node,
            exit.value,
            target,
            cause,
            via,
            now - entered,
            self.epoch + now,
        )

    @property
    def seconds(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self.started
