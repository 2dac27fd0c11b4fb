"""``pln123 bench calls``: N real calls through the sandbox Asterisk into ``pln123 serve``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click
from pydantic import ValidationError

from ivr.config import load_settings


@click.command("calls")
@click.option("--calls", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--flow",
    type=click.Choice(["periksa"]),
    default="periksa",
    show_default=True,
    help="periksa: the full PERIKSA path to a filed report "
    "(tests/scenarios/periksa_dipandu_lengkap.yaml).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="IVR worker processes (`pln123 serve --workers W` when W > 1).",
)
@click.option(
    "--store",
    type=click.Choice(["sqlite", "postgres"]),
    default="sqlite",
    show_default=True,
    help="postgres: a PostgreSQL sandbox, named to the IVR in PLN123_STORE__URL.",
)
@click.option(
    "--kill-worker-at",
    type=click.FloatRange(min=0),
    default=None,
    metavar="S",
    help="SIGKILL one IVR worker S seconds after the first call; prints calls and answers lost.",
)
@click.option(
    "--ramp",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds over which the calls start.",
)
@click.option(
    "--prompt-seconds",
    type=click.FloatRange(min=0.02),
    default=1.0,
    show_default=True,
    help="Length of every (silent) prompt; a caller leg's first key falls inside it.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds a call may take before it counts as failed.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Keep the run's store, serve.log, Asterisk's logs and each call's events in DIR.",
)
def bench_calls(
    calls: int,
    flow: str,
    workers: int,
    store: str,
    kill_worker_at: float | None,
    ramp: float,
    prompt_seconds: float,
    timeout: float,
    keep: Path | None,
) -> None:
    """N real calls keying a whole scenario: failures, reports stored, step p99, CPU."""
    from ivr.tools.bench.calls import BenchError, Options, run_bench
    from ivr.tools.sandbox import SandboxError
    from ivr.tools.sandbox_env import MissingSecret

    logging.basicConfig(level=logging.WARNING)
    try:
        settings = load_settings()
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    options = Options(
        calls, flow, workers, store, kill_worker_at, ramp, prompt_seconds, timeout, keep
    )
    try:
        click.echo(asyncio.run(run_bench(settings, options)))
    except (BenchError, SandboxError, MissingSecret, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
