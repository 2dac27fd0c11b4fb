"""The fault suite of the web pages' login: what an attacker tried, against the real
server (:func:`ivr.web.server.make_app` over HTTP, a clock of the test's own).

Throttle, session lifetimes, logout, malformed cookies, foreign origins, the security
headers, cookie flags, HTTPS served directly, and one run in Chromium: the "Keluar"
button logs out under the pages' Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import async_playwright, expect
from pydantic import SecretStr

from ivr.config import AgentSettings, OpsSettings, WebSettings
from ivr.screenpop.hub import PopHub
from ivr.store.pops import PopStore
from ivr.web import auth, server
from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS
from ivr.web.security import CSP, WebConfigError
from ivr.web.server import CLOSE_UNAUTHORISED, OpsSite, WebServer, make_app
from tests.support import REPO
from tests.web.support import csp_violation

AGENT_TOKEN = "rahasia-cso1-0001"
OPS_TOKEN = "ops-rahasia-lina-01"
AGENTS = {"cso1": AgentSettings(name="Dewi", token=SecretStr(AGENT_TOKEN))}
OPS = {"lina": OpsSettings(name="Lina", token=SecretStr(OPS_TOKEN))}

Client = TestClient  # type: ignore[type-arg]
HAVE_CHROMIUM = Path(CHROMIUM).exists()


class Clock:
    """Epoch seconds the test moves."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Site:
    client: Client
    clock: Clock


Serve = Callable[..., Any]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """``await serve(**web_settings)``: a client of a fresh server."""
    made: list[tuple[Client, PopHub, PopStore]] = []

    async def start(**settings: Any) -> Site:
        clock = Clock()
        store = PopStore(tmp_path / f"pops{len(made)}.sqlite3")
        hub = PopHub(store, AGENTS, "Asia/Jakarta")
        app = make_app(
            hub,
            AGENTS,
            lambda: {"ami": False},
            OpsSite(users=OPS),
            WebSettings(**settings),
            clock=clock,
        )
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        made.append((client, hub, store))
        return Site(client, clock)

    yield start
    for client, hub, store in made:
        await client.close()
        await hub.close()
        store.close()


async def log_in(
    client: Client, token: str = AGENT_TOKEN, agent: str = "cso1", **headers: str
) -> aiohttp.ClientResponse:
    return await client.post(
        "/login",
        data={"agent": agent, "token": token},
        headers=headers,
        allow_redirects=False,
    )


def jar_cookie(client: Client, name: str) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == name)


async def opens_agent_page(client: Client, cookie: str | None = None) -> bool:
    cookies = {auth.COOKIE: cookie} if cookie is not None else None
    response = await client.get("/agent", allow_redirects=False, cookies=cookies)
    assert response.status in (200, 303)
    return response.status == 200


# --- throttle -------------------------------------------------------------------------


async def test_wrong_tokens_from_one_address_are_throttled_then_recover(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    site = await serve(login_address_burst=3, login_address_per_minute=6.0)
    caplog.set_level(logging.WARNING, "ivr.web.auth")
    for _ in range(3):
        assert (
            (await log_in(site.client, "salah-salah-salah"))
            .headers["Location"]
            .endswith("?error=1")
        )
    refused = await log_in(site.client, "salah-salah-salah")
    assert refused.status == 429 and refused.headers["Retry-After"] == "10"
    assert "Coba lagi dalam 10 detik" in await refused.text()
    # Locked out: the right token too, and any other id from this address.
    assert (await log_in(site.client)).status == 429
    ops = await site.client.post(
        "/ops/login", data={"user": "lina", "token": OPS_TOKEN}, allow_redirects=False
    )
    assert ops.status == 429
    site.clock.advance(9.0)
    assert (await log_in(site.client)).status == 429
    site.clock.advance(1.0)
    ok = await log_in(site.client)
    assert (ok.status, ok.headers["Location"]) == (303, "/agent")
    locks = [r for r in caplog.records if "locked out" in r.getMessage()]
    assert len(locks) == 1, "one log line per lockout, not per attempt"


async def test_wrong_tokens_to_one_account_are_throttled_from_any_address(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    site = await serve(
        behind_tls_proxy=True,  # X-Forwarded-For names the client: many addresses
        login_account_burst=2,
        login_account_per_minute=2.0,
    )
    caplog.set_level(logging.WARNING, "ivr.web.auth")
    for n in range(2):
        wrong = await log_in(site.client, "salah-salah-salah", **{"X-Forwarded-For": f"10.0.0.{n}"})
        assert wrong.status == 303
    for n in range(2, 6):
        refused = await log_in(site.client, **{"X-Forwarded-For": f"10.0.0.{n}"})
        assert refused.status == 429 and refused.headers["Retry-After"] == "30"
    site.clock.advance(30.0)
    assert (await log_in(site.client, **{"X-Forwarded-For": "10.0.0.9"})).status == 303
    assert (await site.client.get("/agent")).status == 200
    locks = [r for r in caplog.records if "locked out" in r.getMessage()]
    assert len(locks) == 1 and "'cso1'" in locks[0].getMessage()


# --- sessions -------------------------------------------------------------------------


async def test_a_session_ends_at_its_maximum_age(serve: Serve) -> None:
    site = await serve(session_max_age=3600.0, session_idle_timeout=600.0)
    await log_in(site.client)
    for _ in range(6):  # active all along: the idle timeout never strikes
        site.clock.advance(590.0)
        assert await opens_agent_page(site.client)
    site.clock.advance(60.0)  # 3600 s since the login
    response = await site.client.get("/agent", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")


async def test_a_session_ends_when_idle(serve: Serve) -> None:
    site = await serve(session_max_age=3600.0, session_idle_timeout=600.0)
    await log_in(site.client)
    site.clock.advance(599.0)
    assert await opens_agent_page(site.client)
    site.clock.advance(600.0)
    assert not await opens_agent_page(site.client)


async def test_the_feed_refuses_and_closes_ended_sessions(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "FEED_CHECK_SECONDS", 0.05)
    site = await serve(session_max_age=3600.0, session_idle_timeout=600.0)
    await log_in(site.client)
    ws = await site.client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    site.clock.advance(3600.0)  # expires while the page is open: the feed closes
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED
    ws = await site.client.ws_connect("/ws")  # and does not open again
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED


async def test_logout_is_a_post_that_ends_the_session(serve: Serve) -> None:
    site = await serve()
    await log_in(site.client)
    cookie = jar_cookie(site.client, auth.COOKIE)
    ws = await site.client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"

    # A GET (a link, a prefetch, another site's <img>) does not log out.
    page = await site.client.get("/logout", allow_redirects=False)
    assert page.status == 405 and page.headers["Allow"] == "POST"
    assert '<form method="post" action="/logout">' in await page.text()
    assert await opens_agent_page(site.client, cookie)

    out = await site.client.post("/logout", allow_redirects=False)
    assert (out.status, out.headers["Location"]) == (303, "/login")
    message = await ws.receive(timeout=5)  # the open feed closes at once
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED
    assert not await opens_agent_page(site.client, cookie)  # the old cookie is dead
    ws = await site.client.ws_connect("/ws", headers={"Cookie": f"{auth.COOKIE}={cookie}"})
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED


async def test_ops_logout_is_a_post_too(serve: Serve) -> None:
    site = await serve()
    await site.client.post("/ops/login", data={"user": "lina", "token": OPS_TOKEN})
    cookie = jar_cookie(site.client, auth.OPS_COOKIE)
    assert (await site.client.get("/ops/logout", allow_redirects=False)).status == 405
    assert (await site.client.get("/ops/api/flows")).status == 200
    await site.client.post("/ops/logout", allow_redirects=False)
    stale = await site.client.get("/ops/api/flows", cookies={auth.OPS_COOKIE: cookie})
    assert stale.status == 401
    page = await site.client.get("/ops", allow_redirects=False, cookies={auth.OPS_COOKIE: cookie})
    assert (page.status, page.headers["Location"]) == (303, "/ops/login")


@pytest.mark.parametrize(
    "cookie",
    [
        "pln123_agent=café",  # non-ASCII
        "pln123_agent=\u00e9\u00e9\u00e9.\u00e9\u00e9",
        'pln123_agent="unterminated',
        "pln123_agent=" + "A" * 43,  # well-formed, never issued
        "pln123_agent=cso1.0123456789abcdef",  # the old signed format
        "pln123_agent=%00%ff; pln123_ops=%C3%A9",
        "garbage without equals ;;; = ; pln123_ops",
    ],
)
async def test_malformed_cookies_are_a_redirect_to_the_login(serve: Serve, cookie: str) -> None:
    site = await serve()
    raw = {"Cookie": cookie}
    page = await site.client.get("/agent", headers=raw, allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (303, "/login")
    ops = await site.client.get("/ops", headers=raw, allow_redirects=False)
    assert (ops.status, ops.headers["Location"]) == (303, "/ops/login")
    assert (await site.client.get("/ops/api/flows", headers=raw)).status == 401
    ws = await site.client.ws_connect("/ws", headers=raw)
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORISED
    out = await site.client.post("/logout", headers=raw, allow_redirects=False)
    assert out.status == 303


async def test_cookie_bytes_that_are_no_utf8_are_a_redirect_too(serve: Serve) -> None:
    site = await serve()
    reader, writer = await asyncio.open_connection(site.client.host, site.client.port)
    writer.write(
        b"GET /agent HTTP/1.1\r\nHost: x\r\nCookie: pln123_agent=\xff\xfe\xc3(\r\n"
        b"Connection: close\r\n\r\n"
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 5)
    rest = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert status.startswith(b"HTTP/1.1 303"), status
    assert b"Location: /login" in rest


# --- origins --------------------------------------------------------------------------


async def test_a_login_from_another_site_is_refused(serve: Serve) -> None:
    site = await serve()
    host = f"http://{site.client.host}:{site.client.port}"
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame, a no-referrer page
        {"Origin": host.replace("http://", "http://x.")},
        {"Referer": "https://evil.example/login.html"},  # no Origin, a foreign Referer
    ):
        refused = await log_in(site.client, **headers)
        assert refused.status == 403, headers
        ops = await site.client.post(
            "/ops/login",
            data={"user": "lina", "token": OPS_TOKEN},
            headers=headers,
            allow_redirects=False,
        )
        assert ops.status == 403, headers
    assert not await opens_agent_page(site.client)
    # Our own page (Origin, or a Referer alone), and tools sending neither: allowed.
    assert (await log_in(site.client, Origin=host)).headers["Location"] == "/agent"
    assert (await log_in(site.client, Referer=host + "/login")).headers["Location"] == "/agent"
    assert (await log_in(site.client)).headers["Location"] == "/agent"
    # Another site cannot log the user out either.
    assert (
        await site.client.post("/logout", headers={"Origin": "https://evil.example"})
    ).status == 403
    assert await opens_agent_page(site.client)


# --- headers and cookies --------------------------------------------------------------


async def test_every_response_carries_the_security_headers(serve: Serve) -> None:
    site = await serve()
    await site.client.post("/ops/login", data={"user": "lina", "token": OPS_TOKEN})
    for method, path, status in (
        ("GET", "/login", 200),
        ("GET", "/agent", 303),
        ("GET", "/ops", 200),
        ("GET", "/ops/api/flows", 200),
        ("GET", "/static/agent.js", 200),
        ("GET", "/static/vendor/chart.umd.min.js", 200),
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 200),
        ("GET", "/nowhere", 404),
        ("GET", "/logout", 405),
        ("POST", "/login", 303),
    ):
        response = await site.client.request(method, path, allow_redirects=False)
        assert response.status == status, path
        headers = response.headers
        assert headers["Content-Security-Policy"] == CSP, path
        assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
        assert "unsafe-inline" not in CSP
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        form_page = method == "GET" and path in ("/login", "/ops", "/logout")
        expected = "same-origin" if form_page else "no-referrer"
        assert headers["Referrer-Policy"] == expected, path
        assert "Strict-Transport-Security" not in headers  # plain HTTP


def test_the_pages_have_no_inline_script_or_style() -> None:
    for page in server.STATIC.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), page.name
        assert not re.search(r"\sstyle=|\son[a-z]+=", text), page.name


async def test_session_cookies_are_httponly_strict_and_secure_behind_tls(
    serve: Serve,
) -> None:
    plain = await serve()
    cookie = (await log_in(plain.client)).cookies[auth.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]
    # A client's own X-Forwarded-Proto is not believed without a trusted proxy.
    spoofed = await log_in(plain.client, **{"X-Forwarded-Proto": "https"})
    assert not spoofed.cookies[auth.COOKIE]["secure"]

    proxied = await serve(behind_tls_proxy=True)
    response = await log_in(proxied.client, **{"X-Forwarded-Proto": "https"})
    assert response.cookies[auth.COOKIE]["secure"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert not (await log_in(proxied.client)).cookies[auth.COOKIE]["secure"]


# --- start ----------------------------------------------------------------------------


def test_short_tokens_are_refused_at_start() -> None:
    short = {"cso7": AgentSettings(name="x", token=SecretStr("pendek"))}
    ops = OpsSite(users={"rudi": OpsSettings(name="y", token=SecretStr("x" * 15))})
    with pytest.raises(WebConfigError) as refused:
        make_app(None, short, dict, ops)  # type: ignore[arg-type]
    message = refused.value.message
    assert "[agents.cso7] token is 6 characters" in message
    assert "[ops.rudi] token is 15 characters" in message and "at least 16" in message
    assert refused.value.exit_code == 2


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
    subprocess.run(
        [*command.split(), "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_served_directly_with_secure_cookies(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    store = PopStore(tmp_path / "pops.sqlite3")
    hub = PopHub(store, AGENTS, "Asia/Jakarta")
    settings = WebSettings(tls_cert=cert, tls_key=key)
    web_server = WebServer(make_app(hub, AGENTS, dict, None, settings), "127.0.0.1", 0)
    assert web_server.scheme == "https"
    await web_server.start()
    trust = ssl.create_default_context(cafile=str(cert))
    trust.check_hostname = False
    try:
        base = f"https://127.0.0.1:{web_server.port}"
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                base + "/login",
                data={"agent": "cso1", "token": AGENT_TOKEN},
                ssl=trust,
                allow_redirects=False,
            )
            assert response.status == 303
            assert response.cookies[auth.COOKIE]["secure"]
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
            with pytest.raises(aiohttp.ClientError):  # no plain HTTP on that port
                await session.get(f"http://127.0.0.1:{web_server.port}/healthz")
    finally:
        await web_server.stop()
        await hub.close()
        store.close()


def test_half_a_tls_setup_is_refused_at_start(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    for settings, says in (
        (WebSettings(tls_cert=cert), "tls_cert is set but tls_key is not"),
        (WebSettings(tls_key=key), "tls_key is set but tls_cert is not"),
        (WebSettings(tls_cert=cert, tls_key=tmp_path / "none.pem"), "none.pem: no such file"),
        (WebSettings(tls_cert=key, tls_key=cert), "tls_cert"),  # swapped: not a cert
    ):
        with pytest.raises(WebConfigError, match=re.escape(says)) as refused:
            make_app(None, AGENTS, dict, None, settings)  # type: ignore[arg-type]
        assert refused.value.exit_code == 2


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"PLN123_AGENTS": '{"cso1": {"name": "Dewi", "token": "pendek"}}'},
            "[agents.cso1] token is 6 characters; at least 16 are needed",
        ),
        (
            {
                "PLN123_OPS": json.dumps({"lina": {"name": "Lina", "token": OPS_TOKEN}}),
                "PLN123_WEB__TLS_CERT": "/nonexistent/cert.pem",
            },
            "[web] tls_cert is set but tls_key is not",
        ),
    ],
)
def test_pln123_serve_refuses_to_start_with_status_2(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PLN123_")}
    clean.update(
        PLN123_CONFIG="",
        PLN123_DB_PATH=str(tmp_path / "calls.sqlite3"),
        PLN123_AGI__PORT="0",
        PLN123_WEB__PORT="0",
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-m", "ivr.cli.main", "serve"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "pln123 serving FastAGI" not in done.stdout


# --- in a browser ---------------------------------------------------------------------


async def test_keluar_logs_out_in_a_browser_under_the_csp(serve: Serve) -> None:
    assert HAVE_CHROMIUM, f"no Chromium at {CHROMIUM}: scripts/setup.sh installs it"
    site = await serve()
    base = f"http://{site.client.host}:{site.client.port}"
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(base_url=base)
            page.set_default_timeout(5000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: csp_violation(m, errors))
            await page.goto("/login")
            await page.locator("#agent").fill("cso1")
            await page.locator("#token").fill("salah-salah-salah")
            await page.get_by_role("button", name="Masuk").click()
            await expect(page.get_by_text("ID agen atau token salah.")).to_be_visible()
            await page.locator("#agent").fill("cso1")
            await page.locator("#token").fill(AGENT_TOKEN)
            await page.get_by_role("button", name="Masuk").click()
            await expect(page).to_have_url(re.compile(r"/agent$"))
            cookies = await page.context.cookies()
            session = next(c for c in cookies if c["name"] == auth.COOKIE)
            assert session["httpOnly"] and session["sameSite"] == "Strict"
            await page.get_by_role("button", name="Keluar").click()
            await expect(page).to_have_url(re.compile(r"/login$"))
            # The old cookie, put back, opens nothing.
            await page.context.add_cookies([session])
            await page.goto("/agent")
            await expect(page).to_have_url(re.compile(r"/login$"))
            await asyncio.sleep(0)  # let the console events in
        finally:
            await browser.close()
    assert errors == [], f"errors on the page: {errors}"
