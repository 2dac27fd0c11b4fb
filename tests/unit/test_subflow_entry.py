"""Flows with a ``return`` node are subflows only: never a call's flow.

``pln123 flows check`` reports ``default_flow`` or a dialplan FastAGI URL naming one;
an AGI request naming one is refused with one log line and runs the default flow.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.agi import variables as var
from ivr.agi.channel import AgiChannel
from ivr.agi.server import FastAgiServer
from ivr.app import IvrApp
from ivr.backends.demo import seed
from ivr.backends.embedded import EmbeddedDatabase
from ivr.cli.main import cli
from ivr.config import Settings
from ivr.engine.library import FlowLibrary, LibraryHolder, load_library
from ivr.engine.validate import DIALPLAN, check_entries, dialplan_flows
from ivr.kit import KIT
from ivr.store.calls import CallStore
from ivr.tools.testing.fake_asterisk import CallScript, place_call

REPO = Path(__file__).resolve().parents[2]
SUBFLOWS = {"pln_mobile", "status", "tambah_daya"}


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return load_library(REPO / "flows", REPO / "audio", KIT)


def test_the_flows_with_a_return_node_are_the_subflows(library: FlowLibrary) -> None:
    assert {name for name, f in library.flows.items() if f.flow.subflow_only} == SUBFLOWS
    for name in ("main", "periksa", "panggilan_balik", "di_luar_jam"):
        assert library.entry_problem(name) is None
    why = library.entry_problem("status")
    assert why is not None and "subflow" in why and "'return'" in why
    assert library.entry_problem("nope") == "no flow named 'nope'"


def test_the_shipped_dialplan_and_default_start_calls_in_call_flows(
    library: FlowLibrary,
) -> None:
    dialplan = REPO / DIALPLAN
    assert [name for _line, name in dialplan_flows(dialplan)] == ["main", "panggilan_balik"]
    assert check_entries(library.flows, "main", Path("pln123.toml"), dialplan) == []
    # A missing default_flow is not this check's business (a project may serve others).
    assert check_entries(library.flows, "hilang", Path("pln123.toml")) == []


DIALPLAN_TEXT = """\
[pln123-ivr]
; exten 124 once ran AGI(agi://${agi_host}:${agi_port}/tambah_daya): a comment
exten => 123,1,Answer()
 same => n,AGI(agi://${agi_host}:${agi_port}/main)
exten => 124,1,AGI(agi://${agi_host}:${agi_port}/status,${ARG1})
exten => 125,1,AGI(agi://10.0.0.5:4573/hilang)
[pln123-test-caller]
exten => s,1,AGI(agi://${agi_host}:${callerbot_port}/callerbot)
"""


def test_a_subflow_as_default_or_in_the_dialplan_is_a_problem_with_its_line(
    library: FlowLibrary, tmp_path: Path
) -> None:
    dialplan = tmp_path / "extensions.conf"
    dialplan.write_text(DIALPLAN_TEXT)
    problems = check_entries(library.flows, "tambah_daya", Path("x.toml"), dialplan)
    assert [(p.file.name, p.line) for p in problems] == [
        ("x.toml", None),
        ("extensions.conf", 5),
        ("extensions.conf", 6),
    ]
    assert "default_flow: flow 'tambah_daya' is a subflow" in str(problems[0])
    assert "AGI URL: flow 'status' is a subflow" in str(problems[1])
    assert "AGI URL: no flow named 'hilang'" in str(problems[2])


def test_flows_check_fails_on_a_subflow_in_the_dialplan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    dialplan = tmp_path / "extensions.conf"
    dialplan.write_text(DIALPLAN_TEXT)
    result = CliRunner().invoke(cli, ["flows", "check", "--dialplan", str(dialplan)])
    assert result.exit_code == 1, result.output
    assert "calls would start in flows that cannot run as one" in result.output
    assert f"{dialplan}:5: AGI URL: flow 'status' is a subflow" in result.output

    monkeypatch.setenv("PLN123_DEFAULT_FLOW", "status")
    result = CliRunner().invoke(cli, ["flows", "check"])
    assert result.exit_code == 1, result.output
    assert "default_flow: flow 'status' is a subflow" in result.output

    monkeypatch.delenv("PLN123_DEFAULT_FLOW")
    result = CliRunner().invoke(cli, ["flows", "check"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("flow", ["status", "tidak_ada"])
def test_serve_refuses_a_default_flow_no_call_can_start_in(
    flow: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PLN123_DEFAULT_FLOW", flow)
    monkeypatch.setenv("PLN123_DB_PATH", str(tmp_path / "calls.sqlite3"))

    async def started(self: IvrApp) -> None:
        raise AssertionError("serve started with a default_flow no call can start in")

    monkeypatch.setattr(IvrApp, "run", started)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1, result.output
    assert "refusing to start: default_flow: " in result.output
    assert not (tmp_path / "calls.sqlite3").exists(), "nothing is started"


async def test_an_agi_request_for_a_subflow_runs_the_default_flow(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ivr.app")
    settings = Settings(db_path=tmp_path / "x.db")
    seed(settings.db_path)
    store = CallStore(settings.db_path)
    database = EmbeddedDatabase(settings.db_path)
    server: FastAgiServer | None = None
    try:
        app = IvrApp(
            settings, LibraryHolder(REPO / "flows", REPO / "audio", KIT), store, database.backends()
        )
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def handler(channel: AgiChannel) -> None:
            try:
                await app.handle_call(channel)
            finally:
                handed.set_result(None)

        server = FastAgiServer(handler, port=0)
        await server.start()
        record = await asyncio.wait_for(
            place_call("127.0.0.1", server.port, CallScript(script="status", keys="0")), 10
        )
        await asyncio.wait_for(handed, 10)
        summary = store.summary(record.variables[var.CALL_ID])
        assert summary is not None and summary.flow == "main"
        refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == 1
        assert "asks for flow 'status', refused: flow 'status' is a subflow" in refused[0]
        assert refused[0].endswith("; running main")
    finally:
        if server is not None:
            await server.shutdown(0)
        database.close()
        store.close()
