"""The web pages' HTTP and WebSocket server (aiohttp), inside the IVR process.

CSOs (``[agents]``): ``/login`` (form and POST), ``/logout`` (POST), ``/agent`` (the
screen-pop page), ``/ws`` (the page's live feed: see :mod:`ivr.screenpop.hub` for the
messages).

Operations (``[ops]``): ``/ops/login`` (form and POST), ``/ops/logout`` (POST), ``/ops`` (the
ops page), ``/ops/api/flows``, ``/ops/api/stats?since=&until=&flow=`` (the JSON of
:func:`ivr.ops.stats.compute_stats`), ``/ops/api/graph?flow=`` (a flow's nodes,
edges and Graphviz drawing), outages and the audit log (:mod:`ivr.web.ops_control`),
the global announcement (:mod:`ivr.web.ops_announcement`), and opening hours and
holidays (:mod:`ivr.web.ops_hours`).
Each role has a cookie of its own (:mod:`ivr.web.auth`): an agent's login does not open
the ops pages, an ops login does not take calls.

Anyone: ``/static/...``, ``/healthz`` and ``/metrics`` (Prometheus text format, no
login: the server listens on loopback by default, ``[web] host``; if it is opened to
other machines, keep ``/metrics`` to the scraper at the proxy). In the web process of
``pln123 serve --workers N`` both speak for every call worker too (:data:`WORKERS`).

Plain HTTP on loopback by default; HTTPS directly with ``[web] tls_cert`` and
``tls_key``, or behind a TLS proxy (``[web] behind_tls_proxy``). Logins are throttled,
sessions live in this process's memory, and every response carries the security
headers: :mod:`ivr.web.auth`, :mod:`ivr.web.security`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web

from ivr import metrics
from ivr.config import AgentSettings, OpsSettings, WebSettings
from ivr.domain.hours import QueueHours
from ivr.engine.graph import (
    DOT_START,
    MISSING_DOT,
    SECONDARY,
    GraphEdge,
    dot_label,
    dot_quote,
    dot_to_svg,
    drawn_nodes,
    graph_edges,
    missing_targets,
    node_lines,
)
from ivr.engine.library import LibraryHolder
from ivr.engine.model import Flow
from ivr.ops.stats import compute_stats
from ivr.ops.worker_metrics import merged_exposition
from ivr.screenpop.hub import Message, PopHub
from ivr.store.calls import connect_read_only
from ivr.store.dbapi import Connection, DatabaseError, Location, store_exists
from ivr.web import auth, security
from ivr.web.ops_announcement import OpsAnnouncement
from ivr.web.ops_control import OpsControl
from ivr.web.ops_hours import OpsHours
from ivr.web.worker_peers import WorkerPeers

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
#: WebSocket close code the page takes as "log in again".
CLOSE_UNAUTHORISED = 4401
#: Longest span ``/ops/api/stats`` counts over, in days.
MAX_STATS_DAYS = 400
#: Statistics queries run at once (each in a thread); more wait their turn.
STATS_CONCURRENCY = 2
#: Seconds a statistics query may wait for SQLite's lock.
STATS_DB_TIMEOUT = 10.0


class StatsFunction(Protocol):
    """:func:`ivr.ops.stats.compute_stats`."""

    def __call__(
        self,
        conn: Connection,
        since: datetime,
        until: datetime,
        *,
        flow: str | None = None,
        tz: str = "Asia/Jakarta",
    ) -> dict[str, Any]: ...


@dataclass
class OpsSite:
    """What the ops pages need: their users, the flows, the call store and its zone."""

    users: Mapping[str, OpsSettings] = field(default_factory=dict)
    #: The flows in use (None: the page has no flow selector and no graphs).
    library: LibraryHolder | None = None
    #: The call store (a SQLite file or a PostgreSQL URL); None: ``/ops/api/stats``
    #: answers 503.
    db_path: Location | None = None
    #: Dates asked for and hours answered are in this zone.
    timezone: str = "Asia/Jakarta"
    #: The flow callers start in: the page draws it first.
    default_flow: str = "main"
    #: How statistics are computed.
    stats: StatsFunction = compute_stats
    #: Epoch seconds now, for outages and the audit log (tests set it).
    clock: Callable[[], float] = time.time

    def queue_hours(self) -> QueueHours:
        """The hours and holiday tables of the flows in use (none: every queue open)."""
        tables = self.library.current.tables if self.library is not None else {}
        return QueueHours.from_tables(tables)

    _graphs: dict[str, tuple[Flow, dict[str, Any]]] = field(default_factory=dict)
    _limit: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(STATS_CONCURRENCY))


HUB: web.AppKey[PopHub] = web.AppKey("hub", PopHub)
AGENTS: web.AppKey[Mapping[str, AgentSettings]] = web.AppKey("agents", Mapping)
HEALTH: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("health")
OPS: web.AppKey[OpsSite] = web.AppKey("ops", OpsSite)
#: The call workers of ``pln123 serve --workers N``, set in the web process only:
#: ``/metrics`` and ``/healthz`` then speak for them too.
WORKERS: web.AppKey[WorkerPeers] = web.AppKey("workers", WorkerPeers)

NO_STORE = {"Cache-Control": "no-store"}
#: Seconds between the feed's checks that its session still lives (each also counts as
#: activity: an open page keeps its session from going idle).
FEED_CHECK_SECONDS = 30.0


@dataclass
class WebSecurity:
    """The pages' sessions, login throttle, TLS and proxy trust (``[web]``)."""

    sessions: auth.SessionStore
    throttle: auth.LoginThrottle
    behind_tls_proxy: bool = False
    #: HTTPS served directly with this context (None: plain HTTP).
    ssl_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(
        cls,
        settings: WebSettings,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ) -> WebSecurity:
        return cls(
            sessions=auth.SessionStore(
                settings.session_max_age, settings.session_idle_timeout, clock
            ),
            throttle=auth.LoginThrottle(
                settings.login_address_burst,
                settings.login_address_per_minute,
                settings.login_account_burst,
                settings.login_account_per_minute,
                clock,
            ),
            behind_tls_proxy=settings.behind_tls_proxy,
            ssl_context=ssl_context,
        )


SECURITY: web.AppKey[WebSecurity] = web.AppKey("security", WebSecurity)


def _cookie(request: web.Request, name: str) -> str | None:
    """A cookie's value; None when it is missing or the header cannot be read."""
    try:
        return request.cookies.get(name)
    except (ValueError, UnicodeError, KeyError):  # garbage: as good as no cookie
        return None


def _secure(request: web.Request) -> bool:
    return security.is_secure(request, request.app[SECURITY].behind_tls_proxy)


def _agent(request: web.Request) -> str | None:
    agents = request.app[AGENTS]
    return request.app[SECURITY].sessions.user_of(auth.AGENT, agents, _cookie(request, auth.COOKIE))


def _too_many(retry_after: int, page: str) -> web.HTTPTooManyRequests:
    body = (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        "<title>PLN 123 — Terlalu banyak percobaan</title>"
        '<link rel="stylesheet" href="/static/agent.css"></head>'
        '<body class="login-page"><main><h1>Terlalu banyak percobaan masuk</h1>'
        f'<p class="error" role="alert">Coba lagi dalam {retry_after} detik.</p>'
        f'<p><a href="{page}">Kembali ke halaman masuk</a></p></main></body></html>'
    )
    return web.HTTPTooManyRequests(
        text=body,
        content_type="text/html",
        headers={"Retry-After": str(retry_after), **NO_STORE},
    )


def _foreign(request: web.Request, what: str, *, logged: bool = True) -> web.HTTPForbidden:
    log.log(
        logging.WARNING if logged else logging.DEBUG,
        "web: refused a %s from origin %r (referer %r) at %s",
        what,
        request.headers.get("Origin"),
        request.headers.get("Referer"),
        request.host,
    )
    return web.HTTPForbidden(text="another site's page cannot log in or out here\n")


async def _log_in(
    request: web.Request,
    role: auth.Role,
    users: Mapping[str, Any],
    field_name: str,
    page: str,
    home: str,
) -> web.StreamResponse:
    """Check the throttle, the origin and the token; start a session. A login from
    another site counts as a wrong one (so its log lines are throttled too)."""
    form = await request.post()
    user_id, token = str(form.get(field_name, "")).strip(), str(form.get("token", ""))
    sec = request.app[SECURITY]
    address = security.client_address(request, sec.behind_tls_proxy)
    wait = sec.throttle.retry_after(role, address, user_id)
    if wait:
        raise _too_many(wait, page)
    if not security.login_origin_ok(request):
        sec.throttle.failed(role, address, user_id)
        raise _foreign(request, "login")
    if not role.check_login(users, user_id, token):
        log.warning("%s: failed login for id %r from %s", role.name, user_id[:64], address)
        sec.throttle.failed(role, address, user_id)
        raise web.HTTPSeeOther(page + "?error=1")
    log.info("%s: %s logged in from %s", role.name, user_id, address)
    sec.sessions.revoke(_cookie(request, role.cookie))  # a new login ends the old one
    response = web.HTTPSeeOther(home)
    response.set_cookie(
        role.cookie,
        sec.sessions.create(role, users, user_id),
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        path="/",
        max_age=int(sec.sessions.max_age),
    )
    raise response


async def _log_out(request: web.Request, role: auth.Role, page: str) -> web.StreamResponse:
    """End the session (POST only) and forget the cookie."""
    if not security.login_origin_ok(request):
        raise _foreign(request, "logout", logged=False)  # no log: nothing to throttle it
    if request.app[SECURITY].sessions.revoke(_cookie(request, role.cookie)):
        log.info("%s: logged out", role.name)
    response = web.HTTPSeeOther(page)
    response.del_cookie(
        role.cookie, path="/", secure=_secure(request), httponly=True, samesite="Strict"
    )
    raise response


def _logout_form(action: str) -> web.HTTPMethodNotAllowed:
    """``GET /logout``: no logout (a link or a prefetch must not end a session), a page
    with the button that POSTs."""
    body = (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        "<title>PLN 123 — Keluar</title>"
        '<link rel="stylesheet" href="/static/agent.css"></head>'
        '<body class="login-page"><main><h1>Keluar?</h1>'
        f'<form method="post" action="{action}"><button type="submit">Keluar</button></form>'
        "</main></body></html>"
    )
    return web.HTTPMethodNotAllowed(
        "GET",
        ["POST"],
        text=body,
        content_type="text/html",
        headers={**NO_STORE, **security.FORM_PAGE},
    )


async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form."""
    return web.FileResponse(STATIC / "login.html", headers=security.FORM_PAGE)


async def login(request: web.Request) -> web.StreamResponse:
    """Check the agent's id and token; set the session cookie."""
    return await _log_in(request, auth.AGENT, request.app[AGENTS], "agent", "/login", "/agent")


async def logout(request: web.Request) -> web.StreamResponse:
    """End the agent's session."""
    return await _log_out(request, auth.AGENT, "/login")


async def logout_get(request: web.Request) -> web.StreamResponse:
    """A page whose button logs out."""
    raise _logout_form("/logout")


async def agent_page(request: web.Request) -> web.StreamResponse:
    """The page, for a logged-in agent."""
    if _agent(request) is None:
        raise web.HTTPSeeOther("/login")
    return web.FileResponse(STATIC / "agent.html", headers={**NO_STORE, **security.FORM_PAGE})


async def index(request: web.Request) -> web.StreamResponse:
    """``/`` goes to the page (or the login)."""
    raise web.HTTPSeeOther("/agent")


async def health(request: web.Request) -> web.StreamResponse:
    """Is the IVR watching AMI, can it write its store; with call workers of their own
    (``pln123 serve --workers N``), does each answer and can it write its store: any
    that does not makes the status ``degraded``."""
    body = request.app[HEALTH]()
    peers = request.app.get(WORKERS)
    if peers is not None:
        workers = await peers.health()
        body["workers"] = workers
        if any(not w["up"] or not w["store"].get("ok", False) for w in workers.values()):
            body["status"] = "degraded"
    return web.json_response(body)


def _same_origin(request: web.Request) -> bool:
    """A WebSocket opened by our own page (browsers send Origin; tools may not)."""
    return auth.same_origin(request.headers.get("Origin"), request.host)


async def _guard_feed(
    ws: web.WebSocketResponse,
    sessions: auth.SessionStore,
    agents: Mapping[str, AgentSettings],
    cookie: str | None,
    session: auth.Session,
) -> None:
    """Close the feed when its session ends: at once on logout, within
    :data:`FEED_CHECK_SECONDS` when it expires."""
    while True:
        try:
            await asyncio.wait_for(session.ended.wait(), FEED_CHECK_SECONDS)
            break
        except TimeoutError:
            if sessions.user_of(auth.AGENT, agents, cookie) is None:
                break
    await ws.close(code=CLOSE_UNAUTHORISED, message=b"login")


async def feed(request: web.Request) -> web.StreamResponse:
    """The page's live feed: ``hello``, then ``pop`` and ``callbacks`` messages."""
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    sessions, agents = request.app[SECURITY].sessions, request.app[AGENTS]
    cookie = _cookie(request, auth.COOKIE)
    agent = sessions.user_of(auth.AGENT, agents, cookie)
    session = sessions.session(auth.AGENT, agents, cookie)
    if agent is None or session is None or not _same_origin(request):
        await ws.close(code=CLOSE_UNAUTHORISED, message=b"login")
        return ws
    hub = request.app[HUB]

    async def send(message: Message) -> None:
        await ws.send_str(json.dumps(message, ensure_ascii=False))

    page = hub.attach(agent, send)
    guard = asyncio.create_task(_guard_feed(ws, sessions, agents, cookie, session))
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
        guard.cancel()
        await hub.detach(page)
    return ws


# --- ops ------------------------------------------------------------------------------


def _ops_user(request: web.Request) -> str | None:
    return request.app[SECURITY].sessions.user_of(
        auth.OPS, request.app[OPS].users, _cookie(request, auth.OPS_COOKIE)
    )


def _ops_api_user(request: web.Request) -> str:
    """The ops user of an API request; 401 without an ops session."""
    user = _ops_user(request)
    if user is None:
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": "login"}), content_type="application/json"
        )
    return user


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json"
    )


async def ops_login_page(request: web.Request) -> web.StreamResponse:
    """The ops login form."""
    return web.FileResponse(STATIC / "ops-login.html", headers=security.FORM_PAGE)


async def ops_login(request: web.Request) -> web.StreamResponse:
    """Check the ops user's id and token; set the ops session cookie."""
    return await _log_in(request, auth.OPS, request.app[OPS].users, "user", "/ops/login", "/ops")


async def ops_logout(request: web.Request) -> web.StreamResponse:
    """End the ops session."""
    return await _log_out(request, auth.OPS, "/ops/login")


async def ops_logout_get(request: web.Request) -> web.StreamResponse:
    """A page whose button logs out."""
    raise _logout_form("/ops/logout")


async def ops_page(request: web.Request) -> web.StreamResponse:
    """The ops page, for a logged-in ops user."""
    if _ops_user(request) is None:
        raise web.HTTPSeeOther("/ops/login")
    return web.FileResponse(STATIC / "ops.html", headers={**NO_STORE, **security.FORM_PAGE})


async def ops_flows(request: web.Request) -> web.StreamResponse:
    """The flows the page can choose: ``{"user", "timezone", "default_flow", "flows":
    [{id, description}]}``."""
    user = _ops_api_user(request)
    site = request.app[OPS]
    flows = (
        [
            {"id": name, "description": loaded.flow.description}
            for name, loaded in sorted(site.library.current.flows.items())
        ]
        if site.library is not None
        else []
    )
    name = site.users[user].name
    return web.json_response(
        {
            "user": {"id": user, "name": name},
            "timezone": site.timezone,
            "default_flow": site.default_flow,
            "flows": flows,
        },
        headers=NO_STORE,
    )


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$")


def parse_moment(text: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` as an aware time in ``zone``.

    A bare date is that day's start, or with ``end`` the next day's start (so
    ``until=`` a date counts that whole day).

    :raises ValueError: for anything else.
    """
    if not _DATE_RE.match(text):
        raise ValueError(f"{text!r} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM")
    if "T" in text:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=zone)
    day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=zone)
    return day + timedelta(days=1) if end else day


def stats_span(
    query: Mapping[str, str], zone: ZoneInfo, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The ``since`` and ``until`` of a stats request: today by default.

    :raises ValueError: for a malformed date, an empty or too long span.
    """
    today = (now or datetime.now(zone)).astimezone(zone).strftime("%Y-%m-%d")
    since = parse_moment(query.get("since") or today, zone, end=False)
    until = parse_moment(query.get("until") or today, zone, end=True)
    if until <= since:
        raise ValueError("until must be after since")
    if until - since > timedelta(days=MAX_STATS_DAYS):
        raise ValueError(f"at most {MAX_STATS_DAYS} days at once")
    return since, until


def _read_only(location: Location) -> Connection:
    """A connection that can only read the call store."""
    return connect_read_only(location, int(STATS_DB_TIMEOUT * 1000))


async def ops_stats(request: web.Request) -> web.StreamResponse:
    """Aggregate call statistics for a span (and a flow): never a caller's details."""
    _ops_api_user(request)
    site = request.app[OPS]
    zone = ZoneInfo(site.timezone)
    try:
        since, until = stats_span(request.query, zone)
    except ValueError as exc:
        raise _bad_request(str(exc)) from exc
    flow = request.query.get("flow") or None
    if flow is not None and site.library is not None and flow not in site.library.current.flows:
        raise _bad_request(f"unknown flow {flow!r}")
    db_path = site.db_path
    if db_path is None or not store_exists(db_path):
        raise web.HTTPServiceUnavailable(
            text=json.dumps({"error": "no call store yet"}), content_type="application/json"
        )
    compute = site.stats

    def work() -> dict[str, Any]:
        conn = _read_only(db_path)
        try:
            return compute(conn, since, until, flow=flow, tz=site.timezone)
        finally:
            conn.close()

    async with site._limit:
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, work)
        except DatabaseError as exc:
            log.error("ops page: statistics query failed: %s", exc)
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"error": "the call store cannot be read now"}),
                content_type="application/json",
            ) from exc
    return web.json_response(
        result, headers=NO_STORE, dumps=lambda data: json.dumps(data, default=str)
    )


def _heat_dot(flow: Flow, graph: list[GraphEdge]) -> str:
    """The flow as DOT with an SVG id on each node (``opsn<i>``) and edge (``opse<i>``),
    ``i`` its index in the graph API's lists, for the page to colour."""
    title = flow.flow + (f": {flow.description}" if flow.description else "")
    out = [
        f"digraph {dot_quote(flow.flow)} {{",
        f'  graph [label={dot_quote(title)}, labelloc=t, fontname="Helvetica", '
        'rankdir=TB, nodesep=0.4, ranksep=0.5, bgcolor="transparent"];',
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
        f'  {dot_quote(DOT_START)} [shape=point, width=0.15, label="", tooltip="start"];',
    ]
    for index, node in enumerate(drawn_nodes(flow, graph)):
        label = dot_label(node_lines(flow, node)[:2])
        attrs = [
            f"label={label}",
            flow.kind_of(node).style.dot,  # the kind's shape; the page paints the fill
            'fillcolor="#eceff3"',
            f'id="opsn{index}"',
            'class="opsnode"',
        ]
        attrs.append(f"tooltip={dot_quote(node.id)}")
        out.append(f"  {dot_quote(node.id)} [{', '.join(attrs)}];")
    for target in missing_targets(flow, graph):
        label = dot_label([target, "(no such node)"])
        out.append(f"  {dot_quote(target)} [label={label}, {MISSING_DOT}];")
    out.append(f"  {dot_quote(DOT_START)} -> {dot_quote(flow.start)};")
    for index, edge in enumerate(graph):
        attrs = [f'id="opse{index}"', 'class="opsedge"']
        if edge.label:
            attrs.append(f"label={dot_quote(edge.label)}")
        if edge.kind in SECONDARY:
            attrs.append('style=dashed, color="#888888", fontcolor="#666666"')
        out.append(f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def flow_graph(flow: Flow) -> dict[str, Any]:
    """A flow's nodes and edges as the ops page draws them (no drawing yet)."""
    graph = list(graph_edges(flow))
    nodes = [
        {
            "id": node.id,
            "kind": node.kind,
            "label": "\n".join(node_lines(flow, node)[2:]),
        }
        for node in drawn_nodes(flow, graph)
    ]
    edges = [
        {"source": e.source, "target": e.target, "label": e.label, "kind": e.kind} for e in graph
    ]
    return {
        "flow": flow.flow,
        "description": flow.description,
        "start": flow.start,
        "nodes": nodes,
        "edges": edges,
    }


def _draw(flow: Flow) -> dict[str, Any]:
    graph = flow_graph(flow)
    try:
        svg = dot_to_svg(_heat_dot(flow, list(graph_edges(flow)))).decode("utf-8")
    except RuntimeError as exc:
        log.warning("ops page: cannot draw flow %s: %s", flow.flow, exc)
        svg = None
    # Graphviz's XML prologue and DOCTYPE are not wanted inside a page.
    if svg is not None:
        svg = svg[svg.index("<svg") :]
    return {**graph, "svg": svg}


async def ops_graph(request: web.Request) -> web.StreamResponse:
    """A flow's nodes (id, kind, label), edges (source, target, label, kind) and SVG."""
    _ops_api_user(request)
    site = request.app[OPS]
    name = request.query.get("flow", "")
    if not name:
        raise _bad_request("flow= is required")
    if site.library is None or name not in site.library.current.flows:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"unknown flow {name!r}"}), content_type="application/json"
        )
    flow = site.library.current.flows[name].flow
    cached = site._graphs.get(name)
    if cached is None or cached[0] is not flow:  # a reload brings new flow objects
        drawn = await asyncio.get_running_loop().run_in_executor(None, _draw, flow)
        site._graphs[name] = cached = (flow, drawn)
    return web.json_response(cached[1], headers=NO_STORE)


async def metrics_page(request: web.Request) -> web.StreamResponse:
    """Prometheus metrics (``pln123_*``), no login: see the module's note. With call
    workers of their own, theirs too, each series labelled with its ``worker``."""
    body, content_type = metrics.METRICS.exposition()
    peers = request.app.get(WORKERS)
    if peers is not None:
        texts = await peers.metrics()
        body = await asyncio.to_thread(
            merged_exposition, body.decode(), texts, metrics.WEB_FAMILIES
        )
    response = web.Response(body=body, headers=NO_STORE)
    # aiohttp's content_type= refuses parameters; Prometheus's type carries some.
    response.headers["Content-Type"] = content_type
    return response


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    security.set_headers(response, _secure(request))


def make_app(
    hub: PopHub,
    agents: Mapping[str, AgentSettings],
    health_check: Callable[[], dict[str, Any]],
    ops: OpsSite | None = None,
    settings: WebSettings | None = None,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The aiohttp application, with ``[web]`` ``settings`` (default ones when None);
    ``clock`` (epoch seconds) runs the sessions and the login throttle.

    :raises security.WebConfigError: a token too short, half a TLS setup.
    """
    settings = settings if settings is not None else WebSettings()
    ops = ops if ops is not None else OpsSite()
    context = security.check_start(settings, agents, ops.users)
    app = web.Application()
    app[HUB] = hub
    app[AGENTS] = agents
    app[HEALTH] = health_check
    app[OPS] = ops
    app[SECURITY] = WebSecurity.from_settings(settings, context, clock)
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", index)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/logout", logout_get)
    app.router.add_get("/agent", agent_page)
    app.router.add_get("/ws", feed)
    app.router.add_get("/ops", ops_page)
    app.router.add_get("/ops/login", ops_login_page)
    app.router.add_post("/ops/login", ops_login)
    app.router.add_post("/ops/logout", ops_logout)
    app.router.add_get("/ops/logout", ops_logout_get)
    app.router.add_get("/ops/api/flows", ops_flows)
    app.router.add_get("/ops/api/stats", ops_stats)
    app.router.add_get("/ops/api/graph", ops_graph)
    control = OpsControl(app[OPS], _ops_api_user)
    control.add_routes(app.router)
    OpsAnnouncement(control).add_routes(app.router)
    OpsHours(control, app[OPS].queue_hours).add_routes(app.router)
    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_static("/static", STATIC)
    return app


class WebServer:
    """Runs the app on a host and port; ``port`` 0 picks a free one. HTTPS when the
    app's ``[web]`` settings name a certificate and key."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._ssl = app[SECURITY].ssl_context if SECURITY in app else None
        self.host = host
        self.port = port

    @property
    def app(self) -> web.Application:
        """The application served (its keys may be set until :meth:`start`)."""
        return self._runner.app

    @property
    def scheme(self) -> str:
        """``https`` when TLS is served directly, else ``http``."""
        return "https" if self._ssl is not None else "http"

    async def start(self) -> None:
        """Listen."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        await self._runner.cleanup()
