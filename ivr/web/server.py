"""The screen-pop page's HTTP and WebSocket server (aiohttp), inside the IVR process.

Routes: ``/login`` (form and POST), ``/logout``, ``/agent`` (the page), ``/ws`` (the
page's live feed: see :mod:`ivr.screenpop.hub` for the messages), ``/static/...`` and
``/healthz``. Plain HTTP on loopback by default; put a TLS proxy in front to serve
CSOs on other machines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from ivr.config import AgentSettings
from ivr.screenpop.hub import Message, PopHub
from ivr.web import auth

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
#: WebSocket close code the page takes as "log in again".
CLOSE_UNAUTHORISED = 4401

HUB: web.AppKey[PopHub] = web.AppKey("hub", PopHub)
AGENTS: web.AppKey[Mapping[str, AgentSettings]] = web.AppKey("agents", Mapping)
HEALTH: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("health")


def _agent(request: web.Request) -> str | None:
    return auth.agent_of_cookie(request.app[AGENTS], request.cookies.get(auth.COOKIE))


async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form."""
    return web.FileResponse(STATIC / "login.html")


async def login(request: web.Request) -> web.StreamResponse:
    """Check the agent's id and token; set the session cookie."""
    form = await request.post()
    agent_id, token = str(form.get("agent", "")).strip(), str(form.get("token", ""))
    agents = request.app[AGENTS]
    if not auth.check_login(agents, agent_id, token):
        log.warning("screen-pop: failed login for agent id %r from %s", agent_id, request.remote)
        raise web.HTTPSeeOther("/login?error=1")
    log.info("screen-pop: agent %s logged in", agent_id)
    response = web.HTTPSeeOther("/agent")
    response.set_cookie(
        auth.COOKIE, auth.session_cookie(agents, agent_id), httponly=True, samesite="Strict"
    )
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """Forget the session cookie."""
    response = web.HTTPSeeOther("/login")
    response.del_cookie(auth.COOKIE)
    raise response


async def agent_page(request: web.Request) -> web.StreamResponse:
    """The page, for a logged-in agent."""
    if _agent(request) is None:
        raise web.HTTPSeeOther("/login")
    return web.FileResponse(STATIC / "agent.html", headers={"Cache-Control": "no-store"})


async def index(request: web.Request) -> web.StreamResponse:
    """``/`` goes to the page (or the login)."""
    raise web.HTTPSeeOther("/agent")


async def health(request: web.Request) -> web.StreamResponse:
    """Is the IVR watching AMI?"""
    return web.json_response(request.app[HEALTH]())


def _same_origin(request: web.Request) -> bool:
    """A WebSocket opened by our own page (browsers send Origin; tools may not)."""
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host


async def feed(request: web.Request) -> web.StreamResponse:
    """The page's live feed: ``hello``, then ``pop`` and ``callbacks`` messages."""
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    agent = _agent(request)
    if agent is None or not _same_origin(request):
        await ws.close(code=CLOSE_UNAUTHORISED, message=b"login")
        return ws
    hub = request.app[HUB]

    async def send(message: Message) -> None:
        await ws.send_str(json.dumps(message, ensure_ascii=False))

    page = hub.attach(agent, send)
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("type") == "callback_done":
                callback_id = data.get("id")
                if isinstance(callback_id, int):
                    hub.close_callback(callback_id, agent)
    finally:
        await hub.detach(page)
    return ws


def make_app(
    hub: PopHub,
    agents: Mapping[str, AgentSettings],
    health_check: Callable[[], dict[str, Any]],
) -> web.Application:
    """The aiohttp application."""
    app = web.Application()
    app[HUB] = hub
    app[AGENTS] = agents
    app[HEALTH] = health_check
    app.router.add_get("/", index)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_get("/logout", logout)
    app.router.add_get("/agent", agent_page)
    app.router.add_get("/ws", feed)
    app.router.add_get("/healthz", health)
    app.router.add_static("/static", STATIC)
    return app


class WebServer:
    """Runs the app on a host and port; ``port`` 0 picks a free one."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> None:
        """Listen."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        await self._runner.cleanup()
