"""The result of running one scenario, either way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ivr.store.calls import CallSummary
from ivr.tools.scenario.model import Scenario


@dataclass
class ScenarioResult:
    """A scenario, how it ran, and what differed from its expectation."""

    scenario: Scenario
    via: str
    summary: CallSummary | None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when the call ran and matched every expectation."""
        return self.summary is not None and not self.problems

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        data: dict[str, Any] = {
            "scenario": self.scenario.name,
            "file": str(self.scenario.file) if self.scenario.file else None,
            "via": self.via,
            "passed": self.passed,
            "problems": self.problems,
        }
        if self.summary is not None:
            data.update(self.summary.as_json())
        return data
