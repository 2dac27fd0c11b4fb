"""A hangup at every operation of the call port (every prompt, key wait, listening
announcement, call event, hand-over and hang-up), for every scenario of
``tests/scenarios``: the record ends with outcome ``hangup`` (or the outcome it already
had), every answer stored before that operation is still stored, a call that reached a
CSO has its pop, and nothing is logged at ERROR.

Each scenario runs once to count its operations (and to note, before each one, what
the store held); then once per hangup point on a fresh copy of the seeded store.

CI samples the points: every operation of :data:`EVERY_POINT` and every third of the
other scenarios. ``PLN123_HANGUP_FULL=1`` sweeps every operation of every scenario;
``PLN123_HANGUP_STRIDE=n`` sets the sampling stride of the others.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.engine.library import FlowLibrary
from ivr.engine.port import EVENT_CALL_START
from ivr.tools.scenario.model import Expect, load_scenario
from ivr.tools.testing.fake_asterisk import CallScript, Fault, place_call
from tests.fault.harness import (
    HOST,
    IDPEL,
    SCENARIOS,
    Bench,
    Operations,
    SeededTemplate,
    Served,
    counted_ports,
    env_int,
    errors_logged,
    open_bench,
    run_scenario,
    scenario_files,
)

FULL = os.environ.get("PLN123_HANGUP_FULL", "") not in ("", "0")
STRIDE = 1 if FULL else env_int("PLN123_HANGUP_STRIDE", 3)
#: Scenarios swept at every operation in CI: together they pass every input of the
#: PERIKSA, PLN Mobile and tambah daya flows (tests/flows/test_hangups.py), the status
#: flow, the out-of-hours flow and the call-back flow after a queue timeout.
EVERY_POINT = {
    "periksa_dipandu_lengkap",
    "periksa_padam_layar_gelap",
    "mobile_tiket_belum_selesai_kendala_lain",
    "mobile_biaya_admin_ovo_lalu_kartu_kredit",
    "tambah_daya_prabayar_terdaftar",
    "tambah_daya_pascabayar_kuasa",
    "status_ctt_token_dibacakan",
    "di_luar_jam_tambah_daya_minggu_malam_telepon_balik",
    "panggilan_balik_nomor_lain",
    "gangguan_dalam_wilayah_lampirkan",
}


#: The product failure the call-start tests show.
@dataclass(frozen=True)
class Snapshot:
    """What the store held just before one operation of the full run."""

    #: (call id, outcome) in the order the calls started.
    calls: list[tuple[str, str | None]]
    #: Each of those calls' stored answers, (ask, value) in order.
    answers: list[list[tuple[str, str]]]


def snapshot(bench: Bench) -> Snapshot:
    calls = bench.calls()
    return Snapshot(calls, [bench.answers(call_id) for call_id, _ in calls])


def points(name: str, names: list[str]) -> list[int]:
    """The operations a hangup is injected at. A call-start event is left out: a hangup
    there has a test of its own
    (:func:`test_a_hangup_at_the_call_start_event_still_closes_the_record`)."""
    stride = 1 if name in EVERY_POINT else STRIDE
    candidates = [k for k, op in enumerate(names) if op != f"event:{EVENT_CALL_START}"]
    return [k for i, k in enumerate(candidates) if i % stride == 0 or k == candidates[-1]]


def check_after_hangup(
    bench: Bench, before: Snapshot, end: Snapshot, in_goodbye: bool
) -> list[str]:
    """What was lost when the caller hung up at an operation the full run's store was
    ``before``; ``in_goodbye``: the operation is in a ``hangup`` node's goodbye prompt
    (a caller who leaves then has had what the call was for: its outcome stands)."""
    problems = []
    calls = bench.calls()
    if len(calls) < len(before.calls):
        problems.append(f"{len(before.calls)} call record(s) before the hangup, {len(calls)} after")
    for index, (call_id, outcome) in enumerate(calls):
        expected: str | None
        if index < len(before.calls):
            had = before.calls[index][1]
            expected = had if had is not None else "hangup"
            if had is None and in_goodbye and index == len(before.calls) - 1:
                expected = end.calls[index][1]
            kept = before.answers[index]
        else:  # a call started after the hangup point (the call-back flow)
            expected = end.calls[index][1] if index < len(end.calls) else None
            kept = []
        if outcome != expected:
            problems.append(f"call {index + 1}: outcome {outcome!r}, expected {expected!r}")
        stored = bench.answers(call_id)
        if stored[: len(kept)] != kept:
            problems.append(f"call {index + 1}: answers {stored} lost some of {kept}")
        if outcome == "queued" and not bench.has_pop(call_id):
            problems.append(f"call {index + 1}: queued without a stored pop")
    return problems


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
async def test_a_hangup_at_any_operation_loses_nothing(
    path: Path,
    library: FlowLibrary,
    template: SeededTemplate,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    scenario = load_scenario(path).model_copy(update={"expect": Expect()})

    # The whole call once: its operations, and the store before each.
    before: list[Snapshot] = []
    with open_bench(template.fresh(scratch)) as bench:
        operations = Operations(watch=lambda _index: before.append(snapshot(bench)))
        with counted_ports(monkeypatch, operations):
            await run_scenario(scenario, bench, library)
        end = snapshot(bench)
    names = operations.names
    assert names and names[0] == f"event:{EVENT_CALL_START}"
    assert not errors_logged(caplog.records), errors_logged(caplog.records)

    problems: list[str] = []
    for at in points(path.stem, names):
        caplog.clear()
        with open_bench(template.fresh(scratch)) as bench:
            with counted_ports(monkeypatch, Operations(hang_up_at=at)):
                try:
                    await run_scenario(scenario, bench, library)
                except Exception as exc:
                    problems.append(f"op {at} ({names[at]}): {type(exc).__name__}: {exc} escaped")
            flow, node = operations.nodes[at]
            in_goodbye = bool(node) and library.flows[flow].flow.nodes[node].kind == "hangup"
            found = check_after_hangup(bench, before[at], end, in_goodbye)
        found += errors_logged(caplog.records)
        problems += [f"op {at} ({names[at]}): {problem}" for problem in found]
    assert not problems, f"{path.stem}: {len(names)} operations\n" + "\n".join(problems)


@pytest.mark.parametrize("name", ["menu_selesai", "periksa_dipandu_lengkap"])
async def test_a_hangup_at_the_call_start_event_still_closes_the_record(
    name: str,
    library: FlowLibrary,
    template: SeededTemplate,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Operation 0: the ``PLN123CallStart`` event (an AGI ``EXEC UserEvent``), sent once
    the call's record is open."""
    caplog.set_level(logging.WARNING)
    scenario = load_scenario(SCENARIOS / f"{name}.yaml").model_copy(update={"expect": Expect()})
    escaped: BaseException | None = None
    with open_bench(template.fresh(scratch)) as bench:
        with counted_ports(monkeypatch, Operations(hang_up_at=0)):
            try:
                await run_scenario(scenario, bench, library)
            except Exception as exc:
                escaped = exc
        calls = bench.calls()
    assert escaped is None, f"{type(escaped).__name__}: {escaped}"
    assert [outcome for _, outcome in calls] == ["hangup"]
    assert not errors_logged(caplog.records)


@pytest.mark.parametrize(
    "fault", [Fault.HANGUP_LINE, Fault.FAILED, Fault.USAGE_BRIEF], ids=lambda f: f.name
)
async def test_a_hangup_at_the_call_start_event_over_agi_still_closes_the_record(
    fault: Fault, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """The same over FastAGI: Asterisk answers the second command, the ``EXEC UserEvent
    PLN123CallStart`` (the first sets ``PLN123_CALL_ID``), with ``HANGUP``, or fails it
    (``200 result=-1``, ``520``): the call's record is still closed."""
    caplog.set_level(logging.WARNING)
    record = await place_call(HOST, served.port, CallScript(faults={2: fault}))
    await served.settled()
    assert record.commands[1].startswith("EXEC UserEvent")
    assert [outcome for _, outcome in served.bench.calls()] in (["hangup"], ["queued"])
    assert not errors_logged(caplog.records)


#: How a call is gone at an AGI command: Asterisk's ``HANGUP`` line, ``511`` on a dead
#: channel, ``result=-1`` with the channel dead, the connection cut.
CALL_GONE = [Fault.HANGUP_LINE, Fault.DEAD_CHANNEL, Fault.FAILED_DEAD, Fault.CLOSE]


@pytest.mark.parametrize("fault", CALL_GONE, ids=lambda f: f.name)
async def test_a_call_gone_at_any_agi_command_loses_nothing(
    fault: Fault, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """The well-formed PERIKSA call over FastAGI (the app's own commands too: the call
    id set, the events), gone at each command in turn: the record ends ``hangup`` (the
    outcome it had once closed), its answers are the full call's first ones and never
    fewer than when the call was gone one command earlier, a queued call has its pop,
    and nothing is logged at ERROR."""
    caplog.set_level(logging.WARNING)
    script = CallScript(keys="122" + IDPEL + "0")
    full = await place_call(HOST, served.port, script)
    await served.settled()
    ((full_id, full_outcome),) = served.bench.calls()
    assert full_outcome == "queued"
    answers = served.bench.answers(full_id)
    closed_at = next(k for k, command in enumerate(full.commands, 1) if "PLN123CallEnd" in command)
    problems: list[str] = []
    kept = 0
    for at in range(1, len(full.commands) + 1):
        if "PLN123CallStart" in full.commands[at - 1]:
            continue  # test_a_hangup_at_the_call_start_event_over_agi_still_closes_the_record
        caplog.clear()
        known = {call_id for call_id, _ in served.bench.calls()}
        await place_call(HOST, served.port, CallScript(keys=script.keys, faults={at: fault}))
        await served.settled()
        calls = [(c, o) for c, o in served.bench.calls() if c not in known]
        where = f"command {at} ({full.commands[at - 1][:40]})"
        if at == 1:  # before the call has a record (its id is being set)
            if calls:
                problems.append(f"{where}: {len(calls)} record(s) of a call gone at once")
            continue
        if len(calls) != 1:
            problems.append(f"{where}: {len(calls)} call records")
            continue
        ((call_id, outcome),) = calls
        expected = "hangup" if at < closed_at else full_outcome
        if outcome != expected:
            problems.append(f"{where}: outcome {outcome!r}, expected {expected!r}")
        stored = served.bench.answers(call_id)
        if stored != answers[: len(stored)] or len(stored) < kept:
            problems.append(f"{where}: answers {stored}, {kept} kept one command earlier")
        kept = max(kept, len(stored))
        if outcome == "queued" and not served.bench.has_pop(call_id):
            problems.append(f"{where}: queued without a stored pop")
        problems += [f"{where}: {e}" for e in errors_logged(caplog.records)]
    assert not problems, "\n".join(problems)
