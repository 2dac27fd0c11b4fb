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
"""

from __future__ import annotations

import asyncio
import base64
import pickle
import resource
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
from ivr.prompts.catalogue import PromptCatalogue, copy_catalogue
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
#: Targets from the issue.
TARGET_CPU_RATIO = 1.5
TARGET_P99_MS = 10.0
CHILD_TIMEOUT = 60.0


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
    note: str = ""


# -- the servers, each in its own process -----------------------------------------------
#
# The parent starts ``python -m ivr.tools.bench.agi`` and talks to it by lines: it writes the
# pickled job (base64) on the child's stdin; the child answers its port; then, once per
# round, "ready" when told "start" and the round's CPU (base64 pickle) when told "stop";
# told "end", it shuts down and answers what its database holds.


@dataclass(frozen=True)
class _Job:
    kind: str  # "ivr" or "bare"
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


async def _serve(job: _Job) -> None:
    loop = asyncio.get_running_loop()

    async def hear() -> str:
        line: bytes = await loop.run_in_executor(None, sys.stdin.buffer.readline)
        return line.decode().strip()

    async def measure(settle: Callable[[], object] = lambda: None) -> None:
        """Answer each round's CPU until told to end; ``settle`` finishes, before the
        count, background work the round's calls left (the IVR's WAL checkpoint)."""
        while await hear() == "start":
            before = resource.getrusage(resource.RUSAGE_SELF)
            _say("ready")
            await hear()  # stop
            settle()
            after = resource.getrusage(resource.RUSAGE_SELF)
            _say(
                {
                    "user": after.ru_utime - before.ru_utime,
                    "system": after.ru_stime - before.ru_stime,
                }
            )

    if job.kind == "ivr":
        from ivr.app import IvrApp
        from ivr.backends.demo import seed
        from ivr.backends.embedded import EmbeddedDatabase
        from ivr.backends.guarded import guarded
        from ivr.engine.library import LibraryHolder
        from ivr.kit import KIT
        from ivr.store.calls import CallStore

        settings = job.settings
        seed(settings.db_path)
        store = CallStore(settings.db_path)
        database = EmbeddedDatabase(settings.db_path, conn=store.connection)
        library = LibraryHolder(settings.flows_dir, settings.audio_dir, KIT)
        backends = guarded(database.backends(), settings.backend_timeout)
        app = IvrApp(settings, library, store, backends)
        await app.server.start()
        _say(app.server.port)
        await measure(store.checkpoint)
        await app.server.shutdown(0)
        database.close()
        store.close()
        _say(_outcomes(settings.db_path))
        return

    from panoramisk.fast_agi import Application

    commands = job.commands

    async def replay(request: Any) -> None:
        for command in commands:
            await request.send_command(command)

    application = Application()
    application.add_route(FLOW, replay)
    server = await asyncio.start_server(application.handler, HOST, 0, backlog=1024)
    _say(int(server.sockets[0].getsockname()[1]))
    await measure()
    server.close()
    await server.wait_closed()
    _say({})


def _outcomes(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT COALESCE(outcome, 'open'), COUNT(*) FROM calls GROUP BY 1")
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


async def _drive(
    port: int, script: CallScript, calls: int, gate: asyncio.Semaphore, prefix: str
) -> tuple[list[CallRecord | BaseException], int]:
    """``calls`` calls starting evenly over :data:`RAMP_SECONDS`; their records, and the
    most calls that were in progress at once."""
    active = peak = 0

    async def one(index: int) -> CallRecord:
        nonlocal active, peak
        await asyncio.sleep(index * RAMP_SECONDS / calls)
        active += 1
        peak = max(peak, active)
        try:
            return await place_call(
                HOST, port, replace(script, uniqueid=f"bench.{prefix}.{index}"), open_gate=gate
            )
        finally:
            active -= 1

    results = await asyncio.gather(*(one(i) for i in range(calls)), return_exceptions=True)
    return results, peak


class _Side:
    """One server under test: its process, warmed up, measured round by round."""

    def __init__(self, name: str, kind: str, server: _Server, port: int, path: CallerPath):
        self.name = name
        self.kind = kind
        self.path = path
        self._server = server
        self._port = port
        self._script = CallScript(keys=path.keys, barge_in=False, script=FLOW)
        self._gate = asyncio.Semaphore(OPEN_GATE)
        self.commands: list[str] = []
        self.warm_failed = 0
        self.rounds: list[
            tuple[list[CallRecord | BaseException], dict[str, float], int, float]
        ] = []

    @classmethod
    async def start(
        cls, name: str, kind: str, settings: Settings, commands: list[str], path: CallerPath
    ) -> _Side:
        """Start the server process and warm it up; ``commands`` is what the bare one
        replays (the IVR's warm-up gives it)."""
        server = await _Server.start(_Job(kind, settings, commands))
        try:
            side = cls(name, kind, server, int(await server.hear()), path)
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
            if not (_ivr_ok(record, path) if kind == "ivr" else len(record.commands) == expected)
        )
        return side

    async def measure_round(self, calls: int, round_no: int) -> None:
        """``calls`` concurrent calls, the server's CPU counted from the first to the last."""
        load = replace(self._script, measure=True, media_delay=MEDIA_DELAY)
        self._server.tell("start")
        await self._server.hear()
        started = time.perf_counter()
        results, peak = await _drive(self._port, load, calls, self._gate, f"r{round_no}")
        wall = time.perf_counter() - started
        self._server.tell("stop")
        cpu = await self._server.hear()
        self.rounds.append((results, cpu, peak, wall))

    async def finish(self) -> dict[str, int]:
        """Stop the server; what its database holds (the IVR's outcomes)."""
        try:
            self._server.tell("end")
            outcomes: dict[str, int] = await self._server.hear()
        finally:
            await self._server.close()
        return outcomes

    def result(self, outcomes: dict[str, int], bare_commands: int) -> SideResult:
        """The figures of every round together."""
        results = [r for round_ in self.rounds for r in round_[0]]
        calls = len(results)
        records = [r for r in results if isinstance(r, CallRecord)]
        if self.kind == "ivr":
            good = [r for r in records if _ivr_ok(r, self.path)]
        else:
            good = [
                r
                for r in records
                if r.ended in (End.SERVER_CLOSED, End.HANGUP) and len(r.commands) == bare_commands
            ]
        steps = sorted(step for record in good for step in record.steps)
        user = sum(round_[1]["user"] for round_ in self.rounds)
        system = sum(round_[1]["system"] for round_ in self.rounds)
        cpu = user + system
        note = ""
        if self.kind == "ivr":
            done = outcomes.get(self.path.outcome, 0)
            if done != WARMUP_CALLS + len(good):
                note = (
                    f"database has {done} {self.path.outcome} calls,"
                    f" expected {WARMUP_CALLS + len(good)}"
                )
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
            wall_seconds=sum(round_[3] for round_ in self.rounds),
            peak_concurrent=max((round_[2] for round_ in self.rounds), default=0),
            note=note,
        )


# -- the whole run ----------------------------------------------------------------------


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


def _table(ivr: SideResult, bare: SideResult, calls: int, rounds: int, path: CallerPath) -> str:
    def row(name: str, calls: str, failed: str, cpu: str, p50: str, p99: str) -> str:
        return f"{name:<16} {calls:>6} {failed:>7} {cpu:>11} {p50:>12} {p99:>12}"

    def side(result: SideResult) -> str:
        return row(
            result.name,
            str(result.calls),
            str(result.failed),
            f"{result.cpu_per_call:.6f}",
            f"{result.step_p50_ms:.3f}",
            f"{result.step_p99_ms:.3f}",
        )

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("inf")

    cpu_ratio = ratio(ivr.cpu_per_call, bare.cpu_per_call)
    lines = [
        f"AGI bench: {rounds} round{'s' if rounds != 1 else ''} of {calls} concurrent"
        f" call{'s' if calls != 1 else ''} through flow '{FLOW}', IVR and bare in turn"
        f" ({path.description}; {ivr.commands_per_call} AGI commands per call), each round"
        f" started over {RAMP_SECONDS:.0f}s; each prompt or key takes"
        f" {MEDIA_DELAY[0] * 1000:.0f}-{MEDIA_DELAY[1] * 1000:.0f} ms (not in step latency)",
        f"peak concurrent calls: IVR {ivr.peak_concurrent}, bare {bare.peak_concurrent};"
        f" wall time: IVR {ivr.wall_seconds:.1f}s, bare {bare.wall_seconds:.1f}s;"
        f" server CPU in user mode: IVR {ivr.user_share:.0%}, bare {bare.user_share:.0%}",
        "",
        row("", "calls", "failed", "CPU s/call", "step p50 ms", "step p99 ms"),
        side(ivr),
        side(bare),
        row(
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


async def run_bench(settings: Settings, calls: int, path: str = "cso", rounds: int = 3) -> str:
    """Run ``calls`` concurrent calls through the IVR, then through a bare panoramisk
    handler replaying the same commands, ``rounds`` times in turn (so a slow spell of
    the machine falls on both); the table of figures with PASS/FAIL per target."""
    if calls < 1:
        raise ValueError("calls must be at least 1")
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    caller_path = PATHS[path]
    with tempfile.TemporaryDirectory(prefix="pln123-bench-") as tmp:
        folder = Path(tmp)
        agi = settings.agi.model_copy(update={"host": HOST, "port": 0, "allow": [HOST]})
        bench_settings = settings.model_copy(
            update={
                "agi": agi,
                "db_path": folder / "calls.sqlite3",
                "flows_dir": settings.flows_dir.resolve(),
                "audio_dir": _stub_audio(settings.audio_dir, folder / "audio"),
            }
        )
        ivr = await _Side.start("IVR", "ivr", bench_settings, [], caller_path)
        try:
            bare = await _Side.start(
                "bare panoramisk", "bare", bench_settings, ivr.commands, caller_path
            )
        except BaseException:
            await ivr.finish()
            raise
        try:
            for round_no in range(rounds):
                await ivr.measure_round(calls, round_no)
                await bare.measure_round(calls, round_no)
        finally:
            outcomes = await ivr.finish()
            await bare.finish()
    return _table(
        ivr.result(outcomes, len(ivr.commands)),
        bare.result({}, len(ivr.commands)),
        calls,
        rounds,
        caller_path,
    )


if __name__ == "__main__":
    _child_main()
