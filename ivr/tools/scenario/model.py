"""A scenario file: who calls, the answers by ``ask:`` tag, what must happen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ivr.domain.outages import (
    EVENTS,
    OutageInvalid,
    check_area_codes,
    check_message,
    check_report_number,
)
from ivr.engine.port import Outcome

Answer = str | None
T = TypeVar("T")


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
    #: What the call did after an outage announcement, as ops count it (``[]``: it
    #: heard none): ``heard``, then ``attached``, ``cso`` or ``hung_up``.
    outage_events: list[str] | None = None
    #: Fields of the outage on the stored screen-pop (``message``, ``until``,
    #: ``report_number``, ``units``; ``any``: present), or ``none`` for none.
    screenpop_outage: dict[str, str] | Literal["none"] | None = None

    @field_validator("outage_events")
    @classmethod
    def _known_events(cls, events: list[str] | None) -> list[str] | None:
        for event in events or []:
            if event not in EVENTS:
                raise ValueError(f"unknown outage event {event!r}; known: {', '.join(EVENTS)}")
        return events


class ScenarioOutage(BaseModel):
    """An outage announcement the runner declares in the store before the call (and
    ends after it), as ``pln123 outage add`` would: from now for ``until_minutes``."""

    model_config = ConfigDict(extra="forbid")

    #: Units (UP3) or posko (ULP) as the customer data names them; at least one.
    units: list[str] = Field(min_length=1)
    #: Fixed-line area codes it covers too (``021``).
    area_codes: list[str] = Field(default_factory=list)
    message: str
    until_minutes: float = Field(default=120.0, gt=0)
    #: The master APKT report number ("" for none).
    report: str = ""

    @field_validator("area_codes")
    @classmethod
    def _area_codes(cls, codes: list[str]) -> list[str]:
        return list(_checked(lambda: check_area_codes(codes)))

    @field_validator("message")
    @classmethod
    def _message(cls, message: str) -> str:
        return _checked(lambda: check_message(message))

    @field_validator("report")
    @classmethod
    def _report(cls, report: str) -> str:
        return _checked(lambda: check_report_number(report))


def _checked(check: Callable[[], T]) -> T:
    """``check()``, its :class:`OutageInvalid` as the ValueError pydantic reports."""
    try:
        return check()
    except OutageInvalid as exc:
        raise ValueError(str(exc)) from None


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
    #: Outage announcements in force during the call (declared before it, ended after).
    outages: list[ScenarioOutage] = Field(default_factory=list)
    #: When the call happens, with its offset (``"2026-03-22T19:00:00+07:00"``): the
    #: greeting, queue opening hours and holidays follow it. Unset: the real clock. The
    #: simulator honours it; a real call only when the real clock agrees (see
    #: :mod:`ivr.tools.scenario.clock`).
    at: dt.datetime | None = None
    expect: Expect = Field(default_factory=Expect)
    file: Path | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, at: dt.datetime | None) -> dt.datetime | None:
        if at is not None and (at.tzinfo is None or at.utcoffset() is None):
            raise ValueError("at: give the offset too, e.g. 2026-03-22T19:00:00+07:00")
        return at

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
