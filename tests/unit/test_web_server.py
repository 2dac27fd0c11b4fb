"""The screen-pop page's server: login, sessions and the feed's authentication."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from ivr.config import AgentSettings
from ivr.screenpop.hub import PopHub
from ivr.store.pops import PopStore
from ivr.web import auth
from ivr.web.server import CLOSE_UNAUTHORISED, HUB, make_app

AGENTS = {
    "cso1": AgentSettings(name="Dewi", token=SecretStr("rahasia-1")),
    "cso2": AgentSettings(name="Rudi", token=SecretStr("rahasia-2")),
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    store = PopStore(tmp_path / "calls.sqlite3")
    hub = PopHub(store, AGENTS, "Asia/Jakarta")
    app = make_app(hub, AGENTS, lambda: {"ami": False})
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


def test_cookies_are_bound_to_the_agent_and_token() -> None:
    cookie = auth.session_cookie(AGENTS, "cso1")
    assert auth.agent_of_cookie(AGENTS, cookie) == "cso1"
    assert auth.agent_of_cookie(AGENTS, cookie.replace("cso1.", "cso2.")) is None
    assert auth.agent_of_cookie(AGENTS, cookie[:-1] + "0") in (None, "cso1")
    assert auth.agent_of_cookie(AGENTS, "cso1.") is None
    assert auth.agent_of_cookie(AGENTS, None) is None
    changed = {"cso1": AGENTS["cso1"].model_copy(update={"token": SecretStr("baru")})}
    assert auth.agent_of_cookie(changed, cookie) is None  # a new token ends old sessions


def test_login_needs_the_right_token() -> None:
    assert auth.check_login(AGENTS, "cso1", "rahasia-1")
    assert not auth.check_login(AGENTS, "cso1", "rahasia-2")
    assert not auth.check_login(AGENTS, "cso9", "rahasia-1")
    empty = {"cso3": AgentSettings(name="x", token=SecretStr(""))}
    assert not auth.check_login(empty, "cso3", "")


async def test_the_page_needs_a_login(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/agent", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    assert await log_in(client, "cso1", "salah") == "/login?error=1"
    assert await log_in(client, "cso1", "rahasia-1") == "/agent"
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
    await log_in(client, "cso1", "rahasia-1")
    ws = await client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED


async def test_the_feed_greets_the_agent_and_takes_callback_done(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await log_in(client, "cso1", "rahasia-1")
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
