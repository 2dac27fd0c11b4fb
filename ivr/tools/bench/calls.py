"""``pln123 bench calls``: N real calls through the sandbox Asterisk into ``pln123 serve``.

Everything is real but the callers: a sandbox Asterisk of the bench's own, ``pln123
serve`` as a process of its own (``--workers W`` when W > 1), and N calls originated
over AMI within ``ramp`` seconds, each caller leg keying a whole scenario (by default
the full PERIKSA path that ends in a filed KWH PERIKSA report) while the prompts play
(silent prompts, ``prompt_seconds`` long). The dialplan reaches the IVR through a
FastAGI relay (:mod:`.agi_relay`) that times each of the IVR's steps. After the run
the store is read for this run's calls: outcomes, reports and answers. The figures
are defined in :mod:`.calls_figures`.

``kill_at``: that many seconds after the first call the bench kills one IVR worker
with SIGKILL (with several workers, the supervisor's child holding the most open
files, i.e. the call worker with the most calls; with one, the only process): its
calls must reach a CSO queue through the dialplan's fallback and nothing it
acknowledged may be missing from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.backends.demo import seed
from ivr.config import Settings, isolated_settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.prompts.silent import write_silent_prompts
from ivr.tools.bench.agi import always_open, raise_file_limit
from ivr.tools.bench.call_driver import Driver, place_calls
from ivr.tools.bench.calls_figures import Kill, RunFacts, table
from ivr.tools.bench.keep import keep_asterisk, keep_postgres, keep_run, keep_table, keep_traces
from ivr.tools.bench.proc_cpu import CpuMeter, family, read_stat
from ivr.tools.bench.store_query import (
    StoredCalls,
    postgres_writes,
    read_calls,
)
from ivr.tools.sandbox import REPO_ROOT, free_port
from ivr.tools.sandbox_env import sandbox_from_settings, serve_env
from ivr.tools.scenario.model import Scenario, load_scenario

#: The scenario each ``--flow`` runs: the PERIKSA path to a filed report, in full
#: (guided through the nine self-diagnosis codes; 21 answers).
FLOW_SCENARIOS = {"periksa": REPO_ROOT / "tests" / "scenarios" / "periksa_dipandu_lengkap.yaml"}
RAMP_SECONDS = 5.0
#: Every prompt's length. A caller leg keys as soon as the IVR says it listens, so its
#: first key (a 100 ms tone) lands while the question plays and stops it, as a caller
#: keying during a question does. With 0.1 s prompts that key ends just as the prompt
#: does, in the gap between two AGI commands, where Asterisk's AGI drops any key that
#: arrives, on nearly every question: a race no real call runs that often, and which
#: hid the losses real callers do meet (a key arriving between two keys' commands).
PROMPT_SECONDS = 1.0
CALL_TIMEOUT = 300.0
#: The relay's record of every AGI command and answer, kept by ``--keep``.
AGI_TRANSCRIPT = "agi.log"
#: Asterisk's DTMF log of a kept run, in its log folder.
DTMF_LOG = "dtmf.log"
#: Seconds ``pln123 serve`` (and the relay) may take to listen.
START_TIMEOUT = 60.0
#: Sockets and files per call across the processes that inherit the limit (Asterisk
#: holds two channels, two AGI sockets and a file stream per call).
FILES_PER_CALL = 8


class BenchError(Exception):
    """The bench cannot run as asked."""


@dataclass(frozen=True)
class Options:
    """How ``pln123 bench calls`` runs."""

    calls: int
    flow: str = "periksa"
    workers: int = 1
    store: str = "sqlite"
    kill_at: float | None = None
    ramp: float = RAMP_SECONDS
    prompt_seconds: float = PROMPT_SECONDS
    timeout: float = CALL_TIMEOUT
    #: Keep the run's store, ``serve.log`` and Asterisk's logs here (:mod:`.keep`).
    keep: Path | None = None


def _settings(folder: Path, source: Settings, relay_port: int) -> Settings:
    """The sandbox's settings: its dialplan's FastAGI URL points at the relay."""
    return isolated_settings(
        agi={"port": relay_port, "callerbot_port": free_port()},
        ami={"port": free_port(), "secret": secrets.token_urlsafe(16)},
        web={"port": free_port()},
        sip_port=free_port("udp"),
        db_path=folder / "calls.sqlite3",
        flows_dir=always_open(source.flows_dir.resolve(), folder / "flows"),
        audio_dir=folder / "audio",
        log_level="WARNING",
    )


@contextlib.asynccontextmanager
async def _postgres() -> AsyncIterator[tuple[str, int | None]]:
    """A fresh database on the bench's own sandbox PostgreSQL (``.cache/postgres/bench``,
    durable: a killed worker's acknowledged answers must survive); its URL and the
    server's pid."""
    from ivr.tools.postgres_sandbox import PostgresSandbox

    server = PostgresSandbox(name="bench")
    await asyncio.to_thread(server.start)
    name = f"bench_{secrets.token_hex(4)}"
    try:
        yield await asyncio.to_thread(server.create_database, name), server.pid
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(server.drop_database, name)
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def _relay(
    listen: int, target: int, transcript: Path | None
) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr.tools.bench.agi_relay",
        str(listen),
        str(target),
        *([str(transcript)] if transcript is not None else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        if line.strip() != b"ready":
            raise BenchError("the FastAGI relay did not start")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _relay_result(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    import json

    out, _ = await asyncio.wait_for(proc.communicate(b"stop\n"), 60)
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


@contextlib.asynccontextmanager
async def _serve(
    env: dict[str, str], workers: int, log_file: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``pln123 serve`` until it prints that it serves; stopped with SIGTERM after."""
    args = ["-m", "ivr.cli.main", "serve"]
    if workers > 1:
        args += ["--workers", str(workers)]
    out = await asyncio.to_thread(log_file.open, "wb")
    with out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *args, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while b"serving FastAGI" not in await asyncio.to_thread(log_file.read_bytes):
            if proc.returncode is not None or time.monotonic() > deadline:
                tail = (await asyncio.to_thread(log_file.read_bytes))[-3000:]
                raise BenchError(f"`pln123 serve` did not start:\n{tail.decode(errors='replace')}")
            await asyncio.sleep(0.1)
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


async def _kill_worker(
    supervisor: int, workers: int, after: float, started: asyncio.Event
) -> Kill | None:
    """SIGKILL one worker ``after`` seconds after the first call (see the module)."""
    await started.wait()
    await asyncio.sleep(after)
    role, pid = "the IVR process", supervisor
    if workers > 1:
        stats = [s for pid_ in os.listdir("/proc") if pid_.isdigit() if (s := read_stat(int(pid_)))]
        children = [s.pid for s in family(supervisor, stats) if s.ppid == supervisor]
        if not children:
            return None
        # The call worker holding the most sockets (so calls): not the web process.
        role, pid = "IVR call worker", max(children, key=_open_files)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return Kill(pid, after, role)


async def run_bench(source: Settings, options: Options) -> str:
    """Start the sandbox Asterisk, the relay and ``pln123 serve``, place the calls, read
    the store; the table."""
    if options.flow not in FLOW_SCENARIOS:
        raise BenchError(f"no scenario for flow {options.flow!r}; known: {sorted(FLOW_SCENARIOS)}")
    if options.store not in ("sqlite", "postgres"):
        raise BenchError("--store is sqlite or postgres")
    scenario = load_scenario(FLOW_SCENARIOS[options.flow])
    raise_file_limit(options.calls * FILES_PER_CALL)
    with tempfile.TemporaryDirectory(prefix="pln123-bench-calls-") as tmp:
        if options.store == "sqlite":
            return await _in_folder(source, options, scenario, Path(tmp), "", None)
        async with _postgres() as (url, pg_pid):
            return await _in_folder(source, options, scenario, Path(tmp), url, pg_pid)


async def _in_folder(
    source: Settings,
    options: Options,
    scenario: Scenario,
    folder: Path,
    url: str,
    pg_pid: int | None,
) -> str:
    """The run in ``folder``, on the PostgreSQL database ``url`` ('': SQLite)."""
    relay_port, ivr_port = free_port(), free_port()
    settings = _settings(folder, source, relay_port)
    write_silent_prompts(source.audio_dir, settings.audio_dir, options.prompt_seconds)
    seed(url or settings.db_path)
    writes_before = await asyncio.to_thread(postgres_writes, url) if url else (0, 0)
    env = serve_env(settings) | {"PLN123_AGI__PORT": str(ivr_port)}
    if url:
        env["PLN123_STORE__URL"] = url
    sandbox = sandbox_from_settings(settings)
    await asyncio.to_thread(sandbox.provision)
    await asyncio.to_thread(sandbox.start)
    if options.keep is not None:
        # Every key as Asterisk saw it (asterisk_conf/logger.conf logs none).
        await asyncio.to_thread(sandbox.cli, f"logger add channel {DTMF_LOG} dtmf")
    try:
        facts = await _run(
            settings,
            options,
            scenario,
            env,
            folder,
            {"asterisk": sandbox.pid, "postgres": pg_pid},
            relay_port,
            ivr_port,
        )
    finally:
        await asyncio.to_thread(sandbox.stop)
        if options.keep is not None:
            await asyncio.to_thread(keep_asterisk, sandbox, options.keep)
            await asyncio.to_thread(keep_run, folder, options.keep)
    call_ids = [t.call_id for t in facts.traces if t.call_id]
    stored = await asyncio.to_thread(read_calls, url or settings.db_path, call_ids)
    result = table(_with_store(facts, stored))
    if url:
        commits, rows = await asyncio.to_thread(postgres_writes, url)
        calls = max(1, options.calls)
        result += (
            f"\nPostgreSQL writes: {(commits - writes_before[0]) / calls:.1f} commits and"
            f" {(rows - writes_before[1]) / calls:.1f} rows written per call"
            " (pg_stat_database, the bench's reads included)"
        )
    if options.keep is not None:
        result += await asyncio.to_thread(_keep_rest, options.keep, facts, url, result)
    return result


def _keep_rest(into: Path, facts: RunFacts, url: str, result: str) -> str:
    """The traces, the table and (PostgreSQL) the store's dump; the table's last line."""
    keep_traces(facts.traces, into)
    keep_table(result, into)
    failure = keep_postgres(url, into) if url else ""
    return f"\nkept in {into}" + (f" (no store dump: {failure})" if failure else "")


def _with_store(facts: RunFacts, stored: StoredCalls) -> RunFacts:
    from dataclasses import replace

    return replace(facts, stored=stored)


async def _run(
    settings: Settings,
    options: Options,
    scenario: Scenario,
    env: dict[str, str],
    folder: Path,
    servers: dict[str, int | None],
    relay_port: int,
    ivr_port: int,
) -> RunFacts:
    library = load_library(settings.flows_dir, settings.audio_dir, KIT)
    async with (
        _relay(relay_port, ivr_port, folder / AGI_TRANSCRIPT if options.keep else None) as relay,
        _serve(env, options.workers, folder / "serve.log") as ivr,
    ):
        driver = await Driver.open(settings, library, options.timeout)
        try:
            roots = {"ivr": ivr.pid} | {k: pid for k, pid in servers.items() if pid}
            meter = CpuMeter(roots)
            started = asyncio.Event()
            killer = (
                asyncio.create_task(
                    _kill_worker(ivr.pid, options.workers, options.kill_at, started)
                )
                if options.kill_at is not None
                else None
            )
            mine = resource.getrusage(resource.RUSAGE_SELF)
            meter.start()
            begin = time.monotonic()
            traces = await place_calls(driver, scenario, options.calls, options.ramp, started)
            wall = time.monotonic() - begin
            cpu = await meter.stop()
            done = resource.getrusage(resource.RUSAGE_SELF)
            kill = None
            if killer is not None:
                if not killer.done():  # every call ended before the moment to kill
                    killer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    kill = await killer
        finally:
            await driver.close()
        relayed = await _relay_result(relay)
    bench_cpu = done.ru_utime - mine.ru_utime + done.ru_stime - mine.ru_stime
    return RunFacts(
        scenario=scenario.file.stem if scenario.file else scenario.name,
        expected_outcome=scenario.expect.outcome.value if scenario.expect.outcome else None,
        expects_report=scenario.expect.report not in (None, "none"),
        workers=options.workers,
        store=options.store,
        ramp=options.ramp,
        prompt_seconds=options.prompt_seconds,
        traces=traces,
        stored=StoredCalls(),
        expected={ask: a for ask, a in scenario.answers.items() if isinstance(a, str)},
        steps=[float(s) for s in relayed["steps"]],
        relay_peak=int(relayed["peak"]),
        cpu=cpu,
        bench_cpu=bench_cpu + float(relayed["cpu"]),
        wall=wall,
        kill=kill,
    )


__all__ = ["BenchError", "Options", "run_bench"]
