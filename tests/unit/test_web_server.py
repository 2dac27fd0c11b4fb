"""The web server: logins and sessions of both roles, the feed's authentication, the
ops APIs and ``/metrics``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from ivr import metrics
from ivr.config import AgentSettings, OpsSettings
from ivr.engine.library import LibraryHolder
from ivr.kit import KIT
from ivr.screenpop.hub import PopHub
from ivr.store.pops import PopStore
from ivr.web import auth
from ivr.web.server import CLOSE_UNAUTHORISED, HUB, OpsSite, make_app, stats_span

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Jakarta")

AGENTS = {
    "cso1": AgentSettings(name="Dewi", token=SecretStr("rahasia-cso1-0001")),
    "cso2": AgentSettings(name="Rudi", token=SecretStr("rahasia-cso2-0002")),
}
#: ``cso1`` is an ops user too, with the same token: the roles must still not mix.
OPS = {
    "lina": OpsSettings(name="Lina", token=SecretStr("ops-rahasia-lina-01")),
    "cso1": OpsSettings(name="Dewi", token=SecretStr("rahasia-cso1-0001")),
}


@pytest.fixture(scope="module")
def library() -> LibraryHolder:
    return LibraryHolder(REPO / "flows", REPO / "audio", KIT)


@pytest.fixture
async def client(tmp_path: Path, library: LibraryHolder) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    store = PopStore(tmp_path / "calls.sqlite3")
    hub = PopHub(store, AGENTS, "Asia/Jakarta")
    site = OpsSite(users=OPS, library=library, db_path=tmp_path / "calls.sqlite3")
    app = make_app(hub, AGENTS, lambda: {"ami": False}, site)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    await hub.close()
    store.close()


async def log_in(client: TestClient, agent: str, token: str) -> str:  # type: ignore[type-arg]
    response = await client.post(
        "/login", data={"agent": agent, "token": token}, allow_redirects=False
    )
    assert response.status == 303
    return response.headers["Location"]


def jar_cookie(client: TestClient, name: str) -> str:  # type: ignore[type-arg]
    """The value of a cookie the test client holds."""
    return next(c.value for c in client.session.cookie_jar if c.key == name)


def test_sessions_are_bound_to_the_role_the_user_and_the_token() -> None:
    store = auth.SessionStore(max_age=3600, idle_timeout=600)
    cookie = store.create(auth.AGENT, AGENTS, "cso1")
    assert store.user_of(auth.AGENT, AGENTS, cookie) == "cso1"
    assert store.user_of(auth.OPS, OPS, cookie) is None  # another role's session
    assert (
        store.user_of(auth.AGENT, AGENTS, cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None
    )
    assert store.user_of(auth.AGENT, AGENTS, "cso1.") is None
    assert store.user_of(auth.AGENT, AGENTS, None) is None
    changed = {"cso1": AGENTS["cso1"].model_copy(update={"token": SecretStr("baru-" * 4)})}
    assert store.user_of(auth.AGENT, changed, cookie) is None  # a new token ends old sessions
    assert store.user_of(auth.AGENT, AGENTS, cookie) is None  # ... for good
    assert len(store) == 0


def test_login_needs_the_right_token() -> None:
    assert auth.check_login(AGENTS, "cso1", "rahasia-cso1-0001")
    assert not auth.check_login(AGENTS, "cso1", "rahasia-cso2-0002")
    assert not auth.check_login(AGENTS, "cso9", "rahasia-cso1-0001")
    empty = {"cso3": AgentSettings(name="x", token=SecretStr(""))}
    assert not auth.check_login(empty, "cso3", "")


async def test_the_page_needs_a_login(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/agent", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    assert await log_in(client, "cso1", "salah") == "/login?error=1"
    assert await log_in(client, "cso1", "rahasia-cso1-0001") == "/agent"
    page = await client.get("/agent")
    assert page.status == 200 and "agent.js" in await page.text()


async def test_the_feed_refuses_a_page_without_a_session(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    ws = await client.ws_connect("/ws")
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED


async def test_the_feed_refuses_another_sites_page(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await log_in(client, "cso1", "rahasia-cso1-0001")
    ws = await client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED


async def test_the_feed_greets_the_agent_and_takes_callback_done(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await log_in(client, "cso1", "rahasia-cso1-0001")
    assert client.app is not None
    hub = client.app[HUB]
    task = hub.store.add_callback("c1", "", "081234567890", "umum")
    ws = await client.ws_connect("/ws")
    hello = json.loads((await ws.receive(timeout=5)).data)
    assert hello["type"] == "hello" and hello["agent"] == {"id": "cso1", "name": "Dewi"}
    assert [c["id"] for c in hello["callbacks"]] == [task.id]
    await ws.send_str(json.dumps({"type": "callback_done", "id": task.id}))
    update = json.loads((await ws.receive(timeout=5)).data)
    assert update == {"type": "callbacks", "callbacks": []}
    await ws.send_str("not json")  # ignored, the feed stays open
    await ws.close()


async def test_health_says_whether_ami_is_watched(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.get("/healthz")
    assert await response.json() == {"ami": False}


# --- ops ------------------------------------------------------------------------------


async def ops_log_in(client: TestClient, user: str, token: str) -> str:  # type: ignore[type-arg]
    response = await client.post(
        "/ops/login", data={"user": user, "token": token}, allow_redirects=False
    )
    assert response.status == 303
    return response.headers["Location"]


def test_ops_logins_are_not_agent_logins() -> None:
    assert auth.OPS_COOKIE != auth.COOKIE
    assert auth.check_ops_login(OPS, "lina", "ops-rahasia-lina-01")
    assert not auth.check_ops_login(OPS, "cso2", "rahasia-cso2-0002")  # an agent, not ops


async def test_the_ops_page_needs_an_ops_login(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.get("/ops", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/ops/login")
    login = await client.get("/ops/login")
    assert login.status == 200 and 'action="/ops/login"' in await login.text()
    assert await ops_log_in(client, "lina", "salah") == "/ops/login?error=1"
    assert (
        await ops_log_in(client, "cso2", "rahasia-cso2-0002") == "/ops/login?error=1"
    )  # agent token
    assert await ops_log_in(client, "lina", "ops-rahasia-lina-01") == "/ops"
    page = await client.get("/ops")
    assert page.status == 200 and "ops.js" in await page.text()
    flows = await (await client.get("/ops/api/flows")).json()
    assert flows["user"] == {"id": "lina", "name": "Lina"}
    assert "main" in [flow["id"] for flow in flows["flows"]]
    out = await client.post("/ops/logout", allow_redirects=False)
    assert out.headers["Location"] == "/ops/login"
    assert (await client.get("/ops", allow_redirects=False)).status == 303


async def test_an_agent_login_does_not_open_the_ops_page(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await log_in(client, "cso1", "rahasia-cso1-0001")
    agent_page = await client.get("/agent")
    assert agent_page.status == 200
    agent_cookie = jar_cookie(client, auth.COOKIE)
    response = await client.get("/ops", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/ops/login")
    for api in ("/ops/api/flows", "/ops/api/stats", "/ops/api/graph?flow=main"):
        assert (await client.get(api)).status == 401, api
    # The agent's cookie value offered as an ops cookie is refused as well.
    forged = {auth.OPS_COOKIE: agent_cookie}
    assert (await client.get("/ops/api/flows", cookies=forged)).status == 401


async def test_an_ops_login_does_not_take_calls(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await ops_log_in(client, "cso1", "rahasia-cso1-0001")  # the ops user cso1
    response = await client.get("/agent", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    ws = await client.ws_connect("/ws")
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED
    forged = {auth.COOKIE: jar_cookie(client, auth.OPS_COOKIE)}
    response = await client.get("/agent", allow_redirects=False, cookies=forged)
    assert response.status == 303


def _add_call(
    conn: sqlite3.Connection, call_id: str, started: datetime, result: str | None
) -> None:
    conn.execute(
        "INSERT INTO calls (id, flow, caller, started_at, result, seconds)"
        " VALUES (?, 'main', '081234567890', ?, ?, 30.0)",
        (call_id, started.astimezone(ZONE).isoformat(timespec="milliseconds"), result),
    )
    conn.execute(
        "INSERT INTO journeys (call_id, seq, flow, node, exit, target, seconds, at)"
        " VALUES (?, 1, 'main', 'menu', 'next', 'periksa', 4.0, ?)",
        (call_id, started.timestamp() + 4.0),
    )


async def test_stats_counts_the_calls_of_the_span(
    client: TestClient,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    today = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    conn = sqlite3.connect(tmp_path / "calls.sqlite3")
    with conn:
        _add_call(conn, "a", today + timedelta(minutes=5), "contained")
        _add_call(conn, "b", today + timedelta(minutes=6), "cso")
        _add_call(conn, "c", today - timedelta(days=2), "contained")
    conn.close()
    await ops_log_in(client, "lina", "ops-rahasia-lina-01")
    response = await client.get("/ops/api/stats")  # today by default
    assert response.status == 200
    stats = await response.json()
    assert (stats["calls"], stats["contained"], stats["cso"]) == (2, 1, 1)
    assert stats["flows"]["main"]["nodes"]["menu"]["entered"] == 2
    day = (today - timedelta(days=2)).strftime("%Y-%m-%d")
    response = await client.get("/ops/api/stats", params={"since": day, "flow": "main"})
    assert (await response.json())["calls"] == 3
    response = await client.get(
        "/ops/api/stats", params={"since": f"{day}T00:00", "until": f"{day}T00:01"}
    )
    assert (await response.json())["calls"] == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "kemarin"}, "not YYYY-MM-DD"),
        ({"since": "2026-13-01"}, "does not match"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until must be after since"),
        ({"since": "2026-05-01T10:00", "until": "2026-05-01T10:00"}, "until must be after"),
        ({"since": "2020-01-01", "until": "2026-01-01"}, "at most"),
        ({"since": "2026-05-01", "flow": "tidak_ada"}, "unknown flow"),
    ],
)
async def test_stats_refuses_bad_parameters(
    client: TestClient,  # type: ignore[type-arg]
    params: dict[str, str],
    message: str,
) -> None:
    await ops_log_in(client, "lina", "ops-rahasia-lina-01")
    response = await client.get("/ops/api/stats", params=params)
    assert response.status == 400
    assert message in (await response.json())["error"]


def test_a_bare_until_date_counts_that_whole_day() -> None:
    now = datetime(2026, 5, 3, 12, 0, tzinfo=ZONE)
    since, until = stats_span({"until": "2026-05-04"}, ZONE, now)
    assert since == datetime(2026, 5, 3, tzinfo=ZONE)
    assert until == datetime(2026, 5, 5, tzinfo=ZONE)
    assert stats_span({}, ZONE, now) == (since, datetime(2026, 5, 4, tzinfo=ZONE))


async def test_graph_gives_the_flows_nodes_edges_and_drawing(
    client: TestClient,  # type: ignore[type-arg]
    library: LibraryHolder,
) -> None:
    await ops_log_in(client, "lina", "ops-rahasia-lina-01")
    assert (await client.get("/ops/api/graph")).status == 400
    assert (await client.get("/ops/api/graph", params={"flow": "tidak_ada"})).status == 404
    graph = await (await client.get("/ops/api/graph", params={"flow": "main"})).json()
    flow = library.current.flows["main"].flow
    assert graph["start"] == flow.start
    assert {node["id"] for node in graph["nodes"]} <= set(flow.nodes)
    menu = next(node for node in graph["nodes"] if node["id"] == "menu")
    assert menu["kind"] == "menu"
    assert {"source": "menu", "target": "periksa", "label": "1=periksa", "kind": "choice"} in (
        graph["edges"]
    )
    svg = graph["svg"]
    assert svg.startswith("<svg")
    assert 'id="opsn0"' in svg and f'id="opse{len(graph["edges"]) - 1}"' in svg


async def test_metrics_need_no_login_and_speak_prometheus(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    fresh = metrics.fresh_registry()  # read through the module at request time
    fresh.calls.labels(flow="main", outcome="contained").inc()
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == fresh.exposition()[1]
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    assert 'pln123_calls_total{flow="main",outcome="contained"} 1.0' in text
    assert "pln123_active_calls" in text
