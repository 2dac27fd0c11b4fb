"""The figures of ``pln123 bench calls`` and their table.

Definitions (the README's "Real calls" paragraph says the same):

* **failed**: a call that did not end as its scenario expects: a problem on the
  caller's side (timeout, an answer the node could not take, a hang-up before the
  IVR's outcome), no IVR record, an outcome other than the expected one, a *wrong
  answer*, or, when the scenario expects a report, no report filed by that call.
* **wrong answers**: answers in the store's ``answers`` table whose value is not what
  the caller keyed: the scenario gives one answer per ask, and every value stored for
  that ask must be it (a key the IVR never heard turns ``220,5`` into ``20,5``, a
  reading the report then carries).
* **step**: the IVR's turn, from Asterisk's answer to a command reaching the FastAGI
  relay to the IVR's next command reaching it (:mod:`.agi_relay`); after a caller's
  keys that is "key to next command". p50 and p99 over every step of every call.
* **peak concurrent calls**: the most calls up at once, each from its Originate to
  its IVR leg's hang-up (or its joining a CSO queue); the relay's most FastAGI
  sessions open at once is shown next to it.
* **calls lost**: calls that neither completed in the IVR (its call-end event with
  an outcome, recorded in the store; a ``queued`` outcome must also have joined its
  queue) nor reached a CSO queue (Asterisk's ``QueueCallerJoin`` for the IVR leg, by
  the IVR's hand-over or the dialplan's fallback when the AGI session broke).
* **answers lost**: answers the caller keyed and the IVR acknowledged (it went on to
  another question, or ended the call with an outcome) that are not in the store's
  ``answers`` table under that call and ask.
* **CPU per call**: user plus system seconds from ``/proc/<pid>/stat`` over the run,
  of Asterisk and of the IVR's processes (the supervisor and every worker), divided
  by the calls placed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ivr.tools.bench.agi import peak_concurrent
from ivr.tools.bench.call_driver import CallTrace
from ivr.tools.bench.store_query import StoredCalls

#: Targets from the issue.
TARGET_FAILED = 0
TARGET_LOST = 0


@dataclass(frozen=True)
class Kill:
    """The worker the bench killed: its pid and seconds after the first call."""

    pid: int
    at: float
    role: str


@dataclass(frozen=True)
class RunFacts:
    """What a run measured, before the figures are worked out."""

    scenario: str
    expected_outcome: str | None
    expects_report: bool
    workers: int
    store: str
    ramp: float
    prompt_seconds: float
    traces: list[CallTrace]
    stored: StoredCalls
    #: The one answer the scenario gives for each ask (asks with several are left out).
    expected: dict[str, str]
    steps: list[float]
    relay_peak: int
    cpu: dict[str, float]
    bench_cpu: float
    wall: float
    kill: Kill | None


def percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def wrong_answers(trace: CallTrace, facts: RunFacts) -> list[tuple[str, str]]:
    """The ``(ask, value)`` answers of one call stored with a value not keyed."""
    stored = facts.stored.values.get(trace.call_id or "", [])
    return [
        (ask, value)
        for ask, value in stored
        if ask in facts.expected and value != facts.expected[ask]
    ]


def failed(trace: CallTrace, facts: RunFacts) -> bool:
    """Whether one call did not end as its scenario expects (see the module)."""
    if trace.problems or trace.call_id is None or trace.call_id not in facts.stored.outcomes:
        return True
    if wrong_answers(trace, facts):
        return True
    outcome = facts.stored.outcomes[trace.call_id]
    if facts.expected_outcome is not None and outcome != facts.expected_outcome:
        return True
    return facts.expects_report and trace.call_id not in facts.stored.reported


def lost(trace: CallTrace, stored: StoredCalls) -> bool:
    """Whether a call neither completed in the IVR nor reached a CSO queue."""
    if trace.queue is not None:
        return False
    recorded = trace.call_id is not None and stored.outcomes.get(trace.call_id) is not None
    return not (recorded and trace.outcome is not None and trace.outcome != "queued")


def answers_lost(trace: CallTrace, stored: StoredCalls) -> int:
    """Acknowledged answers of one call missing from the store."""
    if not trace.acknowledged:
        return 0
    if trace.call_id is None:
        return len(trace.acknowledged)
    kept = stored.answers.get(trace.call_id, set())
    return sum(ask not in kept for ask in trace.acknowledged)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(facts: RunFacts) -> str:
    """The bench's table, with PASS/FAIL per target."""
    traces = facts.traces
    calls = len(traces)
    n_failed = sum(failed(t, facts) for t in traces)
    reports = sum(t.call_id in facts.stored.reported for t in traces if t.call_id)
    steps = sorted(facts.steps)
    p50, p99 = percentile(steps, 0.5) * 1000, percentile(steps, 0.99) * 1000
    peak = peak_concurrent([(t.originated, t.ended or t.originated) for t in traces])
    per_call = max(calls, 1)
    asterisk_cpu = facts.cpu.get("asterisk", math.nan) / per_call
    ivr_cpu = facts.cpu.get("ivr", math.nan) / per_call
    outcomes: Counter[str] = Counter()
    for trace in traces:
        outcome = facts.stored.outcomes.get(trace.call_id or "")
        if outcome is not None:
            outcomes[outcome] += 1
        elif trace.queue is not None:
            outcomes[f"fallback to {trace.queue}"] += 1
        else:
            outcomes["no IVR record"] += 1
    n_lost = sum(lost(t, facts.stored) for t in traces)
    n_answers = sum(len(t.acknowledged) for t in traces)
    n_answers_lost = sum(answers_lost(t, facts.stored) for t in traces)
    wrong = Counter(
        f"{ask}={value!r} for {facts.expected[ask]!r}"
        for t in traces
        for ask, value in wrong_answers(t, facts)
    )
    wrong_calls = sum(bool(wrong_answers(t, facts)) for t in traces)
    problems = Counter(p for t in traces for p in t.problems)

    def row(*cells: str) -> str:
        name, *rest = cells
        widths = (6, 7, 8, 9, 12, 12, 6, 12, 12, 7)
        return f"{name:<5}" + "".join(f" {c:>{w}}" for c, w in zip(rest, widths, strict=True))

    workers = f"{facts.workers} worker{'s' if facts.workers != 1 else ''}"
    lines = [
        f"real-call bench: {calls} calls of '{facts.scenario}' through the sandbox Asterisk"
        f" into `pln123 serve` ({workers}, {facts.store} store), started over"
        f" {facts.ramp:g} s; silent prompts of {facts.prompt_seconds:g} s; caller legs key"
        " the scenario's answers with SendDTMF",
        "step = Asterisk's answer -> the IVR's next command, timed at a FastAGI relay;"
        " CPU from /proc over the run (IVR: supervisor and every worker)",
        "",
        row(
            "",
            "calls",
            "failed",
            "reports",
            "peak",
            "step p50 ms",
            "step p99 ms",
            "AGI",
            "Ast CPU s/c",
            "IVR CPU s/c",
            "wall s",
        ),
        row(
            "",
            str(calls),
            str(n_failed),
            str(reports),
            str(peak),
            f"{p50:.2f}",
            f"{p99:.2f}",
            str(facts.relay_peak),
            f"{asterisk_cpu:.4f}",
            f"{ivr_cpu:.4f}",
            f"{facts.wall:.1f}",
        ),
        "",
        "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        *(
            [f"PostgreSQL server CPU: {facts.cpu['postgres'] / per_call:.4f} s/call"]
            if "postgres" in facts.cpu
            else []
        ),
        f"steps timed: {len(steps)}; answers acknowledged: {n_answers};"
        f" bench's own CPU (driver and relay): {facts.bench_cpu / per_call * 1000:.1f} ms/call",
    ]
    why = Counter(
        f"{facts.stored.cso_reasons.get(t.call_id, '') or '-'}:"
        f" {', '.join(facts.stored.misses.get(t.call_id, [])) or 'no missed input'}"
        for t in traces
        if t.call_id and failed(t, facts)
    )
    if why:
        lines.append(
            "failed calls (CSO reason: node exits): "
            + "; ".join(f"{text} ({count})" for text, count in why.most_common(5))
        )
    lines.append(
        f"wrong answers stored: {sum(wrong.values())} in {wrong_calls} calls"
        + (
            " (" + "; ".join(f"{text} x{count}" for text, count in wrong.most_common(5)) + ")"
            if wrong
            else ""
        )
    )
    if problems:
        lines.append(
            "problems: " + "; ".join(f"{text} ({count})" for text, count in problems.most_common(5))
        )
    if facts.kill is not None:
        lines.append(
            f"killed {facts.kill.role} pid {facts.kill.pid} with SIGKILL"
            f" {facts.kill.at:.1f} s after the first call"
        )
    lines += [
        f"calls lost: {n_lost}; answers lost: {n_answers_lost}",
        "",
    ]
    if facts.kill is None:
        lines += [
            f"{_verdict(n_failed == TARGET_FAILED)}  failed calls == 0 ({n_failed})",
            f"{_verdict(reports == calls or not facts.expects_report)}  reports found =="
            f" calls ({reports}/{calls})",
        ]
    lines += [
        f"{_verdict(n_lost == TARGET_LOST)}  calls lost == 0 ({n_lost})",
        f"{_verdict(n_answers_lost == TARGET_LOST)}  answers lost == 0 ({n_answers_lost})",
    ]
    return "\n".join(lines)
