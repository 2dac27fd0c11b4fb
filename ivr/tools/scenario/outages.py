"""A scenario's outages: declared in the store before its call, ended after it.

Both runners use these, the simulator on the call store's connection and the
Asterisk runner on its own connection to the file the serving IVR reads (whose outage
board sees the change at its next poll of ``control_version``, within two seconds;
a scenario call reaches the outage check later than that). Each change is audited
like ``pln123 outage add``/``end``, by actor ``scenario:<name>``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ivr.store.control import ControlError, add_outage, end_outage
from ivr.store.dbapi import Connection
from ivr.tools.scenario.model import Scenario


def declare_outages(conn: Connection, scenario: Scenario, now: float) -> list[int]:
    """Store the scenario's outages, in force from ``now``; their ids."""
    actor = f"scenario:{scenario.name}"[:100]
    return [
        add_outage(
            conn,
            units=outage.units,
            area_codes=outage.area_codes,
            message=outage.message,
            report_number=outage.report,
            until=now + outage.until_minutes * 60,
            actor=actor,
            now=now,
        )
        for outage in scenario.outages
    ]


def end_outages(conn: Connection, scenario: Scenario, ids: Sequence[int]) -> None:
    """End the outages a scenario declared (one already over is left as it is)."""
    actor = f"scenario:{scenario.name}"[:100]
    for outage_id in ids:
        with contextlib.suppress(ControlError):
            end_outage(conn, outage_id, actor, time.time())


@contextmanager
def scenario_outages(conn: Connection, scenario: Scenario) -> Iterator[list[int]]:
    """The scenario's outages in force for the block (nothing when it has none)."""
    if not scenario.outages:
        yield []
        return
    ids = declare_outages(conn, scenario, time.time())
    try:
        yield ids
    finally:
        end_outages(conn, scenario, ids)
