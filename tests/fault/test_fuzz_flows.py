"""Random callers through every top-level flow (those the dialplan runs: ``main`` and
``panggilan_balik``) in the simulator, on one store that grows run after run.

Each run's caller presses random keys at each question: silence, one key, ``*`` and
``#``, short and very long strings, or (often, so the deep nodes are reached) a valid
answer some scenario gives to that question. Every other run takes speech too: random
words, a phrase of the question's grammar (confident or not), a key, or silence. Calls
run at the scenarios' moments (office hours, evenings, a holiday), sometimes with an
outage in force, from odd caller IDs as well; one in ten hangs up at a random moment.

Asserted for every run: no exception escapes, the run adds exactly one call record with
an outcome (a queued call has its pop), nothing is logged at ERROR; and the rate of the
first tenth of the runs, replayed at the end (the same calls), runs at least a third as
fast as it did at the start, the store grown meanwhile by the runs and by
:data:`BALLAST` calls written into it after the first tenth (a store of some weeks).

``PLN123_FUZZ_RUNS`` (runs per flow), ``PLN123_FUZZ_SEED`` and ``PLN123_FUZZ_BALLAST``
make larger runs on demand. A failure names the run's seed; rerun it alone with
``PLN123_FUZZ_SEED=<seed> PLN123_FUZZ_ONLY=<run>``.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.backends.ports import Backends
from ivr.config import Settings, SpeechSettings
from ivr.engine.context import utc_now
from ivr.engine.library import FlowLibrary
from ivr.engine.model import InputNode
from ivr.engine.port import SpeechTurn
from ivr.language.grammars import InputGrammar
from ivr.sim.port import Answerer
from ivr.sim.runner import simulate_call
from ivr.tools.scenario.clock import fixed_clock
from ivr.tools.scenario.keys import AnswerError, keys_for
from ivr.tools.scenario.model import Scenario, load_scenario
from ivr.tools.scenario.outages import scenario_outages
from tests.fault.harness import (
    OUTCOMES,
    Bench,
    Operations,
    SeededTemplate,
    counted_ports,
    env_int,
    errors_logged,
    open_bench,
    scenario_files,
)
from tests.support import OFFICE_HOURS

RUNS = env_int("PLN123_FUZZ_RUNS", 300)
SEED = env_int("PLN123_FUZZ_SEED", 20260302)
ONLY = env_int("PLN123_FUZZ_ONLY", -1)
#: Calls written through the store (start, answers, pop, end) after the first tenth of
#: the runs, so the last tenth runs on a store that has grown.
BALLAST = env_int("PLN123_FUZZ_BALLAST", 20000)
#: The last tenth may be this much slower than the first (the store grew meanwhile).
MAX_SLOWDOWN = 3.0
KEYS = "0123456789*#"
QUEUES = ["umum", "periksa", "status", "tambah_daya", "pln_mobile", ""]
ODD_CALLERS = [
    "",
    "anonymous",
    "+6281234567890",
    "0" * 40,
    "12",
    "<unknown>",
    "'; DROP TABLE calls; --",
    "08123456789012345678901234567890",
    "62-21-555-1234",
]
SPEECH_NOISE = ["eh", "halo", "apa", "[unk]", "satu dua", "tidak tahu", "mbak", "lima lima"]


def scenario_book() -> tuple[dict[str, list[str]], list[str], list[dt.datetime], list[Scenario]]:
    """From every scenario: the answers given to each ask, the callers, the moments and
    the scenarios that declare an outage."""
    answers: dict[str, list[str]] = {}
    callers: list[str] = []
    moments: list[dt.datetime] = [OFFICE_HOURS]
    with_outages: list[Scenario] = []
    for path in scenario_files():
        scenario = load_scenario(path)
        for ask, given in scenario.answers.items():
            values = given if isinstance(given, list) else [given]
            answers.setdefault(ask, []).extend(v for v in values if v is not None)
        if scenario.caller and scenario.caller not in callers:
            callers.append(scenario.caller)
        if scenario.at is not None and scenario.at not in moments:
            moments.append(scenario.at)
        if scenario.outages:
            with_outages.append(scenario)
    return answers, callers, moments, with_outages


ANSWERS, CALLERS, MOMENTS, WITH_OUTAGES = scenario_book()


def fuzz_answerer(rng: random.Random) -> Answerer:
    """Keys for each question: random, or a valid answer some scenario gives."""

    async def answer(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        roll = rng.random()
        if roll < 0.15:
            return ""
        if roll < 0.6 and ANSWERS.get(ask):
            try:
                return keys_for(node, ask, rng.choice(ANSWERS[ask]))
            except AnswerError:
                pass
        if roll < 0.7:
            return rng.choice(KEYS)
        if roll < 0.9:
            return "".join(rng.choice(KEYS) for _ in range(rng.randint(2, 16)))
        if roll < 0.95:
            return "".join(rng.choice(KEYS) for _ in range(rng.randint(30, 300)))
        return rng.choice(["*", "#", "**", "##", "*#", "#*0", "*" * 12])

    return answer


def fuzz_speech(rng: random.Random) -> Callable[[InputGrammar], SpeechTurn | None]:
    """A listening window's result: words (the grammar's or noise), a key, or silence."""

    def turn(grammar: InputGrammar) -> SpeechTurn | None:
        roll = rng.random()
        if roll < 0.2:
            return None  # this window's audio failed: keys
        if roll < 0.3:
            return SpeechTurn()
        if roll < 0.4:
            return SpeechTurn(key=rng.choice(KEYS), more_keys=rng.choice(["", "12", "#"]))
        if roll < 0.8 and grammar.phrases:
            return SpeechTurn(text=rng.choice(grammar.phrases), confident=rng.random() < 0.85)
        words = " ".join(rng.choice(SPEECH_NOISE) for _ in range(rng.randint(1, 6)))
        return SpeechTurn(text=words, confident=rng.random() < 0.5)

    return turn


def write_ballast(bench: Bench, calls: int) -> None:
    """``calls`` finished calls written straight into the store's tables, in one
    transaction, shaped as a call's rows are (answers, a pop as large as the last one
    stored, journey rows)."""
    conn = bench.store.connection
    last = conn.execute("SELECT data FROM screenpops ORDER BY rowid DESC LIMIT 1").fetchone()
    pop = last[0] if last is not None else "{}"
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    conn.execute("BEGIN")
    for index in range(calls):
        call_id = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO calls (id, flow, caller, channel, uniqueid, started_at, ended_at,"
            " outcome, queue, path, asks, variables) VALUES (?, 'main', '081234567890', '',"
            " '', ?, ?, 'queued', 'periksa', '[]', '[]', '{}')",
            (call_id, now, now),
        )
        conn.executemany(
            "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
            " VALUES (?, ?, 'menu', 'menu', 'periksa', 'dtmf', ?)",
            [(call_id, seq, now) for seq in range(3)],
        )
        conn.execute(
            "INSERT INTO screenpops (id, call_id, queue, data, created_at)"
            " VALUES (?, ?, 'periksa', ?, ?)",
            (call_id, call_id, pop, now),
        )
        conn.executemany(
            "INSERT INTO journeys (call_id, seq, flow, node, exit, target, cause, via,"
            " seconds, at) VALUES (?, ?, 'main', 'menu', 'next', '', '', 'dtmf', 0.1, ?)",
            [(call_id, seq, time.time() - index * 0.001) for seq in range(5)],
        )
    conn.execute("COMMIT")
    # As a store that grew over weeks: in the database file, not in one huge WAL.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def one_run(
    flow: str,
    run: int,
    bench: Bench,
    settings: Settings,
    library: FlowLibrary,
    backends: Backends,
) -> tuple[list[str], float]:
    """Run ``run`` of ``flow``: what went wrong, and the seconds the call took (the
    checks after it not counted)."""
    rng = random.Random(f"{SEED}-{flow}-{run}")
    caller = rng.choice(CALLERS) if rng.random() < 0.85 else rng.choice(ODD_CALLERS)
    moment = rng.choice(MOMENTS)
    clock = fixed_clock(moment) if rng.random() < 0.9 else utc_now
    args = [rng.choice(QUEUES), uuid.uuid4().hex] if flow == "panggilan_balik" else []
    outages = rng.choice(WITH_OUTAGES) if WITH_OUTAGES and rng.random() < 0.15 else None
    before = bench.store.connection.execute("SELECT max(rowid) FROM calls").fetchone()[0] or 0
    problems: list[str] = []
    started = time.perf_counter()
    try:
        with scenario_outages(bench.store.connection, outages or Scenario(name="none", flow=flow)):
            await simulate_call(
                settings,
                library,
                bench.store,
                flow,
                caller,
                fuzz_answerer(rng),
                backends=backends,
                args=args,
                clock=clock,
            )
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc} escaped")
    took = time.perf_counter() - started
    rows = bench.store.connection.execute(
        "SELECT id, outcome FROM calls WHERE rowid > ?", (before,)
    ).fetchall()
    if len(rows) != 1:
        problems.append(f"{len(rows)} call records for one call")
    for call_id, outcome in rows:
        if outcome not in OUTCOMES:
            problems.append(f"outcome {outcome!r}")
        if outcome == "queued" and not bench.has_pop(call_id):
            problems.append("queued without a stored pop")
    return problems, took


@pytest.mark.parametrize("flow", ["main", "panggilan_balik"])
async def test_random_callers_end_with_one_outcome_and_no_error(
    flow: str,
    library: FlowLibrary,
    template: SeededTemplate,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    runs = [ONLY] if ONLY >= 0 else list(range(RUNS))
    tenth = max(1, len(runs) // 10)
    failures: list[str] = []
    with open_bench(template.fresh(scratch)) as bench:
        keys_only = bench.settings
        # Speech on: the engine listens for words in the first attempts of each input.
        speaking = keys_only.model_copy(update={"speech": SpeechSettings(model_path=scratch)})
        backends = bench.backends()

        async def run_one(run: int) -> float:
            """Run ``run`` (odd runs with speech); its seconds. Failures are noted."""
            speech = run % 2 == 1
            turns = fuzz_speech(random.Random(f"{SEED}-{flow}-{run}-speech")) if speech else None
            # One run in ten hangs up somewhere (never at the call-start event: see
            # test_hangup_everywhere.py).
            rng = random.Random(f"{SEED}-{flow}-{run}-hangup")
            hang_up_at = rng.randint(1, 80) if rng.random() < 0.1 else None
            caplog.clear()
            with counted_ports(monkeypatch, Operations(hang_up_at=hang_up_at), turns):
                problems, took = await one_run(
                    flow, run, bench, speaking if speech else keys_only, library, backends
                )
            problems += errors_logged(caplog.records)
            if problems:
                failures.append(
                    f"run {run} (PLN123_FUZZ_SEED={SEED} PLN123_FUZZ_ONLY={run}): "
                    + "; ".join(problems)
                )
            return took

        seconds = []
        for index, run in enumerate(runs):
            if index == tenth and BALLAST:
                write_ballast(bench, BALLAST)
            seconds.append(await run_one(run))
        # The first tenth again, on the store as it is now: the same calls, a larger store.
        again = [await run_one(run) for run in runs[:tenth]]
    assert not failures, f"{len(failures)} of {len(runs)} {flow} runs failed:\n" + "\n".join(
        failures[:30]
    )
    if len(runs) >= 20:
        first, last, replay = sum(seconds[:tenth]), sum(seconds[-tenth:]), sum(again)
        rates = (
            f"{tenth / first:.0f} runs/s in the first tenth, {tenth / last:.0f} in the last,"
            f" {tenth / replay:.0f} for the first tenth's calls again at the end"
        )
        print(f"{flow}: {rates} (seed {SEED}, ballast {BALLAST})")
        assert replay <= MAX_SLOWDOWN * first, f"{flow} slowed down as the store grew: {rates}"
