"""The contract every step keeps."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a step ended."""

    DONE = "done"
    DTMF = "dtmf"
    SPEECH = "speech"
    NOINPUT = "noinput"
    NOMATCH = "nomatch"
    CSO = "cso"
    HANGUP = "hangup"
    ERROR = "error"


class Outcome(StrEnum):
    """How a call ended, as reported by the scenario runner."""

    REPORT_CREATED = "report_created"
    QUEUED = "queued"
    CLOSED = "closed"
    HANGUP = "hangup"


@dataclass(frozen=True, slots=True)
class StepResult:
    """Where to go next (``next``), or how the call ended (``outcome``), and why."""

    reason: Reason
    next: str | None = None
    outcome: Outcome | None = None
    value: str | None = None
