"""``pln123 bench agi``: the IVR's cost per call against a bare panoramisk handler.

Each server runs in its own process so only its CPU is counted (``getrusage`` in the
child, user plus system: every thread, the SQLite writer included). The load generator is the
fake Asterisk (:mod:`ivr.tools.testing.fake_asterisk`) in this process: N concurrent calls,
the caller listening to each prompt, pressing 1 at the menu, then a 12-digit IDPEL, so
the ``main`` flow plays, listens, collects and transfers. A prompt playing or a caller
thinking is simulated by a random delay before the fake answers a command that plays
or listens; the step latency measured is the server's part only: from the fake's
answer sent to the next command received.

The bare handler replays the exact command sequence the IVR sent for one call with
panoramisk's ``Request.send_command`` behind its ``Application.handler``: the floor
any FastAGI server on panoramisk pays for the same conversation.

``--hold N`` is the capacity check: N calls started within ``--ramp`` seconds (1) and
held open by prompts that play for seconds (``--prompt-seconds``, 3), so all N are in
one IVR process at once. The peak concurrency is counted twice: by the load generator
(calls between their header block sent and their connection closed) and by the server
(its calls in progress, sampled as each one starts). The soft limit of open files is
raised to the hard one, since each side holds a socket per call; both servers listen
with a backlog of 1024 and the fake connects at most :data:`OPEN_GATE` calls at once.
The fake's own cost is kept out of step latency: each call's task is made at its start
time, its garbage collector is off during a round, and the table shows its CPU per
call and how late its loop wakes up (lag p99).

``--prefill N`` runs the IVR on a store already holding N past calls
(:mod:`ivr.tools.bench.prefill`): a full store must not make calls dearer. Only the
calls recorded after them count in the outcomes the table checks.

``--without-journeys`` adds what recording journeys costs, measured in paired rounds
of two more servers (:mod:`ivr.tools.bench.journey_cost`).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import pickle
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ivr.agi import variables as var
from ivr.config import Settings
from ivr.domain.hours import TABLE as HOURS_TABLE
from ivr.prompts.catalogue import PromptCatalogue, copy_catalogue
from ivr.tools.bench import journey_cost
from ivr.tools.bench.prefill import prefilled
from ivr.tools.testing.fake_asterisk import CallRecord, CallScript, End, place_call
from ivr.tuning import tune_allocator

HOST = "127.0.0.1"
FLOW = "main"


@dataclass(frozen=True)
class CallerPath:
    """What the bench's callers press, and how their calls must end."""

    description: str
    keys: str
    outcome: str
    action: str
    ended: End


#: The caller paths ``pln123 bench agi --path`` offers; all from caller 081234567890,
#: whom the demo CRM knows, through ``main`` into the PERIKSA flow.
PATHS = {
    # The main menu's shape from the foundation: greeting (with the CRM lookup), the
    # menu, 0 (a CSO), transfer to the CSO queue with the screen-pop.
    "menu": CallerPath(
        "greeting, main menu 0, to the umum CSO queue",
        "0",
        "queued",
        var.ACTION_QUEUE,
        End.SERVER_CLOSED,
    ),
    # menu 1, menyala 2, not reported before 2, IDPEL, then 0 at the address question:
    # CRM and customer lookups, the screen-pop with the APKT form, the hand-over.
    "cso": CallerPath(
        "PERIKSA to a CSO after the IDPEL: menu 1, 2, 2, a 12-digit IDPEL, then 0",
        "1" + "2" + "2" + "532112345678" + "0",
        "queued",
        var.ACTION_QUEUE,
        End.SERVER_CLOSED,
    ),
    # ... address right 1, not guided 2, no confirmation call 2, this number reachable 1,
    # telepon/WA/SMS 1; the report is filed in the embedded APKT; no repeat 2,
    # understood 1, nothing else 2.
    "report": CallerPath(
        "PERIKSA to a filed report: menu 1, 2, 2, IDPEL, 1, 2, 2, 1, 1, then 2, 1, 2",
        "1" + "2" + "2" + "532112345678" + "1" + "2" + "2" + "1" + "1" + "2" + "1" + "2",
        "report_created",
        var.ACTION_HANGUP,
        End.HANGUP,
    ),
}
#: Calls connecting (and sending their header block) at the same time.
OPEN_GATE = 64
#: Calls start evenly spread over this many seconds (arrivals, not a thundering herd);
#: every call lasts longer than this, so all of them are in progress at once.
RAMP_SECONDS = 2.0
#: Calls run before measuring: imports, caches and the database file warm up.
WARMUP_CALLS = 20
#: Seconds a prompt plays or a caller takes to press a key (uniform), scaled down.
MEDIA_DELAY = (0.15, 0.35)
#: ``--hold``: calls start within this many seconds; each prompt plays this long on
#: average; a prompt's length is uniform within +/- PROMPT_SPREAD of the average.
HOLD_RAMP_SECONDS = 1.0
HOLD_PROMPT_SECONDS = 3.0
PROMPT_SPREAD = 0.4
#: ``--hold``: the share of the ramp over which calls are scheduled to start; the rest
#: is for the last ones to connect and send their header block.
HOLD_START_SHARE = 0.99
#: Targets from the issue.
TARGET_CPU_RATIO = 1.3
TARGET_P99_MS = 10.0
CHILD_TIMEOUT = 60.0
#: The load generator's loop is checked for lag this often (seconds).
LAG_TICK = 0.005
#: Where ``--prefill`` keeps its built stores, one file per N (reused by later runs).
PREFILL_CACHE = Path(".cache") / "bench"
#: File descriptors a side needs besides one per call (stdio, the database, the loop).
SPARE_FILES = 256


@dataclass(frozen=True)
class Load:
    """How the calls of a round arrive and how long their prompts play."""

    calls: int
    #: Calls start evenly spread over this many seconds.
    ramp: float = RAMP_SECONDS
    #: Seconds a prompt plays (uniform), and a caller takes to press a key.
    prompt_delay: tuple[float, float] = MEDIA_DELAY
    key_delay: tuple[float, float] = MEDIA_DELAY
    #: A ``--hold`` run: every call must be open at once.
    hold: bool = False

    @classmethod
    def make(
        cls,
        calls: int,
        *,
        hold: bool = False,
        ramp: float | None = None,
        prompt_seconds: float | None = None,
    ) -> Load:
        """The load of ``pln123 bench agi``'s options (None: the default of the mode).

        A prompt plays ``prompt_seconds`` +/- :data:`PROMPT_SPREAD` (the default of the
        plain bench, 0.25 s, gives its 150-350 ms); a key always takes 150-350 ms.
        """
        if calls < 1:
            raise ValueError("calls must be at least 1")
        if ramp is None:
            ramp = HOLD_RAMP_SECONDS if hold else RAMP_SECONDS
        if prompt_seconds is None:
            prompt_seconds = HOLD_PROMPT_SECONDS if hold else sum(MEDIA_DELAY) / 2
        if ramp <= 0:
            raise ValueError("ramp must be more than 0 s")
        if prompt_seconds < 0:
            raise ValueError("prompt seconds must not be negative")
        spread = (
            round(prompt_seconds * (1 - PROMPT_SPREAD), 6),
            round(prompt_seconds * (1 + PROMPT_SPREAD), 6),
        )
        return cls(calls, ramp, spread, MEDIA_DELAY, hold)

    def describe(self) -> str:
        """The prompt and key delays, for the table's heading."""

        def span(delay: tuple[float, float]) -> str:
            low, high = delay
            if high >= 1:
                return f"{low:.2f}-{high:.2f} s"
            return f"{low * 1000:.0f}-{high * 1000:.0f} ms"

        if self.prompt_delay == self.key_delay:
            return f"each prompt or key takes {span(self.prompt_delay)} (not in step latency)"
        return (
            f"each prompt plays {span(self.prompt_delay)}, each key takes"
            f" {span(self.key_delay)} (not in step latency)"
        )


def peak_concurrent(spans: Sequence[tuple[float, float]]) -> int:
    """The most ``(opened, closed)`` spans open at the same moment (one closing as
    another opens at the same instant does not overlap it)."""
    events = sorted(
        [(closed, -1) for _opened, closed in spans] + [(opened, 1) for opened, _ in spans]
    )
    now = most = 0
    for _when, step in events:
        now += step
        most = max(most, now)
    return most


def raise_file_limit(calls: int) -> int:
    """Raise the soft limit of open files to the hard one if ``calls`` sockets (plus
    :data:`SPARE_FILES`) would not fit; the limit now. Raises :class:`ValueError` when
    even the hard limit is too low. Server processes started after inherit it."""
    needed = calls + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = hard if hard != resource.RLIM_INFINITY else max(needed, 65536)
        if target < needed:
            raise ValueError(
                f"{calls} calls need {needed} open files but the hard limit is {hard}"
                " (raise it: ulimit -Hn, or LimitNOFILE= in systemd)"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass(frozen=True)
class SideResult:
    """The figures of one server under the load."""

    name: str
    calls: int
    failed: int
    cpu_per_call: float
    user_share: float
    step_p50_ms: float
    step_p99_ms: float
    commands_per_call: int
    wall_seconds: float
    peak_concurrent: int
    #: The most calls in progress at once as the server counted them (-1: not counted).
    server_peak: int = -1
    #: Seconds from a round's first call's header block sent to its last one's (the
    #: most of any round).
    started_within: float = 0.0
    #: The load generator's CPU per call and its loop's lag p99 (ms).
    driver_cpu_per_call: float = 0.0
    driver_lag_p99_ms: float = 0.0
    note: str = ""


# -- the servers, each in its own process -----------------------------------------------
#
# The parent starts ``python -m ivr.tools.bench.agi`` and talks to it by lines: it writes the
# pickled job (base64) on the child's stdin; the child answers its port; then, once per
# round, "ready" when told "start" and the round's CPU (base64 pickle) when told "stop";
# told "end", it shuts down and answers what its database holds.


@dataclass(frozen=True)
class _Job:
    kind: str  # "ivr", "bare" or journey_cost.KIND (the IVR without journeys)
    settings: Settings
    commands: list[str]


def _child_main() -> None:
    """Process entry: serve FastAGI, report the port, measure CPU between start and stop."""
    from ivr.logs import setup_logging

    setup_logging("WARNING")
    # The IVR tunes its allocator when it starts; the bare handler gets the same, so
    # the comparison is of code, not of glibc's state (see ivr/tuning.py).
    tune_allocator()
    job: _Job = pickle.loads(base64.b64decode(sys.stdin.buffer.readline()))
    asyncio.run(_serve(job))


def _say(message: object) -> None:
    sys.stdout.write(base64.b64encode(pickle.dumps(message)).decode() + "\n")
    sys.stdout.flush()


class _Peak:
    """The most calls in progress at once since the last :meth:`reset`."""

    def __init__(self) -> None:
        self.now = self.most = 0

    def see(self, now: int) -> None:
        self.now = now
        if now > self.most:
            self.most = now

    def reset(self) -> None:
        self.most = self.now


async def _serve(job: _Job) -> None:
    loop = asyncio.get_running_loop()
    peak = _Peak()

    async def hear() -> str:
        line: bytes = await loop.run_in_executor(None, sys.stdin.buffer.readline)
        return line.decode().strip()

    async def measure(settle: Callable[[], object] = lambda: None) -> None:
        """Answer each round's CPU until told to end; ``settle`` finishes, before the
        count, background work the round's calls left (the IVR's WAL checkpoint)."""
        while await hear() == "start":
            peak.reset()
            before = resource.getrusage(resource.RUSAGE_SELF)
            _say("ready")
            await hear()  # stop
            settle()
            after = resource.getrusage(resource.RUSAGE_SELF)
            _say(
                {
                    "user": after.ru_utime - before.ru_utime,
                    "system": after.ru_stime - before.ru_stime,
                    "peak": peak.most,
                }
            )

    if job.kind != "bare":
        from ivr.app import IvrApp
        from ivr.backends.demo import seed
        from ivr.backends.embedded import EmbeddedDatabase
        from ivr.backends.guarded import guarded
        from ivr.engine.library import LibraryHolder
        from ivr.kit import KIT
        from ivr.store.calls import CallStore

        if job.kind == journey_cost.KIND:
            journey_cost.switch_journeys_off()
        settings = job.settings
        seed(settings.db_path)
        # Calls already in the store (``--prefill``) are not the bench's.
        with sqlite3.connect(settings.db_path) as db:
            prefilled = int(db.execute("SELECT coalesce(max(rowid), 0) FROM calls").fetchone()[0])
        store = CallStore(settings.db_path)
        database = EmbeddedDatabase(settings.db_path, conn=store.connection)
        library = LibraryHolder(settings.flows_dir, settings.audio_dir, KIT)
        backends = guarded(database.backends(), settings.backend_timeout)
        app = IvrApp(settings, library, store, backends)
        agi_server = app.server
        start_call = agi_server.start_call

        def counted(connection: Any, headers: dict[str, str]) -> None:
            start_call(connection, headers)
            peak.see(agi_server.active_calls)

        # The server's own count of calls in progress, read as each call starts.
        setattr(agi_server, "start_call", counted)  # noqa: B010 (an instance attribute)
        await app.server.start()
        _say(app.server.port)
        await measure(store.checkpoint)
        await app.server.shutdown(0)
        database.close()
        store.close()
        _say(_outcomes(settings.db_path, prefilled))
        return

    from panoramisk.fast_agi import Application

    commands = job.commands

    async def replay(request: Any) -> None:
        peak.see(peak.now + 1)
        try:
            for command in commands:
                await request.send_command(command)
        finally:
            peak.now -= 1

    application = Application()
    application.add_route(FLOW, replay)
    server = await asyncio.start_server(application.handler, HOST, 0, backlog=1024)
    _say(int(server.sockets[0].getsockname()[1]))
    await measure()
    server.close()
    await server.wait_closed()
    _say({})


def _outcomes(db_path: Path, after: int = 0) -> dict[str, int]:
    """The outcomes of the calls recorded after rowid ``after`` (the prefilled ones)."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT COALESCE(outcome, 'open'), COUNT(*) FROM calls WHERE rowid > ? GROUP BY 1",
            (after,),
        )
        return {str(outcome): int(count) for outcome, count in rows}


class _Server:
    """The parent's end of a benchmark server process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, job: _Job) -> _Server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ivr.tools.bench.agi",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        server = cls(process)
        server.tell(base64.b64encode(pickle.dumps(job)).decode())
        return server

    def tell(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")

    async def hear(self) -> Any:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), CHILD_TIMEOUT)
        if not line:
            raise RuntimeError("the benchmark server process ended early (see its stderr)")
        return pickle.loads(base64.b64decode(line))

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


# -- the load generator -----------------------------------------------------------------


def _ivr_ok(record: CallRecord, path: CallerPath) -> bool:
    return (
        record.ended is path.ended
        and record.keys_left == ""
        and record.variables.get(var.ACTION) == path.action
    )


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class _Round:
    results: list[CallRecord | BaseException]
    cpu: dict[str, float]
    #: Calls open at once, counted by the load generator.
    peak: int
    wall: float
    #: Seconds from the first call's header block sent to the last one's.
    started_within: float
    #: The load generator's own CPU (user + system) in the round, and how late its loop
    #: woke up (seconds, every :data:`LAG_TICK`): its share of any step latency.
    driver_cpu: float
    driver_lag: list[float]


async def _drive(
    ports: Sequence[int], script: CallScript, load: Load, gate: asyncio.Semaphore, prefix: str
) -> tuple[list[CallRecord | BaseException], int, float]:
    """``load.calls`` calls starting evenly over ``load.ramp`` seconds, to ``ports`` in
    turn (call ``i`` to ``ports[i % len(ports)]``); their records, the most calls that
    were open at once (header block sent to connection closed), and the seconds from
    the first call's header block sent to the last one's.

    A ``hold`` load schedules its starts over :data:`HOLD_START_SHARE` of the ramp, so
    the last call's connection and header block fit in it too.
    """
    calls = load.calls
    interval = load.ramp * (HOLD_START_SHARE if load.hold else 1.0) / calls
    loop = asyncio.get_running_loop()
    start = loop.time()
    # Each call's task is made at its start time, not all up front: a thousand tasks
    # made at once stall the loop for tens of ms, which would show in step latency.
    # Absolute start times: a late wake-up does not delay the calls after it.
    tasks: list[asyncio.Task[CallRecord]] = []
    try:
        for index in range(calls):
            wait = start + index * interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            call = replace(script, uniqueid=f"bench.{prefix}.{index}")
            port = ports[index % len(ports)]
            tasks.append(asyncio.create_task(place_call(HOST, port, call, open_gate=gate)))
        results = await asyncio.gather(*tasks, return_exceptions=True)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    records = [r for r in results if isinstance(r, CallRecord) and r.opened_at]
    peak = peak_concurrent([(r.opened_at, r.closed_at) for r in records])
    opened = [r.opened_at for r in records]
    started = max(opened) - min(opened) if opened else float("nan")
    return results, peak, started


async def _watch_lag(lag: list[float]) -> None:
    """Append how late the loop wakes up from a sleep of :data:`LAG_TICK`, forever."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LAG_TICK
        await asyncio.sleep(LAG_TICK)
        lag.append(max(0.0, loop.time() - due))


class _Side:
    """One server under test: its process, warmed up, measured round by round."""

    def __init__(self, name: str, job: _Job, server: _Server, port: int, path: CallerPath):
        self.name = name
        self.kind = job.kind
        self.path = path
        self._server = server
        self._port = port
        self._script = CallScript(keys=path.keys, barge_in=False, script=FLOW)
        self._gate = asyncio.Semaphore(OPEN_GATE)
        self.commands: list[str] = []
        self.warm_failed = 0
        self.rounds: list[_Round] = []
        #: How it was started (for :meth:`restart`), how many processes it has had, and
        #: the outcomes the earlier ones stored.
        self._job = job
        self.starts = 1
        self._earlier: dict[str, int] = {}

    @classmethod
    async def start(
        cls, name: str, kind: str, settings: Settings, commands: list[str], path: CallerPath
    ) -> _Side:
        """Start the server process and warm it up; ``commands`` is what the bare one
        replays (the IVR's warm-up gives it)."""
        job = _Job(kind, settings, commands)
        server = await _Server.start(job)
        try:
            side = cls(name, job, server, int(await server.hear()), path)
            warm = await asyncio.gather(
                *(
                    place_call(
                        HOST,
                        side._port,
                        replace(side._script, uniqueid=f"warm.{i}"),
                        open_gate=side._gate,
                    )
                    for i in range(WARMUP_CALLS)
                )
            )
        except BaseException:
            await server.close()
            raise
        side.commands = warm[0].commands
        expected = len(commands)
        side.warm_failed = sum(
            1
            for record in warm
            if not (_ivr_ok(record, path) if kind != "bare" else len(record.commands) == expected)
        )
        return side

    async def measure_round(self, load: Load, round_no: int) -> None:
        """``load.calls`` concurrent calls, the server's CPU counted from the first to the
        last."""
        (round_,) = await measure_together([self], load, f"r{round_no}")
        self.rounds.append(round_)

    def cpu_per_call(self) -> list[float]:
        """The server's CPU seconds per call, round by round."""
        return [(r.cpu["user"] + r.cpu["system"]) / max(len(r.results), 1) for r in self.rounds]

    async def finish(self) -> dict[str, int]:
        """Stop the server; the outcomes its calls stored (every process's, after a
        :meth:`restart`)."""
        try:
            self._server.tell("end")
            outcomes: dict[str, int] = await self._server.hear()
        finally:
            await self._server.close()
        for outcome, count in self._earlier.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
        return outcomes

    async def restart(self) -> None:
        """Go on in a fresh server process of the same kind on the same store, warmed up
        again: two processes of the same code can differ in CPU per call by several per
        cent for as long as they live (memory layout, hash seeds), so a comparison of
        two sides over many rounds restarts them each round."""
        self._earlier = await self.finish()
        job = self._job
        fresh = await _Side.start(self.name, self.kind, job.settings, job.commands, self.path)
        self._server, self._port = fresh._server, fresh._port
        self.warm_failed += fresh.warm_failed
        self.starts += 1

    def result(self, outcomes: dict[str, int], bare_commands: int) -> SideResult:
        """The figures of every round together."""
        results = [r for round_ in self.rounds for r in round_.results]
        calls = len(results)
        records = [r for r in results if isinstance(r, CallRecord)]
        if self.kind != "bare":
            good = [r for r in records if _ivr_ok(r, self.path)]
        else:
            good = [
                r
                for r in records
                if r.ended in (End.SERVER_CLOSED, End.HANGUP) and len(r.commands) == bare_commands
            ]
        steps = sorted(step for record in good for step in record.steps)
        user = sum(round_.cpu["user"] for round_ in self.rounds)
        system = sum(round_.cpu["system"] for round_ in self.rounds)
        cpu = user + system
        note = ""
        if self.kind != "bare":
            done = outcomes.get(self.path.outcome, 0)
            expected = WARMUP_CALLS * self.starts + len(good)
            if done != expected:
                note = f"database has {done} {self.path.outcome} calls, expected {expected}"
        if self.warm_failed:
            note = (note + "; " if note else "") + f"{self.warm_failed} warm-up calls failed"
        errors = {type(r).__name__ for r in results if isinstance(r, BaseException)}
        if errors:
            note = (note + "; " if note else "") + "errors: " + ", ".join(sorted(errors))
        return SideResult(
            name=self.name,
            calls=calls,
            failed=calls - len(good),
            cpu_per_call=cpu / max(calls, 1),
            user_share=user / max(cpu, 1e-9),
            step_p50_ms=_percentile(steps, 0.50) * 1000,
            step_p99_ms=_percentile(steps, 0.99) * 1000,
            commands_per_call=len(good[0].commands) if good else 0,
            wall_seconds=sum(round_.wall for round_ in self.rounds),
            peak_concurrent=max((round_.peak for round_ in self.rounds), default=0),
            server_peak=max(
                (int(round_.cpu.get("peak", -1)) for round_ in self.rounds), default=-1
            ),
            started_within=max((round_.started_within for round_ in self.rounds), default=0.0),
            driver_cpu_per_call=sum(round_.driver_cpu for round_ in self.rounds) / max(calls, 1),
            driver_lag_p99_ms=_percentile(
                sorted(lag for round_ in self.rounds for lag in round_.driver_lag), 0.99
            )
            * 1000,
            note=note,
        )


async def measure_together(sides: Sequence[_Side], load: Load, prefix: str) -> list[_Round]:
    """One round of ``load.calls`` calls, dealt to ``sides`` in turn call by call, every
    server running at once; each side's round (its calls, its CPU from the first call to
    the last). Several sides count their CPU over the same seconds of the same machine,
    so a slow spell falls on each alike: a paired comparison."""
    first = sides[0]
    script = replace(
        first._script, measure=True, media_delay=load.prompt_delay, key_delay=load.key_delay
    )
    for side in sides:
        side._server.tell("start")
    for side in sides:
        await side._server.hear()
    lag: list[float] = []
    watch = asyncio.create_task(_watch_lag(lag))
    # The load generator's own garbage collection would stall its loop mid-step (a full
    # collection over a thousand calls' records takes tens of ms); the servers keep
    # theirs, as in production.
    gc.collect()
    gc.disable()
    mine = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        results, peak, within = await _drive(
            [side._port for side in sides], script, load, first._gate, prefix
        )
    finally:
        watch.cancel()
        gc.enable()
    wall = time.perf_counter() - started
    done = resource.getrusage(resource.RUSAGE_SELF)
    for side in sides:
        side._server.tell("stop")
    driver = (done.ru_utime - mine.ru_utime + done.ru_stime - mine.ru_stime) / len(sides)
    rounds = []
    for index, side in enumerate(sides):
        cpu = await side._server.hear()
        rounds.append(_Round(results[index :: len(sides)], cpu, peak, wall, within, driver, lag))
    return rounds


# -- the whole run ----------------------------------------------------------------------


def always_open(flows_dir: Path, target: Path) -> Path:
    """A copy of the flows with no opening-hours table, so every queue is open: the
    bench measures the call path, not the hour it runs at (a closed queue would end
    the menu path's calls in the out-of-hours flow)."""
    shutil.copytree(flows_dir, target)
    (target / "data" / f"{HOURS_TABLE}.yaml").unlink(missing_ok=True)
    return target


def _stub_audio(audio_dir: Path, into: Path) -> Path:
    """A copy of the catalogue with a (silent, empty) rendered file for every prompt.

    Production plays every prompt from a file, so the benchmark's flow sends a
    ``STREAM FILE`` per prompt whether or not this checkout has rendered audio.
    """
    into.mkdir(parents=True)
    copy_catalogue(audio_dir, into)
    rendered = into / "rendered"
    rendered.mkdir()
    for prompt_id in PromptCatalogue.load(audio_dir).ids():
        (rendered / f"{prompt_id}.wav").write_bytes(b"")
    return into


def _row(name: str, calls: str, failed: str, cpu: str, p50: str, p99: str) -> str:
    """One line of the bench table."""
    return f"{name:<16} {calls:>6} {failed:>7} {cpu:>11} {p50:>12} {p99:>12}"


def _side_row(result: SideResult) -> str:
    """A server's line of the bench table."""
    return _row(
        result.name,
        str(result.calls),
        str(result.failed),
        f"{result.cpu_per_call:.6f}",
        f"{result.step_p50_ms:.3f}",
        f"{result.step_p99_ms:.3f}",
    )


def _table(ivr: SideResult, bare: SideResult, load: Load, rounds: int, path: CallerPath) -> str:
    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("inf")

    cpu_ratio = ratio(ivr.cpu_per_call, bare.cpu_per_call)
    lines = [
        f"AGI bench: {rounds} round{'s' if rounds != 1 else ''} of {load.calls} concurrent"
        f" call{'s' if load.calls != 1 else ''} through flow '{FLOW}', IVR and bare in turn"
        f" ({path.description}; {ivr.commands_per_call} AGI commands per call), each round"
        f" started over {load.ramp:g}s; {load.describe()}",
        f"peak concurrent calls: IVR {ivr.peak_concurrent}, bare {bare.peak_concurrent};"
        f" wall time: IVR {ivr.wall_seconds:.1f}s, bare {bare.wall_seconds:.1f}s;"
        f" server CPU in user mode: IVR {ivr.user_share:.0%}, bare {bare.user_share:.0%}",
        "",
        _row("", "calls", "failed", "CPU s/call", "step p50 ms", "step p99 ms"),
        _side_row(ivr),
        _side_row(bare),
        _row(
            "ratio",
            "",
            "",
            f"{cpu_ratio:.2f}",
            f"{ratio(ivr.step_p50_ms, bare.step_p50_ms):.2f}",
            f"{ratio(ivr.step_p99_ms, bare.step_p99_ms):.2f}",
        ),
    ]
    for result in (ivr, bare):
        if result.note:
            lines.append(f"{result.name}: {result.note}")
    failed = ivr.failed + bare.failed

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines += [
        "",
        f"{verdict(failed == 0)}  failed calls == 0 (IVR {ivr.failed}, bare {bare.failed})",
        f"{verdict(cpu_ratio <= TARGET_CPU_RATIO)}  CPU per call ratio <= {TARGET_CPU_RATIO}"
        f" ({cpu_ratio:.2f})",
        f"{verdict(ivr.step_p99_ms <= TARGET_P99_MS)}  IVR step p99 <= {TARGET_P99_MS:.0f} ms"
        f" ({ivr.step_p99_ms:.2f} ms)",
    ]
    return "\n".join(lines)


def _hold_table(
    ivr: SideResult, bare: SideResult | None, load: Load, rounds: int, path: CallerPath
) -> str:
    """The figures of a ``--hold`` run (``bare`` None: the IVR alone)."""

    def row(*cells: str) -> str:
        name, calls, started, peak, failed, p50, p99, cpu, wall = cells
        return (
            f"{name:<16} {calls:>6} {started:>10} {peak:>13} {failed:>7}"
            f" {p50:>12} {p99:>12} {cpu:>11} {wall:>7}"
        )

    def side(result: SideResult) -> str:
        server = str(result.server_peak) if result.server_peak >= 0 else "?"
        return row(
            result.name,
            str(result.calls),
            f"{result.started_within:.3f}",
            f"{result.peak_concurrent}/{server}",
            str(result.failed),
            f"{result.step_p50_ms:.3f}",
            f"{result.step_p99_ms:.3f}",
            f"{result.cpu_per_call:.6f}",
            f"{result.wall_seconds:.1f}",
        )

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b > 0 else "inf"

    sides = [ivr] if bare is None else [ivr, bare]
    plural = "s" if rounds != 1 else ""
    compared = (
        "IVR only (no bare-handler comparison: --no-bare)"
        if bare is None
        else "IVR, then the bare panoramisk handler replaying the same commands"
    )
    lines = [
        f"AGI hold bench: {load.calls} calls through flow '{FLOW}' ({path.description};"
        f" {ivr.commands_per_call} AGI commands per call), all started within {load.ramp:g} s"
        f" and held open at once; {load.describe()}",
        f"{rounds} round{plural}: {compared}; figures of all rounds; peak concurrent ="
        f" the most calls open at once, as counted by the load generator / by the server",
        "load generator (the fake Asterisk, in this process, at most"
        f" {OPEN_GATE} calls connecting at once): "
        + ", ".join(
            f"{result.name} CPU {result.driver_cpu_per_call * 1000:.2f} ms/call,"
            f" loop lag p99 {result.driver_lag_p99_ms:.2f} ms"
            for result in sides
        )
        + "; server CPU in user mode: "
        + ", ".join(f"{result.name} {result.user_share:.0%}" for result in sides),
        "",
        row(
            "",
            "calls",
            "started s",
            "peak gen/srv",
            "failed",
            "step p50 ms",
            "step p99 ms",
            "CPU s/call",
            "wall s",
        ),
        *(side(result) for result in sides),
    ]
    if bare is not None:
        lines.append(
            row(
                "ratio",
                "",
                "",
                "",
                "",
                ratio(ivr.step_p50_ms, bare.step_p50_ms),
                ratio(ivr.step_p99_ms, bare.step_p99_ms),
                ratio(ivr.cpu_per_call, bare.cpu_per_call),
                "",
            )
        )
    lines += [f"{result.name}: {result.note}" for result in sides if result.note]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    def each(figure: Callable[[SideResult], object]) -> str:
        return ", ".join(f"{result.name} {figure(result)}" for result in sides)

    held = all(r.peak_concurrent == load.calls == r.server_peak for r in sides)
    lines += [
        "",
        f"{verdict(all(r.failed == 0 for r in sides))}  failed calls == 0"
        f" ({each(lambda r: r.failed)})",
        f"{verdict(held)}  all {load.calls} calls open at once"
        f" (peak {each(lambda r: f'{r.peak_concurrent}/{r.server_peak}')})",
        f"{verdict(all(r.started_within <= load.ramp for r in sides))}  all calls started"
        f" within {load.ramp:g} s ({each(lambda r: f'{r.started_within:.3f} s')})",
        f"{verdict(ivr.step_p99_ms <= TARGET_P99_MS)}  IVR step p99 <= {TARGET_P99_MS:.0f} ms"
        f" ({ivr.step_p99_ms:.2f} ms)",
    ]
    return "\n".join(lines)


async def run_bench(
    settings: Settings,
    calls: int,
    path: str = "cso",
    rounds: int = 3,
    *,
    hold: bool = False,
    ramp: float | None = None,
    prompt_seconds: float | None = None,
    bare: bool = True,
    prefill: int = 0,
    without_journeys: bool = False,
) -> str:
    """Run ``calls`` concurrent calls through the IVR, then through a bare panoramisk
    handler replaying the same commands, ``rounds`` times in turn (so a slow spell of
    the machine falls on both); the table of figures with PASS/FAIL per target.

    ``hold``: the capacity check, all calls open at once (see the module's docstring);
    ``bare`` False skips the bare handler (only with ``hold``). ``ramp`` and
    ``prompt_seconds`` (None: the mode's default) shape the load, see :meth:`Load.make`.
    ``prefill`` N: the IVR's store holds N past calls first (:mod:`.prefill`; built once
    into :data:`PREFILL_CACHE` and copied), its progress on stderr.
    ``without_journeys``: two more servers, the IVR and the IVR with its node exits
    switched off, take each round's calls at once in a paired round, started afresh
    every round, and the journeys' cost is added (:mod:`.journey_cost`).
    """
    load = Load.make(calls, hold=hold, ramp=ramp, prompt_seconds=prompt_seconds)
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if not bare and not hold:
        raise ValueError("the bare-handler comparison can only be skipped with --hold")
    if prefill < 0:
        raise ValueError("prefill must be 0 or more calls")
    if without_journeys and (hold or not bare):
        raise ValueError("the journeys' cost is measured against the bare handler, not with --hold")
    raise_file_limit(calls)
    caller_path = PATHS[path]
    with tempfile.TemporaryDirectory(prefix="pln123-bench-") as tmp:
        folder = Path(tmp)
        agi = settings.agi.model_copy(update={"host": HOST, "port": 0, "allow": [HOST]})
        bench_settings = settings.model_copy(
            update={
                "agi": agi,
                "db_path": folder / "calls.sqlite3",
                "flows_dir": always_open(settings.flows_dir, folder / "flows"),
                "audio_dir": _stub_audio(settings.audio_dir, folder / "audio"),
            }
        )
        if prefill:
            prefilled(prefill, bench_settings.db_path, PREFILL_CACHE, progress=_progress)
        ivr = await _Side.start("IVR", "ivr", bench_settings, [], caller_path)
        others: list[_Side] = []
        bare_side: _Side | None = None
        # --without-journeys: the IVR and the IVR without journeys, each on a store of
        # its own, taking each round's calls at once (see .journey_cost).
        pair: list[_Side] = []
        try:
            if bare:
                bare_side = await _Side.start(
                    "bare panoramisk", "bare", bench_settings, ivr.commands, caller_path
                )
                others.append(bare_side)
            if without_journeys:
                for name, kind in (("IVR, paired", "ivr"), ("IVR, no journeys", journey_cost.KIND)):
                    side_settings = bench_settings.model_copy(
                        update={"db_path": folder / f"{kind}-paired.sqlite3"}
                    )
                    if prefill:
                        prefilled(prefill, side_settings.db_path, PREFILL_CACHE)
                    pair.append(await _Side.start(name, kind, side_settings, [], caller_path))
                others += pair
        except BaseException:
            for side in (ivr, *others):
                await side.finish()
            raise
        outcomes: dict[str, dict[str, int]] = {}
        try:
            for round_no in range(rounds):
                await ivr.measure_round(load, round_no)
                if bare_side is not None:
                    await bare_side.measure_round(load, round_no)
                if pair:
                    if round_no:
                        for side in pair:
                            await side.restart()
                    for side, round_ in zip(
                        pair, await measure_together(pair, load, f"p{round_no}"), strict=True
                    ):
                        side.rounds.append(round_)
        finally:
            for side in (ivr, *others):
                outcomes[side.name] = await side.finish()
    ivr_result = ivr.result(outcomes[ivr.name], len(ivr.commands))
    bare_result = None if bare_side is None else bare_side.result({}, len(ivr.commands))
    store = f"store: {prefill:,} past calls (--prefill)\n" if prefill else "store: empty\n"
    if hold:
        return store + _hold_table(ivr_result, bare_result, load, rounds, caller_path)
    assert bare_result is not None and bare_side is not None
    table = _table(ivr_result, bare_result, load, rounds, caller_path)
    if not pair:
        return store + table
    return store + table + "\n\n" + _journey_lines(pair, bare_side, outcomes, len(ivr.commands))


def _journey_lines(
    pair: list[_Side], bare: _Side, outcomes: dict[str, dict[str, int]], commands: int
) -> str:
    """The paired rounds' two rows, then the journeys' cost: the pair's difference per
    call over the bare handler's CPU per call of the same round."""
    with_them, without = pair
    lines = [
        "paired rounds: every call of a round dealt in turn to the IVR and the IVR without"
        " journeys, serving at once; both started afresh each round",
    ]
    for side in pair:
        result = side.result(outcomes[side.name], commands)
        lines.append(_side_row(result))
        if result.note:
            lines.append(f"{result.name}: {result.note}")
    lines += journey_cost.cost_lines(
        with_them.cpu_per_call(), without.cpu_per_call(), bare.cpu_per_call()
    )
    return "\n".join(lines)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    _child_main()
