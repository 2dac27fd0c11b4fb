"""A scenario file: who calls, the answers by ``ask:`` tag, what must happen."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ivr.engine.port import Outcome

Answer = str | None


class Expect(BaseModel):
    """What the call must end as. Anything left out is not checked."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = None
    queue: str | None = None
    path: list[str] | None = None
    asks: list[str] | None = None
    #: Answers stored by the IVR, by ask tag (the last value given).
    answers: dict[str, str] | None = None
    #: Fields of the report filed (``wo_type``, ``problem_text``; ``number: any`` checks
    #: that there is one), or ``none`` for no report.
    report: dict[str, str] | Literal["none"] | None = None
    #: The ``Keterangan`` of each APKT "Issue Closed" the call recorded, in order
    #: (``[]``: none). A ``{variable}`` is the call's value at the end (a new ticket's
    #: number, say).
    issues: list[str] | None = None
    #: The ITSM tickets the call made or added a note to, in order (``[]``: none):
    #: ``event`` ``baru`` (a new ticket; ``cites``: the earlier ticket it cites) or
    #: ``catatan`` (a note), and ``number`` (``any`` for a new ticket's).
    tickets: list[dict[str, str]] | None = None
    #: Call variables at the end (a subset; the screen-pop shows them to the CSO).
    variables: dict[str, str] | None = None


class Scenario(BaseModel):
    """One call, written by ask tag so it survives ops reordering a flow."""

    model_config = ConfigDict(extra="forbid")

    name: str
    flow: str = "main"
    caller: str = ""
    #: AGI arguments the flow is run with (``{arg1}`` ...), as the dialplan passes them.
    args: list[str] = Field(default_factory=list)
    #: Answer per ask tag. A list answers successive attempts in order; ``null`` (or an
    #: ask left out) is silence. A single value answers every attempt.
    answers: dict[str, Answer | list[Answer]] = Field(default_factory=dict)
    #: Nobody answers the queue the call ends in: the caller waits the longest wait and
    #: the dialplan runs the call-back flow (``panggilan_balik``), which the scenario's
    #: answers and ``expect`` then cover.
    queue_timeout: bool = False
    #: The caller hangs up when the IVR starts asking this (an ask tag).
    hangup_at: str | None = None
    expect: Expect = Field(default_factory=Expect)
    file: Path | None = None

    @field_validator("answers", mode="before")
    @classmethod
    def _as_text(cls, answers: Any) -> Any:
        def text(value: Any) -> Any:
            if isinstance(value, list):
                return [text(item) for item in value]
            return None if value is None else str(value)

        return (
            {str(k): text(v) for k, v in answers.items()} if isinstance(answers, dict) else answers
        )


class ScenarioError(Exception):
    """A scenario file that cannot be run."""


def load_scenario(path: Path) -> Scenario:
    """A scenario from its YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping (name:, caller:, answers:, expect:)")
    data.setdefault("name", path.stem)
    try:
        return Scenario.model_validate({**data, "file": path})
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


class AnswerBook:
    """Hands out a scenario's answers attempt by attempt."""

    def __init__(self, answers: dict[str, Answer | list[Answer]]) -> None:
        self._answers = answers
        self._used: dict[str, int] = {}

    def next(self, ask: str) -> str | None:
        """The answer to the next attempt at ``ask``; None is silence."""
        given = self._answers.get(ask)
        if not isinstance(given, list):
            return given
        index = self._used.get(ask, 0)
        self._used[ask] = index + 1
        return given[index] if index < len(given) else None
