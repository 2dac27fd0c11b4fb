"""``pln123 bench screenpop``: from an agent's phone ringing to the pop on their page.

Everything is real: the sandbox Asterisk, ``pln123 serve`` as a process of its own,
and the agent's page in headless Chromium. Each call runs ``main`` (menu 3, then 0 at
the first question of the tambah daya flow, to queue ``tambah_daya``), where one test
agent (``Local/bench1@pln123-test-agents``) is rung and answers. The latency of a pop
is the page's clock when it has drawn the pop (after the next animation frame) minus
Asterisk's ``Timestamp`` of the ``AgentCalled`` event (stored as the pop's ring time):
AMI, the IVR's hub, the WebSocket and the render.
Both clocks are this machine's.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ivr.backends.demo import seed
from ivr.config import Settings, isolated_settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.prompts.silent import write_silent_prompts
from ivr.tools.sandbox import free_port
from ivr.tools.sandbox_env import sandbox_from_settings, serve_env
from ivr.tools.scenario.model import Scenario
from ivr.tools.scenario.via_asterisk import UNTIL_ANSWERED, run_scenarios_asterisk

AGENT = "bench1"
QUEUE = "tambah_daya"
TARGET_P99_MS = 1000.0
#: Seconds a call may take from dialling to the agent answering.
CALL_TIMEOUT = 60.0


@dataclass(frozen=True)
class PopLatencies:
    """What one run measured."""

    calls: int
    failed_calls: int
    latencies_ms: list[float]


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def _settings(folder: Path, source: Settings) -> Settings:
    token = secrets.token_urlsafe(12)
    return isolated_settings(
        agi={"port": free_port(), "callerbot_port": free_port()},
        ami={"port": free_port(), "secret": secrets.token_urlsafe(16)},
        web={"port": free_port()},
        agents={
            AGENT: {
                "name": "Bench",
                "token": token,
                "interface": f"Local/{AGENT}@pln123-test-agents/n",
                "queues": [QUEUE],
            }
        },
        sip_port=free_port("udp"),
        db_path=folder / "calls.sqlite3",
        flows_dir=source.flows_dir.resolve(),
        audio_dir=folder / "audio",
        log_level="WARNING",
    )


async def _wait_for_line(proc: asyncio.subprocess.Process, text: str, timeout: float) -> None:
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while line := await proc.stdout.readline():
            if text in line.decode(errors="replace"):
                return
    raise RuntimeError(f"pln123 serve ended before printing {text!r}")


async def _measure(settings: Settings, calls: int) -> PopLatencies:
    from playwright.async_api import async_playwright

    from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr.cli.main",
        "serve",
        env=serve_env(settings) | {"PLN123_LOG_LEVEL": "INFO"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    drain: asyncio.Task[None] | None = None
    try:
        await _wait_for_line(proc, "agents are in their queues (login 1)", 30)
        assert proc.stdout is not None
        stdout = proc.stdout

        async def discard() -> None:
            while await stdout.readline():
                pass

        drain = asyncio.create_task(discard())
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page()
            base = f"http://127.0.0.1:{settings.web.port}"
            await page.goto(f"{base}/login")
            await page.fill("input[name=agent]", AGENT)
            await page.fill("input[name=token]", settings.agents[AGENT].token.get_secret_value())
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/agent")
            await page.wait_for_selector('#connection[data-state="open"]')
            library = load_library(settings.flows_dir, settings.audio_dir, KIT)
            scenario = Scenario(
                name="bench", caller="081234567890", answers={"menu": QUEUE, "nik_ready": "cso"}
            )
            results = await run_scenarios_asterisk(
                [scenario] * calls, settings, library, CALL_TIMEOUT, UNTIL_ANSWERED
            )
            pop_ids = [r.summary.call_id for r in results if r.passed and r.summary]
            await page.wait_for_function(
                "ids => ids.every(id => window.pln123Rendered && id in window.pln123Rendered)",
                arg=pop_ids,
                timeout=10_000,
            )
            rendered: dict[str, float] = await page.evaluate("() => window.pln123Rendered")
            await browser.close()
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
        if drain is not None:
            drain.cancel()
    with sqlite3.connect(settings.db_path) as db:
        rang = dict(
            db.execute("SELECT pop_id, rang_at FROM pop_deliveries WHERE agent = ?", (AGENT,))
        )
    latencies = sorted(rendered[p] - rang[p] * 1000 for p in pop_ids if p in rang)
    return PopLatencies(calls, calls - len(pop_ids), latencies)


def _table(result: PopLatencies) -> str:
    ms = result.latencies_ms
    p50, p99 = _percentile(ms, 0.5), _percentile(ms, 0.99)
    worst = ms[-1] if ms else float("nan")
    ok = result.failed_calls == 0 and len(ms) == result.calls and p99 <= TARGET_P99_MS
    return "\n".join(
        [
            f"screen-pop bench: {result.calls} real calls through the sandbox Asterisk"
            f" (main, menu 3 then 0, queue {QUEUE}), one agent page in headless Chromium",
            "latency: Asterisk's AgentCalled Timestamp -> pop drawn on the agent's page",
            "",
            f"{'calls':>6} {'failed':>7} {'pops':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}",
            f"{result.calls:>6} {result.failed_calls:>7} {len(ms):>5}"
            f" {p50:>8.1f} {p99:>8.1f} {worst:>8.1f}",
            "",
            f"{'PASS' if ok else 'FAIL'}  every call popped, p99 <= {TARGET_P99_MS:.0f} ms",
        ]
    )


async def run_bench(source: Settings, calls: int) -> str:
    """Provision and start a sandbox Asterisk, run ``calls`` calls, print the table."""
    with tempfile.TemporaryDirectory(prefix="pln123-bench-pop-") as tmp:
        folder = Path(tmp)
        settings = _settings(folder, source)
        write_silent_prompts(source.audio_dir, settings.audio_dir, seconds=0.1)
        seed(settings.db_path)
        sandbox = sandbox_from_settings(settings)
        await asyncio.to_thread(sandbox.provision)
        await asyncio.to_thread(sandbox.start)
        started = time.perf_counter()
        try:
            result = await _measure(settings, calls)
        finally:
            await asyncio.to_thread(sandbox.stop)
        table = _table(result)
        return table + f"\nwall time: {time.perf_counter() - started:.0f} s"
