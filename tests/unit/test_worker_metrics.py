"""``pln123 serve --workers N``: the call workers' metrics merged into one exposition,
their private endpoints, and ``/metrics`` and ``/healthz`` of the web process speaking
for them (a worker dead, hung or with a failing store). No processes are forked: the
workers' endpoints run on the test's event loop."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from ivr import metrics
from ivr.ops.worker_metrics import WORKER_UP, WORKERS_UP, merged_exposition, parse
from ivr.screenpop.hub import PopHub
from ivr.store.pops import PopStore
from ivr.web.server import WORKERS, make_app
from ivr.web.worker_peers import WorkerPeers, socket_path
from ivr.workers.endpoint import WorkerEndpoint

WORKER_1 = """\
# HELP pln123_calls_total Calls ended.
# TYPE pln123_calls_total counter
pln123_calls_total{flow="main",outcome="contained"} 3.0
pln123_calls_total{flow="main",outcome="cso"} 1.0
# HELP pln123_active_calls Calls the IVR holds now.
# TYPE pln123_active_calls gauge
pln123_active_calls 2.0
# HELP pln123_agi_command_seconds AGI command round trips.
# TYPE pln123_agi_command_seconds histogram
pln123_agi_command_seconds_bucket{le="0.01"} 4.0
pln123_agi_command_seconds_bucket{le="+Inf"} 5.0
pln123_agi_command_seconds_count 5.0
pln123_agi_command_seconds_sum 0.3
# HELP pln123_queue_waiting Callers waiting in a CSO queue now.
# TYPE pln123_queue_waiting gauge
"""
WORKER_2 = """\
# HELP pln123_calls_total Calls ended.
# TYPE pln123_calls_total counter
pln123_calls_total{flow="main",outcome="contained"} 7.0
# HELP pln123_active_calls Calls the IVR holds now.
# TYPE pln123_active_calls gauge
pln123_active_calls 0.0
"""
WEB = """\
# HELP pln123_calls_total Calls ended.
# TYPE pln123_calls_total counter
# HELP pln123_active_calls Calls the IVR holds now.
# TYPE pln123_active_calls gauge
pln123_active_calls 0.0
# HELP pln123_queue_waiting Callers waiting in a CSO queue now.
# TYPE pln123_queue_waiting gauge
pln123_queue_waiting{queue="umum"} 2.0
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition (parsed by prometheus_client), by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def merge(workers: dict[str, str | None]) -> str:
    return merged_exposition(WEB, workers, metrics.WEB_FAMILIES).decode()


def test_two_workers_merge_into_one_exposition_with_worker_labels() -> None:
    text = merge({"agi-1": WORKER_1, "agi-2": WORKER_2})
    # One family per name: HELP and TYPE once each.
    for kind in ("HELP", "TYPE"):
        names = re.findall(rf"^# {kind} (\S+)", text, flags=re.MULTILINE)
        assert len(names) == len(set(names)), names
    families = {f.name: f for f in parse(text)}
    calls = families["pln123_calls"]
    assert calls.type == "counter"
    assert {(s.labels["worker"], s.labels["outcome"], s.value) for s in calls.samples} == {
        ("agi-1", "contained", 3.0),
        ("agi-1", "cso", 1.0),
        ("agi-2", "contained", 7.0),
    }
    got = samples(text)
    # The web process's own copies of the call figures are left out; its AMI figures
    # keep their labels, no worker's (empty) copy of them is added.
    assert got[("pln123_active_calls", (("worker", "agi-1"),))] == 2.0
    assert got[("pln123_active_calls", (("worker", "agi-2"),))] == 0.0
    assert ("pln123_active_calls", ()) not in got
    assert got[("pln123_queue_waiting", (("queue", "umum"),))] == 2.0
    assert [k for k in got if k[0] == "pln123_queue_waiting"] == [
        ("pln123_queue_waiting", (("queue", "umum"),))
    ]
    assert got[("pln123_agi_command_seconds_bucket", (("le", "+Inf"), ("worker", "agi-1")))] == 5.0
    assert got[("pln123_agi_command_seconds_sum", (("worker", "agi-1"),))] == 0.3
    assert families["pln123_agi_command_seconds"].type == "histogram"
    assert got[(WORKERS_UP, ())] == 2.0


def test_a_worker_that_did_not_answer_is_counted_down_and_left_out() -> None:
    text = merge({"agi-1": WORKER_1, "agi-2": None, "agi-3": "not an exposition {"})
    got = samples(text)
    assert got[(WORKERS_UP, ())] == 1.0
    assert got[(WORKER_UP, (("worker", "agi-1"),))] == 1.0
    assert got[(WORKER_UP, (("worker", "agi-2"),))] == 0.0
    assert got[(WORKER_UP, (("worker", "agi-3"),))] == 0.0
    assert {dict(labels).get("worker") for name, labels in got if name == "pln123_calls_total"} == {
        "agi-1"
    }


def test_real_registries_round_trip() -> None:
    one, two, web = metrics.Metrics(), metrics.Metrics(), metrics.Metrics()
    one.calls.labels("main", "contained").inc()
    two.calls.labels("main", "contained").inc(2)
    two.node_exits.labels("main", "menu", "next").inc()
    web.queue_waiting.labels("umum").set(1)
    text = merged_exposition(
        web.exposition()[0].decode(),
        {"agi-1": one.exposition()[0].decode(), "agi-2": two.exposition()[0].decode()},
        metrics.WEB_FAMILIES,
    ).decode()
    got = samples(text)
    key = (("flow", "main"), ("outcome", "contained"))
    assert got[("pln123_calls_total", (*key, ("worker", "agi-1")))] == 1.0
    assert got[("pln123_calls_total", (*key, ("worker", "agi-2")))] == 2.0
    exits = (("exit", "next"), ("flow", "main"), ("node", "menu"), ("worker", "agi-2"))
    assert got[("pln123_node_exits_total", exits)] == 1.0


# --- the endpoints over unix sockets ---------------------------------------------------


class Hung:
    """A worker whose loop is stuck: its socket accepts, nothing ever answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the asker gives up
            writer.close()

        self.server = await asyncio.start_unix_server(silent, str(self.path))

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
def short_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with a short path: a unix socket's path has at most 107 bytes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pln123-t-") as folder:
        yield Path(folder)


@pytest.fixture
async def workers(short_tmp: Path) -> AsyncIterator[dict[str, Any]]:
    """agi-1 answers (a failing store), agi-2 is dead (no socket), agi-3 is hung."""
    store: dict[str, Any] = {"ok": True}
    fresh = metrics.fresh_registry()
    fresh.calls.labels("main", "contained").inc()
    endpoint = WorkerEndpoint(socket_path(short_tmp, "agi-1"), lambda: dict(store))
    hung = Hung(socket_path(short_tmp, "agi-3"))
    await endpoint.start()
    await hung.start()
    peers = WorkerPeers(
        short_tmp, ["agi-1", "agi-2", "agi-3"], health_timeout=0.2, metrics_timeout=0.2
    )
    try:
        yield {"peers": peers, "store": store, "endpoint": endpoint}
    finally:
        await hung.stop()
        await endpoint.stop()
    assert not socket_path(short_tmp, "agi-1").exists()


async def test_peers_ask_each_worker_and_log_a_silent_one_once(
    workers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    peers: WorkerPeers = workers["peers"]
    with caplog.at_level(logging.WARNING, "ivr.web.worker_peers"):
        texts = await peers.metrics()
        health = await peers.health()
        await peers.metrics()
    assert texts["agi-2"] is None and texts["agi-3"] is None
    assert 'pln123_calls_total{flow="main",outcome="contained"} 1.0' in (texts["agi-1"] or "")
    assert health["agi-1"]["up"] and health["agi-1"]["store"] == {"ok": True}
    assert isinstance(health["agi-1"]["pid"], int)
    assert not health["agi-2"]["up"] and (
        health["agi-2"]["reason"] == "cannot connect: No such file or directory"
    )
    assert not health["agi-3"]["up"] and "no answer within 0.2 s" in health["agi-3"]["reason"]
    silent = [r.getMessage() for r in caplog.records if "does not answer" in r.getMessage()]
    assert len(silent) == 2 and {m.split()[2] for m in silent} == {"agi-2", "agi-3"}


@pytest.fixture
async def web_client(workers: dict[str, Any], short_tmp: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    store = PopStore(short_tmp / "calls.sqlite3")
    hub = PopHub(store, {}, "Asia/Jakarta")
    health = {"status": "ok", "ami": True, "store": {"ok": True}}
    app = make_app(hub, {}, lambda: dict(health))
    app[WORKERS] = workers["peers"]
    async with TestClient(TestServer(app)) as client:
        yield client
    await hub.close()
    store.close()


async def test_healthz_reports_every_worker_and_degrades(
    web_client: TestClient,  # type: ignore[type-arg]
    workers: dict[str, Any],
) -> None:
    body = await (await web_client.get("/healthz")).json()
    assert body["status"] == "degraded" and body["ami"] is True and body["store"] == {"ok": True}
    assert body["workers"]["agi-1"]["up"] is True
    assert body["workers"]["agi-2"]["up"] is False and body["workers"]["agi-2"]["since"]
    assert body["workers"]["agi-3"]["up"] is False
    # Only the answering worker left, its store failing: still degraded, saying why.
    workers["peers"].names[:] = ["agi-1"]
    workers["store"].update(ok=False, reason="OperationalError: disk I/O error")
    body = await (await web_client.get("/healthz")).json()
    assert body["status"] == "degraded"
    assert body["workers"]["agi-1"]["store"]["reason"] == "OperationalError: disk I/O error"
    workers["store"].update(ok=True, reason="")
    body = await (await web_client.get("/healthz")).json()
    assert body["status"] == "ok" and list(body["workers"]) == ["agi-1"]


async def test_metrics_merge_the_workers_and_skip_the_silent_ones(
    web_client: TestClient,  # type: ignore[type-arg]
) -> None:
    metrics.METRICS.queue_waiting.labels("umum").set(4)  # the web process's own figure
    response = await web_client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    got = samples(await response.text())
    key = (("flow", "main"), ("outcome", "contained"), ("worker", "agi-1"))
    assert got[("pln123_calls_total", key)] == 1.0
    assert got[("pln123_queue_waiting", (("queue", "umum"),))] == 4.0
    assert got[(WORKERS_UP, ())] == 1.0
    assert got[(WORKER_UP, (("worker", "agi-3"),))] == 0.0
