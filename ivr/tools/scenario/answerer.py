"""A scenario's answers, handed out attempt by attempt as phone keys."""

from __future__ import annotations

from ivr.engine.model import InputNode
from ivr.engine.port import CallerHungUp
from ivr.tools.scenario.keys import AnswerError, keys_for
from ivr.tools.scenario.model import AnswerBook, Scenario


class ScenarioAnswerer:
    """Answers a scenario's asks attempt by attempt; notes answers a node cannot take."""

    def __init__(self, scenario: Scenario) -> None:
        self._book = AnswerBook(scenario.answers)
        self._hangup_at = scenario.hangup_at
        self.errors: list[str] = []
        self.hung_up = False

    async def __call__(self, flow: str, node: InputNode, ask: str, attempt: int) -> str:
        """The keys for this attempt; :class:`CallerHungUp` at the scenario's hang-up point."""
        if ask == self._hangup_at:
            self.hung_up = True
            raise CallerHungUp(f"the caller hangs up at {ask!r}")
        value = self._book.next(ask)
        if value is None:
            return ""
        try:
            return keys_for(node, ask, value)
        except AnswerError as exc:
            self.errors.append(str(exc))
            return ""
