"""``pln123``: serve calls, check and draw flows, simulate, run scenarios, benchmark."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import SecretStr, ValidationError

from ivr.backends.ports import Backends
from ivr.cli.announcement import announcement
from ivr.cli.audit import audit
from ivr.cli.db import db
from ivr.cli.hours import holiday_group, hours_group
from ivr.cli.outage import outage
from ivr.cli.privacy import privacy
from ivr.cli.prompts import prompts
from ivr.cli.stats import stats
from ivr.config import Settings, StoreSettings, load_settings
from ivr.engine.library import DATA_FOLDER, FlowLibrary, LibraryHolder, load_library
from ivr.engine.loader import FlowError
from ivr.kit import KIT
from ivr.logs import setup_logging
from ivr.tuning import tune_allocator

if TYPE_CHECKING:
    from ivr.backends.embedded import EmbeddedDatabase
    from ivr.store.calls import CallStore


def _settings() -> Settings:
    try:
        return load_settings()
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


def _library(settings: Settings) -> FlowLibrary:
    try:
        return load_library(settings.flows_dir, settings.audio_dir, KIT)
    except FlowError as exc:
        raise click.ClickException(
            "the flows have problems:\n" + "\n".join(f"  {p}" for p in exc.problems)
        ) from exc


@click.group()
@click.version_option(package_name="pln123-ivr")
def cli() -> None:
    """PLN 123 voice IVR."""


@cli.command()
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Call worker processes sharing the FastAGI port. Above 1 this process supervises"
    " them (restarts one that dies) and a process of its own serves the web pages and"
    " watches AMI.",
)
def serve(workers: int) -> None:
    """Serve FastAGI calls from Asterisk (SIGHUP reloads flows, SIGTERM stops)."""
    from ivr.app import IvrApp

    settings = _settings()
    setup_logging(settings.log_level, settings.log_format)
    tune_allocator()
    _check_speech_model(settings)
    if settings.web.enabled:  # refuse short tokens before anything starts
        from ivr.web.security import check_start

        check_start(settings.web, settings.agents, settings.ops)
    try:
        holder = LibraryHolder(settings.flows_dir, settings.audio_dir, KIT)
    except FlowError as exc:
        raise click.ClickException(
            "refusing to start, the flows have problems:\n"
            + "\n".join(f"  {p}" for p in exc.problems)
        ) from exc
    problem = holder.current.entry_problem(settings.default_flow)
    if problem is not None:  # every call would need a flow it cannot start in
        raise click.ClickException(f"refusing to start: default_flow: {problem}")
    if workers > 1:
        from ivr.workers.run import PortTaken, serve_workers

        open_store_or_exit(settings).close()  # the schema first, before any worker starts
        try:
            sys.exit(serve_workers(settings, holder, workers))
        except PortTaken as exc:
            raise click.ClickException(f"refusing to start: {exc}") from exc
    store = open_store_or_exit(settings)
    database, backends = _backends(settings, store)
    try:
        asyncio.run(IvrApp(settings, holder, store, backends).run())
    finally:
        database.close()
        store.close()


def open_store_or_exit(settings: Settings, *, upgrade: bool = False) -> CallStore:
    """The call store of ``settings``; a one-line refusal when its schema is not this
    IVR's (``pln123 db upgrade`` says how), unless ``upgrade``."""
    from ivr.store.open import open_call_store
    from ivr.store.schema import SchemaOutOfDate

    try:
        return open_call_store(settings, upgrade=upgrade)
    except SchemaOutOfDate as exc:
        raise click.ClickException(f"refusing to start: {exc}") from exc


def _check_speech_model(settings: Settings) -> None:
    """Refuse to start with a speech model path that holds no Vosk model."""
    path = settings.speech.model_path
    if path is not None and not (path / "am" / "final.mdl").is_file():
        raise click.ClickException(
            f"speech.model_path {path} is not a Vosk model folder (no am/final.mdl);"
            " unset it to take keys only"
        )


def _backends(
    settings: Settings, store: CallStore, outage_poll_seconds: float = 2.0
) -> tuple[EmbeddedDatabase, Backends]:
    """The embedded backends on the call store's connection, each call under the
    backend time limit; outages declared are seen within ``outage_poll_seconds``."""
    from ivr.backends.embedded import EmbeddedDatabase
    from ivr.backends.guarded import guarded

    database = EmbeddedDatabase(
        settings.store_location, conn=store.connection, outage_poll_seconds=outage_poll_seconds
    )
    return database, guarded(database.backends(), settings.backend_timeout)


@cli.group()
def flows() -> None:
    """Check and draw call flows."""


@flows.command("check")
@click.option(
    "--dialplan",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="extensions.conf whose FastAGI URLs must name flows a call can start in"
    " [default: asterisk_conf/extensions.conf, when present].",
)
def flows_check(dialplan: Path | None) -> None:
    """Validate every flow: schema, targets, reachability, ways out, prompts; and that
    default_flow and the dialplan's FastAGI URLs name no subflow-only flow."""
    from ivr.config import config_file_path
    from ivr.engine.validate import DIALPLAN, check_entries

    settings = _settings()
    library = _library(settings)
    if dialplan is None and DIALPLAN.is_file():
        dialplan = DIALPLAN
    entry_problems = check_entries(
        library.flows,
        settings.default_flow,
        config_file_path() or Path("default_flow"),
        dialplan,
    )
    if entry_problems:
        raise click.ClickException(
            "calls would start in flows that cannot run as one:\n"
            + "\n".join(f"  {p}" for p in entry_problems)
        )
    for name, loaded in sorted(library.flows.items()):
        click.echo(f"ok  {loaded.source.file}  ({name}: {len(loaded.flow.nodes)} nodes)")
    for name in sorted(library.tables):
        click.echo(f"ok  {settings.flows_dir / DATA_FOLDER / name}.yaml  (data table)")
    entries = [library.catalogue.get(pid) for pid in library.catalogue.ids()]
    silent = [e.prompt_id for e in entries if e is not None and e.audio is None]
    dynamic = [pid for pid in silent if "{" in library.catalogue.get(pid).text]  # type: ignore[union-attr]
    missing = [pid for pid in silent if pid not in dynamic]
    if missing:
        click.echo(
            f"note: {len(missing)} prompt(s) have text but no audio yet"
            f" (run `pln123 prompts build`): {', '.join(missing)}"
        )
    if dynamic:
        click.echo(
            f"note: {len(dynamic)} prompt(s) are filled from call variables and spoken at"
            f" run time (dynamic_audio_dir): {', '.join(dynamic)}"
        )


@flows.command("graph")
@click.argument("flow")
@click.option("--format", "fmt", type=click.Choice(["svg", "mermaid", "dot"]), default="svg")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File to write.")
def flows_graph(flow: str, fmt: str, output: Path | None) -> None:
    """Draw FLOW as Graphviz SVG (needs `dot`), DOT text or Mermaid."""
    from ivr.engine.graph import render

    settings = _settings()
    library = _library(settings)
    if flow not in library.flows:
        raise click.ClickException(
            f"no flow named {flow!r}; known: {', '.join(sorted(library.flows))}"
        )
    try:
        data = render(library.flows[flow].flow, fmt)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    target = output or Path(f"{flow}.{'mmd' if fmt == 'mermaid' else fmt}")
    target.write_bytes(data)
    click.echo(f"wrote {target}")


@cli.command()
@click.argument("flow", default="main")
@click.option("--caller", default="081234567890", show_default=True, help="Caller ID.")
def simulate(flow: str, caller: str) -> None:
    """Run FLOW in the terminal: prompts as text, you type the keys."""
    from ivr.sim.runner import simulate_call, terminal_answerer
    from ivr.store.calls import CallSummary

    settings = _settings()
    library = _library(settings)
    if flow not in library.flows:
        raise click.ClickException(
            f"no flow named {flow!r}; known: {', '.join(sorted(library.flows))}"
        )
    store = open_store_or_exit(settings)
    database, backends = _backends(settings, store, outage_poll_seconds=0.0)

    async def call() -> CallSummary:
        try:
            return await simulate_call(
                settings,
                library,
                store,
                flow,
                caller,
                terminal_answerer(click.echo),
                click.echo,
                backends,
            )
        finally:
            await store.drain()

    try:
        summary = asyncio.run(call())
    finally:
        database.close()
        store.close()
    click.echo(json.dumps(summary.as_json(), indent=2, ensure_ascii=False))


@cli.group()
def scenario() -> None:
    """Scenario files: answers by ask tag, and the expected outcome."""


@scenario.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--via", type=click.Choice(["sim", "asterisk"]), default="sim", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option(
    "--timeout",
    default=600.0,
    show_default=True,
    help="Seconds per real call (a tambah daya call with spoken prompts takes about 3 minutes).",
)
@click.option(
    "--until",
    type=click.Choice(["end", "answered", "hangup"]),
    default="end",
    show_default=True,
    help="With --via asterisk, when the caller hangs up: when the IVR lets go (a queued "
    "call: once in the queue), once a CSO answered, or only when Asterisk ends the call.",
)
def scenario_run(
    files: tuple[Path, ...], via: str, as_json: bool, timeout: float, until: str
) -> None:
    """Run scenario FILES in the simulator or as real calls through Asterisk."""
    from ivr.tools.scenario.model import ScenarioError, load_scenario
    from ivr.tools.scenario.runner import no_customers_hint, run_scenarios

    settings = _settings()
    library = _library(settings)
    try:
        scenarios = [load_scenario(file) for file in files]
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from exc
    if (
        via == "sim"
        and not settings.store.postgres
        and (hint := no_customers_hint(settings.db_path)) is not None
    ):
        click.echo(hint, err=True)
        sys.exit(2)
    results = asyncio.run(run_scenarios(scenarios, via, settings, library, timeout, until))
    if as_json:
        click.echo(json.dumps([r.as_json() for r in results], indent=2, ensure_ascii=False))
    else:
        for result in results:
            mark = "PASS" if result.passed else "FAIL"
            outcome = result.summary.outcome if result.summary else "-"
            click.echo(f"{mark}  {result.scenario.name}  ({via}, {outcome})")
            for problem in result.problems:
                click.echo(f"      {problem}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed", err=as_json)
    sys.exit(1 if failed else 0)


@cli.group()
def bench() -> None:
    """Benchmarks that print a table."""


@bench.command("agi")
@click.option(
    "--calls",
    type=click.IntRange(min=1),
    default=None,
    show_default="500",
    help="Concurrent calls per round.",
)
@click.option(
    "--hold",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Capacity check: N calls started within --ramp seconds and held open at once by "
    "prompts of --prompt-seconds; prints the peak concurrency (instead of --calls).",
)
@click.option(
    "--ramp",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    show_default="2, 1 with --hold",
    help="Seconds over which a round's calls start.",
)
@click.option(
    "--prompt-seconds",
    type=click.FloatRange(min=0),
    default=None,
    show_default="0.25, 3 with --hold",
    help="Seconds a prompt plays before the fake Asterisk answers (uniform within +/-40%); "
    "a key always takes 150-350 ms.",
)
@click.option(
    "--path",
    type=click.Choice(["menu", "cso", "report"]),
    default="menu",
    show_default=True,
    help="menu: greeting, main menu, to a CSO; cso: PERIKSA to a CSO after the IDPEL; "
    "report: PERIKSA to a filed report.",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=None,
    show_default="3, 1 with --hold",
    help="Rounds of calls, IVR and bare handler in turn; the figures are of all rounds.",
)
@click.option(
    "--bare/--no-bare",
    default=True,
    show_default=True,
    help="Also run the bare panoramisk handler (--no-bare only with --hold).",
)
@click.option(
    "--prefill",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Fill the IVR's store with N realistic past calls (a year of traffic) first; "
    "built once into .cache/bench/ and copied for each run.",
)
@click.option(
    "--without-journeys",
    is_flag=True,
    help="Also run the IVR with its node exits switched off, in turn with the others, "
    "and print what the journeys cost (ratio points, round by round).",
)
def bench_agi(
    calls: int | None,
    hold: int | None,
    ramp: float | None,
    prompt_seconds: float | None,
    path: str,
    rounds: int | None,
    bare: bool,
    prefill: int,
    without_journeys: bool,
) -> None:
    """N concurrent calls through the main flow vs a bare panoramisk handler."""
    from ivr.tools.bench.agi import run_bench

    if hold is not None and calls is not None:
        raise click.UsageError("give --calls or --hold, not both")
    if hold is None and not bare:
        raise click.UsageError("--no-bare only goes with --hold")
    if without_journeys and hold is not None:
        raise click.UsageError("--without-journeys measures CPU per call: give --calls, not --hold")
    logging.basicConfig(level=logging.WARNING)
    settings = _settings()
    try:
        table = asyncio.run(
            run_bench(
                settings,
                hold or calls or 500,
                path,
                rounds or (1 if hold else 3),
                hold=hold is not None,
                ramp=ramp,
                prompt_seconds=prompt_seconds,
                bare=bare,
                prefill=prefill,
                without_journeys=without_journeys,
            )
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(table)


@bench.command("speech")
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Vosk model folder (default: the Korean test model of the dev extras).",
)
@click.option(
    "--clips",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A WAV clip, 8 kHz mono 16-bit; repeat for more (default: Korean digits by espeak-ng).",
)
@click.option(
    "--words",
    multiple=True,
    help="A grammar word or phrase; repeat for more (default: the Korean digits with the "
    "default clips, else the Indonesian number words).",
)
@click.option(
    "--end-silence", default=0.25, show_default=True, help="Seconds of silence that end speech."
)
@click.option("--rounds", default=3, show_default=True, help="Times each call says every clip.")
def bench_speech(
    model_path: Path | None,
    clips: tuple[Path, ...],
    words: tuple[str, ...],
    end_silence: float,
    rounds: int,
) -> None:
    """Recognition latency and loop stalls at 1, 2 and 4 calls (real audio, real time)."""
    import tempfile

    from ivr.tools.bench.speech import (
        KOREAN_DIGITS,
        KOREAN_TEXTS,
        packaged_model,
        run_bench,
        synthesise_clips,
    )

    logging.basicConfig(level=logging.WARNING)
    if rounds < 1:
        raise click.ClickException("--rounds must be at least 1")
    try:
        model = model_path or packaged_model()
        with tempfile.TemporaryDirectory() as folder:
            if not clips:
                clips = tuple(synthesise_clips(Path(folder), KOREAN_TEXTS))
                words = words or KOREAN_DIGITS
            report = asyncio.run(
                run_bench(model, clips, words=words or None, end_silence=end_silence, rounds=rounds)
            )
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report)


@bench.command("screenpop")
@click.option("--calls", default=50, show_default=True, help="Real calls, one after another.")
def bench_screenpop(calls: int) -> None:
    """Time from AgentCalled to the pop drawn in the agent's page (real Asterisk, Chromium)."""
    try:
        from ivr.tools.bench.screenpop import run_bench
    except ImportError as exc:
        raise click.ClickException(
            f"{exc}: the screen-pop bench needs the dev extras (pip install -e '.[dev]')"
        ) from exc
    from ivr.tools.sandbox import SandboxError

    logging.basicConfig(level=logging.WARNING)
    if calls < 1:
        raise click.ClickException("--calls must be at least 1")
    try:
        click.echo(asyncio.run(run_bench(_settings(), calls)))
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option(
    "--postgres",
    is_flag=True,
    help="Keep the store in a sandbox PostgreSQL server (under .cache/postgres/main),"
    " started and stopped with the rest, instead of the SQLite file.",
)
def up(postgres: bool) -> None:
    """Start the sandbox Asterisk and serve calls (2 call workers); Ctrl-C stops both."""
    from ivr.tools.sandbox import SandboxError
    from ivr.tools.sandbox_env import MissingSecret, sandbox_from_settings
    from ivr.workers.run import PortTaken, serve_workers

    settings = _settings()
    database_server = None
    if postgres:
        from ivr.tools.postgres_sandbox import PostgresSandbox, PostgresSandboxError

        database_server = PostgresSandbox()
        try:
            url = database_server.start()
        except PostgresSandboxError as exc:
            raise click.ClickException(str(exc)) from exc
        settings = settings.model_copy(update={"store": StoreSettings(url=SecretStr(url))})
        click.echo(f"The store is PostgreSQL: for other commands, export PLN123_STORE__URL={url}")
    setup_logging(settings.log_level, settings.log_format)
    tune_allocator()
    _check_speech_model(settings)
    if settings.web.enabled:  # refuse short tokens before anything starts
        from ivr.web.security import check_start

        check_start(settings.web, settings.agents, settings.ops)
    holder = LibraryHolder(settings.flows_dir, settings.audio_dir, KIT)
    try:
        sandbox = sandbox_from_settings(settings)
        sandbox.provision()
        sandbox.start()
    except (MissingSecret, SandboxError) as exc:
        raise click.ClickException(str(exc)) from exc
    if settings.dynamic_audio_dir is None:
        # The sandbox's copy of our prompts: Asterisk plays pln123/dynamic/<file>.
        settings = settings.model_copy(update={"dynamic_audio_dir": sandbox.sounds_dir / "dynamic"})
    open_store_or_exit(settings, upgrade=True).close()  # the sandbox upgrades by itself
    click.echo(PLACE_A_CALL.format(sip_port=settings.sip_port, ami_port=settings.ami.port))
    try:
        serve_workers(settings, holder, 2)  # as production runs: supervised workers
    except PortTaken as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        sandbox.stop()
        if database_server is not None:
            database_server.stop()


PLACE_A_CALL = """
Asterisk and the IVR are up. Place a call:
  * a scenario as a real call (another terminal, same folder):
      .venv/bin/pln123 scenario run tests/scenarios/periksa_tekan_0_setelah_idpel.yaml \\
          --via asterisk --until answered
    it ends in the periksa queue: log in to the CSO page (below) as cso1 with the
    token in pln123.toml first, and the pop shows there when cso1's phone rings
  * a SIP softphone: account 'softphone' at 127.0.0.1:{sip_port} (UDP), password from
    PLN123_SIP_PASSWORD (or pln123.toml), then dial 123
  * the simulator, no Asterisk needed: .venv/bin/pln123 simulate main
AMI listens on 127.0.0.1:{ami_port}. Ctrl-C stops Asterisk and the IVR.
"""


@cli.group()
def demo() -> None:
    """Demo data."""


@demo.command("seed")
def demo_seed() -> None:
    """Fill the embedded SQLite backends with demo customers, callers and reports."""
    from ivr.backends.demo import seed

    click.echo(seed(_settings().store_location))


cli.add_command(prompts)
cli.add_command(stats)
cli.add_command(outage)
cli.add_command(audit)
cli.add_command(db)
cli.add_command(announcement)
cli.add_command(hours_group)
cli.add_command(holiday_group)
cli.add_command(privacy)
from ivr.cli.bench_calls import bench_calls  # noqa: E402

bench.add_command(bench_calls)


if __name__ == "__main__":
    cli()
