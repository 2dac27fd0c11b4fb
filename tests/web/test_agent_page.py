"""The CSO's screen-pop page in a real browser, the server's WebSocket played by the test.

A small aiohttp app serves ``ivr/web/static/`` (``/agent``, ``/login``, ``/static/...``);
Playwright's ``route_web_socket`` stands in for ``/ws``: it sends the messages of
``fixtures/pops.json`` and records what the page sends. Debian's Chromium, one browser
for the module, a fresh context per test.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import (
    Browser,
    Locator,
    Page,
    WebSocketRoute,
    async_playwright,
    expect,
)

from ivr.screenpop.view import pop_view
from ivr.store import pops
from ivr.store.pops import Delivery
from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS
from ivr.web.security import set_headers
from tests.web.support import csp_violation

pytestmark = pytest.mark.asyncio(loop_scope="module")

STATIC = Path(__file__).resolve().parents[2] / "ivr" / "web" / "static"
FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "pops.json").read_text(encoding="utf-8")
)
HAVE_CHROMIUM = Path(CHROMIUM).exists()
WS_URL = re.compile(r"/ws$")
WAIT_S = 5.0

Message = dict[str, Any]


def fixture(name: str) -> Message:
    """A fresh copy of one example message."""
    message: Message = json.loads(json.dumps(FIXTURES[name]))
    return message


@dataclass
class FakeSocketServer:
    """The server end of ``/ws``: greets each connection, records what the page sends.

    ``greetings[n]`` is sent on the n-th connection (the last one repeats).
    """

    greetings: list[list[Message]] = field(default_factory=lambda: [[fixture("hello")]])
    sockets: list[WebSocketRoute] = field(default_factory=list)
    received: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)

    def handle(self, ws: WebSocketRoute) -> None:
        greeting = self.greetings[min(len(self.sockets), len(self.greetings) - 1)]
        self.sockets.append(ws)
        ws.on_message(self._on_message)
        for message in greeting:
            ws.send(json.dumps(message))

    def _on_message(self, message: str | bytes) -> None:
        self.received.put_nowait(json.loads(message))

    @property
    def ws(self) -> WebSocketRoute:
        """The latest connection."""
        return self.sockets[-1]

    def send(self, message: Message) -> None:
        self.ws.send(json.dumps(message))

    async def next_received(self) -> Message:
        return await asyncio.wait_for(self.received.get(), WAIT_S)


@dataclass
class AgentPage:
    page: Page
    server: FakeSocketServer
    errors: list[str]

    async def open(self, *greeting: Message) -> None:
        """Load /agent and wait until the greeting is on the page."""
        if greeting:
            self.server.greetings = [list(greeting)]
        await self.page.goto("/agent")
        await expect(self.page.locator("#connection")).to_have_attribute("data-state", "open")
        await expect(self.page.locator("#agent-name")).not_to_be_empty()

    @property
    def card(self) -> Locator:
        return self.page.locator("#current-pop")

    def field(self, name: str) -> Locator:
        return self.page.locator(f'#current-pop [data-field="{name}"]')


async def wait_until(page: Page, expression: str) -> None:
    """Poll ``expression`` until true: ``page.wait_for_function`` evaluates its string
    with ``eval``, which the page's Content-Security-Policy forbids."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not await page.evaluate(expression):
        assert asyncio.get_running_loop().time() < deadline, f"never true: {expression}"
        await asyncio.sleep(0.02)


# --- fixtures -------------------------------------------------------------------------


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    set_headers(response, secure=False)


async def _file(request: web.Request) -> web.FileResponse:
    name = {"/agent": "agent.html", "/login": "login.html"}[request.path]
    return web.FileResponse(STATIC / name)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    # The real server's headers: the page must work under its Content-Security-Policy.
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/agent", _file)
    app.router.add_get("/login", _file)
    app.router.add_static("/static/", STATIC)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    assert HAVE_CHROMIUM, f"no Chromium at {CHROMIUM}: scripts/setup.sh installs it"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def agent(browser: Browser, base_url: str) -> AsyncIterator[AgentPage]:
    context = await browser.new_context(base_url=base_url, viewport={"width": 1600, "height": 1000})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    context.set_default_timeout(WAIT_S * 1000)
    page = await context.new_page()
    server = FakeSocketServer()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: csp_violation(m, errors))  # the CSP refused something
    await page.route_web_socket(WS_URL, server.handle)
    yield AgentPage(page, server, errors)
    await context.close()
    assert errors == [], f"errors on the page: {errors}"


# --- tests ----------------------------------------------------------------------------


async def test_hello_shows_the_newest_pop_with_everything_collected(agent: AgentPage) -> None:
    hello = fixture("hello")
    pop = hello["pops"][0]
    await agent.open(hello)
    page = agent.page

    await expect(page).to_have_title("PLN 123 — CSO")
    await expect(page.locator("header.topbar")).to_contain_text("PLN 123 — CSO")
    await expect(page.locator("#agent-name")).to_contain_text("Dewi")
    await expect(page.locator("#connection")).to_have_text("Tersambung")
    logout = page.get_by_role("button", name="Keluar")
    await expect(logout).to_be_visible()
    await expect(page.locator("form.logout-form")).to_have_attribute("method", "post")
    await expect(page.locator("form.logout-form")).to_have_attribute("action", "/logout")

    await expect(agent.card).to_have_attribute("data-pop-id", pop["id"])
    await expect(agent.card).to_have_attribute("data-state", "connected")
    await expect(agent.field("state")).to_have_text("Tersambung")
    await expect(agent.card).to_contain_text("PERIKSA & gangguan")
    await expect(agent.card).to_contain_text("10:15:02")

    caller, customer = pop["caller"], pop["customer"]
    await expect(agent.field("caller_name")).to_have_text(caller["name"])
    await expect(agent.card).to_contain_text("Bapak Budi Santoso")
    await expect(agent.field("caller_number")).to_have_text(caller["number"])
    await expect(agent.field("caller_line")).to_have_text("Seluler")
    await expect(agent.field("idpel")).to_have_text(customer["idpel"])
    await expect(agent.field("meter_number")).to_have_text(customer["meter_number"])
    await expect(agent.field("customer_name")).to_have_text(customer["name"])
    await expect(agent.field("address")).to_have_text(customer["address"])
    await expect(agent.field("address_verified")).to_contain_text("terverifikasi")
    await expect(agent.card).to_contain_text("UP3 Menteng / Posko Menteng")
    await expect(agent.card).to_contain_text("R1 / 1.300 VA")
    await expect(agent.field("power_state")).to_have_text("Padam")

    rows = page.locator("#current-pop tr[data-code]")
    await expect(rows).to_have_count(9)
    codes = [r["code"] for r in pop["self_diagnosis"]]
    assert await rows.evaluate_all("rows => rows.map(r => r.dataset.code)") == codes
    await expect(rows.locator('td[data-field="value"]')).to_have_text(
        ["12", "0", "0", "220,4", "0,2", "0,2", "Null", "—", "—"]
    )
    await expect(page.locator('#current-pop tr[data-code="08"]')).to_contain_text(
        "Penyebab periksa"
    )

    answers = page.locator("#current-pop li[data-ask]")
    await expect(answers).to_have_count(len(pop["answers"]))
    asks = await answers.evaluate_all("items => items.map(i => i.dataset.ask)")
    assert asks == [a["ask"] for a in pop["answers"]]
    await expect(page.locator('#current-pop li[data-ask="meter_code.41"]')).to_contain_text("220,4")
    await expect(page.locator('#current-pop li[data-ask="menu"]')).to_contain_text("Menu utama")

    await expect(agent.field("problem_text")).to_have_text(pop["apkt"]["problem_text"])
    await expect(agent.field("wo_type")).to_have_text("KWH PERIKSA")
    for label, value in pop["apkt"]["fields"]:
        await expect(page.locator("#current-pop .apkt-fields")).to_contain_text(label)
        await expect(page.locator("#current-pop .apkt-fields")).to_contain_text(value)

    await expect(agent.field("report_number")).to_have_count(0)
    await expect(agent.card).to_contain_text("Laporan sebelumnya")
    await expect(agent.field("open_report_number")).to_have_text("G2503100000123")

    recent = page.locator("#recent-pops li[data-pop-id]")
    await expect(recent).to_have_count(2)
    await expect(recent.first).to_have_attribute("data-pop-id", pop["id"])
    await expect(recent.first).to_contain_text("Tersambung")
    await expect(recent.first).to_contain_text("081234567890")
    await expect(recent.first).to_contain_text("532112345678")

    callbacks = page.locator("#callbacks li[data-callback-id]")
    await expect(callbacks).to_have_count(2)
    await expect(callbacks.first).to_contain_text("081234567890")
    await expect(callbacks.first).to_contain_text("Budi Santoso")
    await expect(callbacks.first).to_contain_text("10:22")


async def test_no_pops_shows_the_empty_state(agent: AgentPage) -> None:
    await agent.open(fixture("hello_empty"))
    await expect(agent.page.locator("#main")).to_have_text("Belum ada panggilan.")
    await expect(agent.card).to_have_count(0)
    await expect(agent.page.locator("#recent-pops li")).to_have_count(0)


async def test_a_new_pop_is_shown_and_tops_the_recent_list(agent: AgentPage) -> None:
    await agent.open()
    agent.server.send(fixture("pop_new"))

    await expect(agent.card).to_have_attribute("data-pop-id", "7b1e04")
    await expect(agent.card).to_have_attribute("data-state", "ringing")
    await expect(agent.field("state")).to_have_text("Berdering")
    recent = agent.page.locator("#recent-pops li[data-pop-id]")
    await expect(recent).to_have_count(3)
    await expect(recent.first).to_have_attribute("data-pop-id", "7b1e04")
    await expect(recent.first).to_contain_text("Tanpa IDPEL")
    await expect(agent.page).to_have_title(re.compile(r"Berdering"))


async def test_a_call_that_bypassed_the_ivr_says_so(agent: AgentPage) -> None:
    await agent.open()
    message = fixture("pop_new")
    message["pop"]["note"] = "Panggilan tidak melalui IVR"
    agent.server.send(message)
    await expect(agent.field("note")).to_have_text("Panggilan tidak melalui IVR")


async def test_the_flows_lines_are_listed_as_text(agent: AgentPage) -> None:
    await agent.open()
    message = fixture("pop_new")
    message["pop"]["notes"] = [
        {"label": "Daya diminta", "value": "R2 / 3500 VA"},
        {"label": "Perlu dilengkapi CSO", "value": "<b>alamat e-mail</b>"},
    ]
    agent.server.send(message)
    notes = agent.field("notes")
    await expect(notes).to_contain_text("Daya diminta")
    await expect(notes).to_contain_text("R2 / 3500 VA")
    await expect(notes).to_contain_text("<b>alamat e-mail</b>")  # text, never markup
    await expect(notes.locator("b")).to_have_count(0)
    assert agent.errors == []


async def test_a_pop_without_lines_has_no_notes_block(agent: AgentPage) -> None:
    await agent.open()
    agent.server.send(fixture("pop_new"))
    await expect(agent.card).to_have_attribute("data-pop-id", "7b1e04")
    await expect(agent.field("notes")).to_have_count(0)


async def test_an_update_changes_the_state_without_a_duplicate(agent: AgentPage) -> None:
    await agent.open()
    agent.server.send(fixture("pop_new"))
    await expect(agent.card).to_have_attribute("data-state", "ringing")

    agent.server.send(fixture("pop_update"))
    await expect(agent.card).to_have_attribute("data-state", "connected")
    await expect(agent.field("state")).to_have_text("Tersambung")
    await expect(agent.card).to_have_attribute("data-pop-id", "7b1e04")
    await expect(agent.page.locator("#recent-pops li[data-pop-id]")).to_have_count(3)
    item = agent.page.locator('#recent-pops li[data-pop-id="7b1e04"]')
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("Tersambung")


async def test_an_update_of_another_pop_keeps_the_shown_one(agent: AgentPage) -> None:
    await agent.open()
    older = fixture("hello")["pops"][1]
    older.update(state="missed", state_label="Tidak diangkat")
    agent.server.send({"type": "pop", "pop": older})

    item = agent.page.locator(f'#recent-pops li[data-pop-id="{older["id"]}"]')
    await expect(item).to_contain_text("Tidak diangkat")
    await expect(agent.card).to_have_attribute("data-pop-id", "3f2a9c")
    await expect(agent.page.locator("#recent-pops li[data-pop-id]")).to_have_count(2)


async def test_clicking_a_recent_call_shows_it(agent: AgentPage) -> None:
    await agent.open()
    older = fixture("hello")["pops"][1]
    await agent.page.locator(f'#recent-pops li[data-pop-id="{older["id"]}"]').click()

    await expect(agent.card).to_have_attribute("data-pop-id", older["id"])
    await expect(agent.card).to_have_attribute("data-state", "done")
    await expect(agent.field("caller_name")).to_have_text("Siti Aminah")
    await expect(agent.field("caller_line")).to_have_text("PSTN")
    await expect(agent.field("report_number")).to_have_text("G2503100000456")
    await expect(agent.field("address_verified")).to_have_text(
        re.compile("berbeda menurut penelepon")
    )
    await expect(agent.field("wo_type")).to_have_text("WO Autodispatch")
    values = agent.page.locator('#current-pop tr[data-code] td[data-field="value"]')
    await expect(values).to_have_text(["—"] * 9)
    await expect(agent.page.locator(f'#recent-pops li[data-pop-id="{older["id"]}"]')).to_have_class(
        re.compile(r"\bcurrent\b")
    )


async def test_copy_puts_the_apkt_block_on_the_clipboard(agent: AgentPage) -> None:
    await agent.open()
    button = agent.page.get_by_role("button", name="Salin untuk APKT")
    await button.click()
    await expect(agent.page.locator("#copy-apkt")).to_have_text("Tersalin")
    copied = await agent.page.evaluate("navigator.clipboard.readText()")
    assert copied == fixture("hello")["pops"][0]["apkt_block"]


async def test_copy_falls_back_to_exec_command(agent: AgentPage) -> None:
    await agent.page.add_init_script(
        "navigator.clipboard.writeText = () => Promise.reject(new Error('denied'));"
    )
    await agent.open()
    await agent.page.locator("#copy-apkt").click()
    await expect(agent.page.locator("#copy-apkt")).to_have_text("Tersalin")
    copied = await agent.page.evaluate("navigator.clipboard.readText()")
    assert copied == fixture("hello")["pops"][0]["apkt_block"]


async def test_a_pop_without_customer_or_form_renders_cleanly(agent: AgentPage) -> None:
    await agent.open()
    agent.server.send(fixture("pop_new"))

    await expect(agent.card).to_have_attribute("data-pop-id", "7b1e04")
    await expect(agent.field("customer_missing")).to_contain_text("tidak teridentifikasi")
    await expect(agent.field("apkt_missing")).to_be_visible()
    await expect(agent.field("idpel")).to_have_count(0)
    await expect(agent.field("problem_text")).to_have_count(0)
    await expect(agent.field("caller_number")).to_have_text("0812000111222")
    await expect(agent.field("caller_name")).to_have_text("—")
    await expect(agent.field("power_state")).to_have_text("—")
    await expect(agent.page.locator("#current-pop tr[data-code]")).to_have_count(9)
    await expect(agent.page.locator("#copy-apkt")).to_be_disabled()
    assert agent.errors == []


async def test_selesai_sends_callback_done(agent: AgentPage) -> None:
    await agent.open()
    task = agent.page.locator('#callbacks li[data-callback-id="7"]')
    await task.get_by_role("button", name="Selesai").click()

    assert await agent.server.next_received() == {"type": "callback_done", "id": 7}
    await expect(task.get_by_role("button", name="Selesai")).to_be_disabled()

    agent.server.send(fixture("callbacks"))
    await expect(agent.page.locator("#callbacks li[data-callback-id]")).to_have_count(1)
    await expect(task).to_have_count(0)
    other = agent.page.locator('#callbacks li[data-callback-id="8"]')
    await expect(other.get_by_role("button", name="Selesai")).to_be_enabled()


async def test_a_callback_task_links_to_its_call(agent: AgentPage) -> None:
    await agent.open()
    agent.server.send(fixture("pop_new"))
    await expect(agent.card).to_have_attribute("data-pop-id", "7b1e04")

    task = agent.page.locator('#callbacks li[data-callback-id="7"]')
    await task.get_by_role("button", name="Lihat").click()
    await expect(agent.card).to_have_attribute("data-pop-id", "3f2a9c")


async def test_a_closed_socket_reconnects_with_backoff(agent: AgentPage) -> None:
    page = agent.page
    hello = fixture("hello")
    # Second connection: no hello, so the backoff is not reset and doubles.
    agent.server.greetings = [[hello], [], [hello]]
    start = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
    await page.clock.install(time=start)
    await agent.open()
    # The installed clock runs with real time until paused: stop it, then step it.
    await page.clock.pause_at(start + timedelta(hours=1))
    connection = page.locator("#connection")

    await agent.server.sockets[0].close()
    await expect(connection).to_have_attribute("data-state", "closed")
    await expect(connection).to_have_text("Terputus — menyambung ulang…")
    await expect(agent.card).to_have_attribute("data-pop-id", "3f2a9c")  # still shown
    await page.clock.run_for(499)
    assert len(agent.server.sockets) == 1
    await page.clock.run_for(1)
    await expect(connection).to_have_attribute("data-state", "open")
    await expect(connection).to_have_text("Tersambung")
    assert len(agent.server.sockets) == 2

    await agent.server.sockets[1].close()
    await expect(connection).to_have_attribute("data-state", "closed")
    await page.clock.run_for(999)
    assert len(agent.server.sockets) == 2
    await page.clock.run_for(1)
    await expect(connection).to_have_attribute("data-state", "open")
    assert len(agent.server.sockets) == 3

    # The third connection sent hello: back to 0.5 s.
    await expect(page.locator("#recent-pops li[data-pop-id]")).to_have_count(2)
    await agent.server.sockets[2].close()
    await expect(connection).to_have_attribute("data-state", "closed")
    await page.clock.run_for(500)
    await expect(connection).to_have_attribute("data-state", "open")
    assert len(agent.server.sockets) == 4


async def test_close_4401_goes_to_login(agent: AgentPage) -> None:
    await agent.open()
    await agent.server.ws.close(code=4401, reason="unauthorized")
    await expect(agent.page).to_have_url(re.compile(r"/login$"))
    await expect(agent.page.locator('input[name="agent"]')).to_be_visible()


async def test_login_page_shows_the_error(agent: AgentPage) -> None:
    page = agent.page
    await page.goto("/login")
    await expect(page).to_have_title("PLN 123 — Masuk CSO")
    await expect(page.get_by_label("ID agen")).to_have_attribute("name", "agent")
    await expect(page.get_by_label("Token")).to_have_attribute("type", "password")
    await expect(page.locator("form")).to_have_attribute("method", "post")
    await expect(page.locator("form")).to_have_attribute("action", "/login")
    await expect(page.get_by_text("ID agen atau token salah.")).to_be_hidden()

    await page.goto("/login?error=1")
    await expect(page.get_by_text("ID agen atau token salah.")).to_be_visible()


async def test_server_strings_are_shown_as_text(agent: AgentPage) -> None:
    await agent.open()
    message = fixture("pop_hostile")
    pop = message["pop"]
    agent.server.send(message)

    await expect(agent.card).to_have_attribute("data-pop-id", pop["id"])
    await expect(agent.field("caller_name")).to_have_text(pop["caller"]["name"])
    await expect(agent.field("address")).to_have_text(pop["customer"]["address"])
    await expect(agent.field("customer_name")).to_have_text(pop["customer"]["name"])
    await expect(agent.field("problem_text")).to_have_text(pop["apkt"]["problem_text"])
    await expect(agent.field("state")).to_have_text(pop["state_label"])
    await expect(agent.page.locator('#current-pop li[data-ask="menu"]')).to_contain_text("<script>")
    await expect(agent.page.locator("#current-pop script, #current-pop img")).to_have_count(0)
    await expect(agent.page.locator("#recent-pops b, #recent-pops i, #main b")).to_have_count(0)
    assert await agent.page.evaluate("window.pwned") is None


async def test_timing_hooks(agent: AgentPage) -> None:
    await agent.open()
    page = agent.page
    assert await page.evaluate("window.pln123Messages") == 1
    agent.server.send(fixture("pop_new"))
    await wait_until(page, "window.pln123Rendered['7b1e04'] > 0")
    first = await page.evaluate("window.pln123Rendered['7b1e04']")

    agent.server.send(fixture("pop_update"))
    await wait_until(page, "window.pln123Messages === 3")
    await expect(agent.card).to_have_attribute("data-state", "connected")
    await page.evaluate("new Promise(requestAnimationFrame)")
    assert await page.evaluate("window.pln123Rendered['7b1e04']") == first
    assert await page.evaluate("Object.keys(window.pln123Rendered)") == ["7b1e04"]


# --- the outage the caller heard ------------------------------------------------------

#: A stored pop of a caller who heard an outage announcement and still chose a CSO; the
#: page gets it as the server makes it (:func:`ivr.screenpop.view.pop_view`), so the
#: page and the view agree on the shape.
OUTAGE_POP: dict[str, Any] = {
    "call_id": "9c4d21",
    "flow": "main",
    "queue": "periksa",
    "caller": "081298765432",
    "caller_name": "Rina Wulandari",
    "salutation": "Ibu",
    "customer": {
        "found": True,
        "keyed": "532198765432",
        "idpel": "532198765432",
        "name": "Rina Wulandari",
        "street": "Jl. Kenanga No. 3",
        "area": "Kebayoran Baru",
        "unit": "UP3 Bulungan",
        "posko": "ULP Kebayoran Baru",
    },
    "power_state": "padam",
    "answers": [{"ask": "menu", "value": "periksa"}],
    "outage": {
        "id": "7",
        "message": "Gangguan gardu induk Kebayoran, petugas sedang menangani.",
        "until": "16:00 WIB",
        "report_number": "G2503010000777",
        "units": ["UP3 Bulungan", "ULP Kebayoran Baru"],
    },
}
DECLARED_AT = datetime(2025, 3, 1, 2, 30, tzinfo=UTC).timestamp()  # 09:30 WIB
HOSTILE = '<script>window.pwned = 1</script>"><img src=x onerror="window.pwned = 2">'


def pop_message(data: dict[str, Any], pop_id: str = "9c4d21") -> Message:
    """A "pop" message for ``data`` as the hub sends it, the outage declared at 09:30."""
    delivery = Delivery(pop_id, "cso1", "periksa", pops.RINGING, "081298765432", DECLARED_AT)
    view = pop_view(data, delivery, "Asia/Jakarta", outage_declared_at=DECLARED_AT)
    return {"type": "pop", "pop": view}


async def test_a_pop_with_an_outage_shows_it_first(agent: AgentPage) -> None:
    await agent.open()
    await expect(agent.card).to_have_attribute("data-pop-id", "3f2a9c")
    await expect(agent.field("outage")).to_have_count(0)  # the greeting's pop heard none

    agent.server.send(pop_message(OUTAGE_POP))
    await expect(agent.card).to_have_attribute("data-pop-id", "9c4d21")
    block = agent.field("outage")
    await expect(block).to_be_visible()
    await expect(block.locator("h3")).to_have_text("⚠ Gangguan meluas diketahui")
    await expect(agent.page.get_by_role("region", name="Gangguan meluas diketahui")).to_be_visible()
    await expect(agent.field("outage_message")).to_have_text(
        "Gangguan gardu induk Kebayoran, petugas sedang menangani."
    )
    await expect(agent.field("outage_units")).to_have_text("UP3 Bulungan, ULP Kebayoran Baru")
    await expect(agent.field("outage_until")).to_have_text("16:00 WIB")
    await expect(agent.field("outage_report_number")).to_have_text("G2503010000777")
    await expect(agent.field("outage_declared_at")).to_have_text("2025-03-01 09:30 WIB")
    for label in ("Wilayah gangguan", "Perkiraan menyala", "Laporan induk APKT", "Diumumkan"):
        await expect(block.locator("dt", has_text=label)).to_have_count(1)
    # At the top: right under the card's header, before everything the IVR collected.
    assert await agent.card.evaluate(
        "card => card.children[1] === card.querySelector('[data-field=\"outage\"]')"
    )
    # Not repeated as "Catatan IVR" lines.
    await expect(agent.field("notes")).to_have_count(0)

    agent.server.send(fixture("pop_new"))
    await expect(agent.card).to_have_attribute("data-pop-id", "7b1e04")
    await expect(agent.field("caller_number")).to_have_text("0812000111222")
    await expect(agent.field("outage")).to_have_count(0)

    await agent.page.locator('#recent-pops li[data-pop-id="9c4d21"] button').click()
    await expect(agent.card).to_have_attribute("data-pop-id", "9c4d21")
    await expect(agent.field("outage_report_number")).to_have_text("G2503010000777")


async def test_an_outage_without_a_master_report_shows_a_dash(agent: AgentPage) -> None:
    await agent.open()
    data = {**OUTAGE_POP, "outage": {**OUTAGE_POP["outage"], "report_number": ""}}
    agent.server.send(pop_message(data))
    await expect(agent.field("outage_message")).to_contain_text("gardu induk")
    await expect(agent.field("outage_report_number")).to_have_text("—")


async def test_the_outage_message_is_shown_as_text(agent: AgentPage) -> None:
    await agent.open()
    outage = {**OUTAGE_POP["outage"], "message": HOSTILE, "units": [HOSTILE], "until": HOSTILE}
    agent.server.send(pop_message({**OUTAGE_POP, "outage": outage}))

    await expect(agent.card).to_have_attribute("data-pop-id", "9c4d21")
    await expect(agent.field("outage_message")).to_have_text(HOSTILE)
    await expect(agent.field("outage_units")).to_have_text(HOSTILE)
    await expect(agent.field("outage_until")).to_have_text(HOSTILE)
    await expect(agent.page.locator("#current-pop script, #current-pop img")).to_have_count(0)
    assert await agent.page.evaluate("window.pwned") is None
    assert agent.errors == []
