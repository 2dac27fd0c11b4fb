"""Comparing what a call did with what its scenario expects."""

from __future__ import annotations

from ivr.prompts.catalogue import PLACEHOLDER, fill
from ivr.store.calls import CallSummary
from ivr.tools.scenario.model import Expect


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
    if expect.issues is not None:
        unset = sorted(
            {
                name
                for text in expect.issues
                for name in PLACEHOLDER.findall(text)
                if not summary.variables.get(name)
            }
        )
        issues = [fill(text, summary.variables) for text in expect.issues]
        if unset:
            problems.append(f"APKT issues: variable(s) not set by the call: {', '.join(unset)}")
        elif summary.issues != issues:
            problems.append(f"APKT issues: expected {issues}, got {summary.issues}")
    if expect.tickets is not None:
        problems.extend(_ticket_mismatches(summary.tickets, expect.tickets))
    if expect.variables is not None:
        for name, value in expect.variables.items():
            if summary.variables.get(name) != value:
                got = summary.variables.get(name)
                problems.append(f"variable {name}: expected {value!r}, got {got!r}")
    if expect.outage_events is not None and summary.outage_events != expect.outage_events:
        problems.append(
            f"outage events: expected {expect.outage_events}, got {summary.outage_events}"
        )
    if expect.screenpop_outage is not None:
        problems.extend(_pop_outage_mismatches(summary, expect.screenpop_outage))
    return problems


def _pop_outage_mismatches(summary: CallSummary, expected: dict[str, str] | str) -> list[str]:
    outage = (summary.screenpop or {}).get("outage")
    if expected == "none":
        return [] if not outage else [f"screen-pop outage: expected none, got {outage}"]
    if not outage:
        return ["screen-pop outage: expected one, the pop has none"]
    assert isinstance(expected, dict)
    problems = []
    for field, value in expected.items():
        got = outage.get(field)
        got_text = ", ".join(got) if isinstance(got, list) else got
        if value == "any" and got_text:
            continue
        if got_text != value:
            problems.append(f"screen-pop outage {field}: expected {value!r}, got {got_text!r}")
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


def _ticket_mismatches(got: list[dict[str, str]], expected: list[dict[str, str]]) -> list[str]:
    if len(got) != len(expected):
        return [f"ITSM tickets: expected {expected}, got {got}"]
    problems = []
    for index, (ticket, wanted) in enumerate(zip(got, expected, strict=True)):
        for field, value in wanted.items():
            if value == "any" and ticket.get(field):
                continue
            got_value = ticket.get(field)
            if got_value != value:
                problems.append(
                    f"ITSM ticket {index + 1} {field}: expected {value!r}, got {got_value!r}"
                )
    return problems
