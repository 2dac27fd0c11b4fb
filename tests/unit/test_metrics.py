"""The Prometheus side: the live watcher's counts, the AGI and backend timings, and a
Grafana dashboard that names only series the IVR really exposes."""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr import metrics
from ivr.agi.channel import AgiChannel
from ivr.agi.connection import AgiConnection
from ivr.agi.server import FastAgiServer
from ivr.backends.guarded import GuardedCrm
from ivr.backends.ports import BackendError, BackendTimeout, CallerInfo
from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.interpreter import run_call
from ivr.engine.journey import CallResult, CsoReason, Exit
from ivr.engine.library import FlowLibrary
from ivr.engine.loader import parse_flow_text
from ivr.engine.model import InputNode
from ivr.engine.port import Outcome as CallOutcome
from ivr.kit import KIT
from ivr.ops.live import MetricsWatcher
from ivr.ops.worker_metrics import merged_exposition
from ivr.prompts.catalogue import PromptCatalogue, PromptEntry
from ivr.sim.port import SimPort
from ivr.store.calls import CallStore
from ivr.tools.testing.fake_asterisk import CallScript, header_lines
from tests.support import Outcome, handing_handler

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "pln123-dashboard.json"
HOST = "127.0.0.1"
WAIT = 5.0
HEADERS = ("".join(f"{line}\n" for line in header_lines(CallScript(), HOST, 4573)) + "\n").encode()


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[metrics.Metrics]:
    """The process's metrics from zero; the previous ones come back after the test."""
    monkeypatch.setattr(metrics, "METRICS", metrics.METRICS)
    yield metrics.fresh_registry()


def value(m: metrics.Metrics, name: str, **labels: str) -> float:
    """A sample's value; 0.0 for a sample never recorded."""
    found = m.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


# -- the live watcher ----------------------------------------------------------------


def test_the_watcher_counts_calls_cso_reasons_and_node_exits(fresh: metrics.Metrics) -> None:
    watcher = MetricsWatcher()
    watcher.call_started("main")
    watcher.call_started("main")
    assert value(fresh, "pln123_active_calls") == 2

    watcher.node_left("main", "menu", Exit.NOINPUT)
    watcher.node_left("main", "menu", Exit.NOINPUT)
    watcher.node_left("main", "menu", Exit.NEXT)
    watcher.node_left("lapor", "idpel", Exit.HANGUP)
    watcher.call_ended("main", CallResult.CSO, CsoReason.RETRIES, 42.0)
    watcher.call_ended("main", CallResult.CONTAINED, None, 7.0)

    assert value(fresh, "pln123_active_calls") == 0
    exits = "pln123_node_exits_total"
    assert value(fresh, exits, flow="main", node="menu", exit="noinput") == 2
    assert value(fresh, exits, flow="main", node="menu", exit="next") == 1
    assert value(fresh, exits, flow="lapor", node="idpel", exit="hangup") == 1
    assert value(fresh, "pln123_calls_total", flow="main", outcome="cso") == 1
    assert value(fresh, "pln123_calls_total", flow="main", outcome="contained") == 1
    assert value(fresh, "pln123_cso_calls_total", flow="main", reason="retries") == 1
    assert value(fresh, "pln123_cso_calls_total", flow="main", reason="flow") == 0
    assert value(fresh, "pln123_call_ivr_seconds_count", flow="main") == 2
    assert value(fresh, "pln123_call_ivr_seconds_sum", flow="main") == 49.0
    assert value(fresh, "pln123_call_ivr_seconds_bucket", flow="main", le="10.0") == 1


def test_the_watcher_follows_a_fresh_registry(fresh: metrics.Metrics) -> None:
    watcher = MetricsWatcher()
    watcher.node_left("main", "menu", Exit.NEXT)
    watcher.call_ended("main", CallResult.ABANDONED, None, 3.0)
    again = metrics.fresh_registry()
    watcher.node_left("main", "menu", Exit.NEXT)
    watcher.call_ended("main", CallResult.ABANDONED, None, 3.0)

    labels = {"flow": "main", "node": "menu", "exit": "next"}
    assert value(fresh, "pln123_node_exits_total", **labels) == 1
    assert value(again, "pln123_node_exits_total", **labels) == 1
    assert value(again, "pln123_calls_total", flow="main", outcome="abandoned") == 1


FLOW = """\
    flow: main
    start: hello
    defaults:
      noinput: [[p_again]]
    nodes:
      hello: {kind: play, prompt: [p_hello], next: menu}
      menu:
        kind: menu
        ask: menu
        prompt: [p_menu]
        choices:
          1: {value: satu, next: bye}
      bye: {kind: hangup, prompt: [p_bye]}
"""


async def test_a_call_through_the_interpreter_is_counted(
    fresh: metrics.Metrics, tmp_path: Path
) -> None:
    loaded = parse_flow_text(textwrap.dedent(FLOW), Path("main.yaml"), KIT.kinds)
    prompts = ["p_hello", "p_menu", "p_bye", "p_again"]
    catalogue = PromptCatalogue({p: PromptEntry(p, p.upper(), None) for p in prompts})
    library = FlowLibrary({"main": loaded}, catalogue, KIT)
    presses = ["", "", "", ""]  # silence until the attempts run out

    async def caller(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        return presses.pop(0) if presses else ""

    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    store = CallStore(settings.db_path)
    try:
        ctx = await open_call(
            settings, library, store, SimPort(caller), "main", "0811", watcher=MetricsWatcher()
        )
        outcome = await run_call(ctx)
    finally:
        store.close()

    assert outcome is CallOutcome.QUEUED
    exits = "pln123_node_exits_total"
    assert value(fresh, exits, flow="main", node="hello", exit="next") == 1
    assert value(fresh, exits, flow="main", node="menu", exit="noinput") == 1
    assert value(fresh, "pln123_calls_total", flow="main", outcome="cso") == 1
    assert value(fresh, "pln123_cso_calls_total", flow="main", reason="retries") == 1
    assert value(fresh, "pln123_active_calls") == 0
    assert value(fresh, "pln123_call_ivr_seconds_count", flow="main") == 1


def test_the_exposition_parses(fresh: metrics.Metrics) -> None:
    watcher = MetricsWatcher()
    watcher.call_started("main")
    watcher.node_left("main", "menu", Exit.CSO)
    watcher.call_ended("main", CallResult.CSO, CsoReason.CALLER, 12.5)
    body, content_type = fresh.exposition()

    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert content_type.startswith("text/plain")
    assert families["pln123_calls"].type == "counter"
    assert families["pln123_call_ivr_seconds"].type == "histogram"
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in families_samples(body)}
    assert samples["pln123_cso_calls_total", (("flow", "main"), ("reason", "caller"))] == 1
    assert samples["pln123_active_calls", ()] == 0


def families_samples(body: bytes) -> Iterator[Any]:
    for family in text_string_to_metric_families(body.decode()):
        yield from family.samples


# -- the dashboard names only exposed series ---------------------------------------------


def exposed_samples() -> list[Any]:
    """Every sample ``/metrics`` shows once each metric has a sample: as the web process
    of ``pln123 serve --workers N`` shows them (a call worker's series labelled with its
    ``worker``, and which workers answered), a superset of one process's.

    A metric with labels shows nothing before its first sample, so each is recorded
    once here; a metric added to :class:`~ivr.metrics.Metrics` without a line here
    fails the check below rather than go unchecked.
    """
    m = metrics.Metrics()
    m.calls.labels("main", "contained").inc()
    m.cso_reasons.labels("main", "caller").inc()
    m.node_exits.labels("main", "menu", "hangup").inc()
    m.active_calls.inc()
    m.ivr_seconds.labels("main").observe(30)
    m.agi_command_seconds.observe(0.002)
    m.backend_seconds.labels("CRM caller lookup", "ok").observe(0.01)
    m.queue_waiting.labels("umum").set(2)
    text = m.exposition()[0].decode()
    body = merged_exposition(text, {"agi-1": text}, metrics.WEB_FAMILIES)
    families = list(text_string_to_metric_families(body.decode()))
    silent = [family.name for family in families if not family.samples]
    assert not silent, f"record a sample of {silent} in exposed_samples()"
    return [sample for family in families for sample in family.samples]


def exposed_sample_names() -> set[str]:
    return {sample.name for sample in exposed_samples()}


#: PromQL words that are not series names when they stand alone.
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "atan2",
}  # fmt: skip
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GRAFANA_VARIABLES = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[\w+\]\]")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])[A-Za-z_:][\w:]*(?![\w:])(?!\s*\()")


def series_names(expr: str) -> set[str]:
    """The series (sample) names a PromQL expression selects.

    Strings, Grafana variables, label matchers, range selectors and grouping clauses
    are cut out first; what is left are functions (followed by ``(``), keywords and
    numbers, which are skipped, and the names.
    """
    text = _GRAFANA_VARIABLES.sub("1", _STRINGS.sub('""', expr))
    text = _GROUPING.sub(" ", _RANGES.sub(" ", _MATCHERS.sub(" ", text)))
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in PROMQL_WORDS}


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target, nested rows, and query variable."""
    found: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                found.append((f"panel {panel.get('title')!r}", target["expr"]))
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            inner = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", text)
            found.append((f"variable {variable['name']!r}", inner.group(1) if inner else text))
    return found


def unknown_series(queries: list[tuple[str, str]], exposed: set[str]) -> list[str]:
    return [
        f"{where}: {name}"
        for where, expr in queries
        for name in sorted(series_names(expr))
        if name not in exposed
    ]


_MATCHER_LABEL = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")


def label_names(expr: str) -> set[str]:
    """The label names an expression matches on or groups by."""
    text = _GRAFANA_VARIABLES.sub("1", _STRINGS.sub('""', expr))
    names = {
        name
        for matchers in re.findall(r"\{([^{}]*)\}", text)
        for name in _MATCHER_LABEL.findall(matchers)
    }
    for grouping in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^()]*)\)", text):
        names.update(name.strip() for name in grouping.split(",") if name.strip())
    return names


def test_series_names_are_read_from_promql() -> None:
    expr = (
        'sum by (backend, result) (rate(pln123_backend_seconds_count{result!="ok"}'
        "[$__rate_interval])) / ignoring (result) group_left sum by (backend)"
        " (rate(pln123_backend_seconds_count[5m] offset 1h)) * 60 + 1e3 + up"
    )
    assert series_names(expr) == {"pln123_backend_seconds_count", "up"}
    assert series_names("histogram_quantile(0.99, sum(rate(x_bucket[1m])) by (le))") == {"x_bucket"}
    assert series_names('topk(10, pln123_node_exits_total{exit=~"a|b{1}"})') == {
        "pln123_node_exits_total"
    }
    assert label_names(expr) == {"backend", "result"}
    assert label_names('sum by (le) (x{flow=~"$flow", exit!="a"})') == {"le", "flow", "exit"}


def test_the_dashboard_names_only_series_the_ivr_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = dashboard_queries(dashboard)
    exposed = exposed_sample_names()

    assert len(queries) >= 10
    assert unknown_series(queries, exposed) == []
    labels = {label for sample in exposed_samples() for label in sample.labels}
    assert {label for _where, expr in queries for label in label_names(expr)} <= labels
    used = set().union(*(series_names(expr) for _where, expr in queries))
    # Every metric of the IVR is on the dashboard.
    families = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    assert families >= {
        "pln123_calls",
        "pln123_cso_calls",
        "pln123_node_exits",
        "pln123_active_calls",
        "pln123_call_ivr_seconds",
        "pln123_agi_command_seconds",
        "pln123_backend_seconds",
        "pln123_queue_waiting",
    }


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(pln123_calls[5m]))",  # a counter's family name: exposed as _total
        "sum(pln123_active_calls_total)",  # a gauge has no _total
        "histogram_quantile(0.99, rate(pln123_agi_command_seconds[5m]))",  # no _bucket
        "rate(pln123_agi_command_seconds_total[5m])",  # a histogram has no _total
        'sum(pln123_call{outcome="cso"})',  # a typo
        "up",  # not the IVR's
    ],
)
def test_a_dashboard_naming_an_unknown_series_fails(expr: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    dashboard["panels"].append({"title": "wrong", "targets": [{"expr": expr, "refId": "Z"}]})
    unknown = unknown_series(dashboard_queries(dashboard), exposed_sample_names())
    assert len(unknown) == 1 and unknown[0].startswith("panel 'wrong': ")


def test_the_dashboard_is_importable_into_grafana() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
            assert target["refId"]


# -- backend timings -----------------------------------------------------------------


class Crm:
    """A CRM that answers, fails, or never answers, as told."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    async def caller(self, phone: str) -> CallerInfo | None:
        if self.behaviour == "fail":
            raise ConnectionError(f"refused for {phone}")
        if self.behaviour == "hang":
            await asyncio.get_running_loop().create_future()  # never answers
        return CallerInfo(phone, "Budi", "Bapak", 0)


class LocalCrm(Crm):
    """A CRM that answers on the loop: the guard arms no timer for it."""

    runs_on_loop = True


BACKEND = "pln123_backend_seconds_count"


async def test_backend_calls_are_timed_by_result(fresh: metrics.Metrics) -> None:
    await GuardedCrm(Crm("ok"), timeout=5.0).caller("081234567890")
    with pytest.raises(BackendError) as failed:
        await GuardedCrm(Crm("fail"), timeout=5.0).caller("081234567890")
    with pytest.raises(BackendTimeout):
        await GuardedCrm(Crm("hang"), timeout=0.001).caller("081234567890")

    assert not isinstance(failed.value, BackendTimeout)
    for result in ("ok", "error", "timeout"):
        assert value(fresh, BACKEND, backend="CRM caller lookup", result=result) == 1, result
    labels = {"backend": "CRM caller lookup", "result": "timeout"}
    assert value(fresh, "pln123_backend_seconds_sum", **labels) >= 0.001


async def test_unarmed_backend_calls_are_timed_too(fresh: metrics.Metrics) -> None:
    crm = GuardedCrm(LocalCrm("ok"), timeout=5.0)
    assert not crm._guard.armed
    await crm.caller("081234567890")
    crm.inner = LocalCrm("fail")
    with pytest.raises(BackendError):
        await crm.caller("081234567890")

    assert value(fresh, BACKEND, backend="CRM caller lookup", result="ok") == 1
    assert value(fresh, BACKEND, backend="CRM caller lookup", result="error") == 1


# -- AGI command timings ---------------------------------------------------------------

AGI = "pln123_agi_command_seconds_count"


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return (HOST, 12345) if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


class _Owner:
    header_timeout = 5.0

    def allowed(self, peer: str) -> bool:
        return True

    def start_call(self, connection: AgiConnection, headers: dict[str, str]) -> None:
        pass

    def forget(self, connection: AgiConnection) -> None:
        pass


async def test_only_commands_that_do_not_wait_for_the_caller_are_timed(
    fresh: metrics.Metrics,
) -> None:
    connection = AgiConnection(_Owner())
    connection.connection_made(_Transport())
    connection.data_received(HEADERS)

    async def exchange(command: bytes, *answer: bytes) -> None:
        connection.write(command)
        line = connection.next_line()
        connection.data_received(b"".join(answer))
        await line

    await exchange(b"ANSWER\n", b"200 result=0\n")
    assert value(fresh, AGI) == 1
    await exchange(b'STREAM FILE "p_hello" ""\n', b"200 result=0 endpos=8000\n")
    await exchange(b"WAIT FOR DIGIT 5000\n", b"200 result=49\n")
    await exchange(b'GET DATA "p_ask" 5000 12\n', b"200 result=123\n")
    await exchange(b'EXEC Queue "umum"\n', b"200 result=0\n")
    assert value(fresh, AGI) == 1
    # A 100 Trying then the answer: one round trip, timed at the first line.
    await exchange(b'SET VARIABLE "x" "1"\n', b"100 result=0 Trying...\n200 result=1\n")
    connection.next_line().result()  # the 200 line, already there
    assert value(fresh, AGI) == 2
    # A line that came before the command answers nothing that can be timed.
    connection.data_received(b"200 result=0\n")
    connection.write(b'GET VARIABLE "x"\n')
    await connection.next_line()
    assert value(fresh, AGI) == 2
    assert 0 < value(fresh, "pln123_agi_command_seconds_sum") < WAIT


@pytest.fixture
async def serve() -> AsyncIterator[list[FastAgiServer]]:
    servers: list[FastAgiServer] = []
    yield servers
    for server in servers:
        await server.shutdown(0)


async def test_a_channel_s_quick_commands_are_timed_over_a_socket(
    fresh: metrics.Metrics, serve: list[FastAgiServer]
) -> None:
    async def drive(channel: AgiChannel) -> None:
        await channel.answer()
        await channel.set_variable("x", "1")
        await channel.stream_file("p_hello", "0")
        await channel.wait_for_digit(1.0)
        await channel.get_data("p_ask", 1.0, 4)
        await channel.say_digits("123")
        await channel.say_number(7)
        await channel.exec("Wait", "1")
        await channel.get_variable("x")
        await channel.verbose("hi")
        await channel.hangup()

    handler, handed = handing_handler(drive)
    server = FastAgiServer(handler, host=HOST, port=0)
    serve.append(server)
    await server.start()
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(HEADERS)
    commands = []
    for _ in range(11):
        commands.append(await asyncio.wait_for(reader.readline(), WAIT))
        writer.write(b"200 result=1\n")
    outcome: Outcome = await asyncio.wait_for(handed, WAIT)
    writer.close()

    assert outcome == (None, None)
    assert commands[-1] == b"HANGUP\n"
    # ANSWER, SET VARIABLE, GET VARIABLE, VERBOSE, HANGUP: the other six wait for the caller.
    assert value(fresh, AGI) == 5
