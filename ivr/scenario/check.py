"""Comparing what a call did with what its scenario expects."""

from __future__ import annotations

from ivr.scenario.model import Expect
from ivr.store.calls import CallSummary


def mismatches(summary: CallSummary, expect: Expect) -> list[str]:
    """Each way the call differs from the expectation, in words."""
    problems = []
    if expect.outcome is not None and summary.outcome != expect.outcome.value:
        problems.append(f"outcome: expected {expect.outcome.value}, got {summary.outcome}")
    if expect.queue is not None and summary.queue != expect.queue:
        problems.append(f"queue: expected {expect.queue}, got {summary.queue}")
    if expect.path is not None and summary.path != expect.path:
        problems.append(f"path: expected {expect.path}, got {summary.path}")
    if expect.asks is not None and summary.asks != expect.asks:
        problems.append(f"asks: expected {expect.asks}, got {summary.asks}")
    if expect.answers is not None:
        given = {answer["ask"]: answer["value"] for answer in summary.answers}
        for ask, value in expect.answers.items():
            if given.get(ask) != value:
                problems.append(f"answer {ask}: expected {value!r}, got {given.get(ask)!r}")
    if expect.report == "none" and summary.report is not None:
        problems.append(f"report: expected none, got {summary.report['number']}")
    elif isinstance(expect.report, dict):
        problems.extend(_report_mismatches(summary, expect.report))
    if expect.issues is not None and summary.issues != expect.issues:
        problems.append(f"APKT issues: expected {expect.issues}, got {summary.issues}")
    if expect.variables is not None:
        for name, value in expect.variables.items():
            if summary.variables.get(name) != value:
                got = summary.variables.get(name)
                problems.append(f"variable {name}: expected {value!r}, got {got!r}")
    return problems


def _report_mismatches(summary: CallSummary, expected: dict[str, str]) -> list[str]:
    if summary.report is None:
        return ["report: expected one, none was filed"]
    problems = []
    for field, value in expected.items():
        got = summary.report.get(field)
        if value == "any" and got:
            continue
        if got != value:
            problems.append(f"report {field}: expected {value!r}, got {got!r}")
    return problems
