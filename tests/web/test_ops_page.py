"""The ops page in a real browser, served by the real aiohttp app over a real call store.

The module's server is :func:`ivr.web.server.make_app` with an ops user, an agent,
the repository's flows and a SQLite file holding a known day of calls (rows written
straight into ``calls``, ``journeys`` and ``queue_calls``), so the numbers on the page
come through :func:`ivr.ops.stats.compute_stats` and the page's own arithmetic.
Debian's Chromium, one browser for the module, a fresh context per test.

``PLN123_OPS_SCREENSHOT=docs/ops-page.png .venv/bin/pytest -q tests/web/test_ops_page.py
-k screenshot`` draws the page over a busier, made-up day and saves it there.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect
from pydantic import SecretStr

from ivr.config import AgentSettings, OpsSettings
from ivr.engine.graph import SECONDARY, graph_edges
from ivr.engine.library import LibraryHolder
from ivr.engine.model import Flow
from ivr.kit import KIT
from ivr.ops.stats import stamp
from ivr.screenpop.hub import PopHub
from ivr.store.calls import connect
from ivr.store.pops import PopStore
from ivr.store.schema import migrate
from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS
from ivr.web.server import OpsSite, make_app
from tests.flows.test_journeys import fill_known_store
from tests.web.support import csp_violation

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[2]
ZONE_NAME = "Asia/Jakarta"
ZONE = ZoneInfo(ZONE_NAME)
HAVE_CHROMIUM = Path(CHROMIUM).exists()
WAIT_S = 5.0
#: How often the page polls the stats in these tests (milliseconds).
POLL_MS = 200

AGENTS = {"cso1": AgentSettings(name="Dewi", token=SecretStr("token-cso-0123456789"))}
OPS = {"lina": OpsSettings(name="Lina Marlina", token=SecretStr("token-ops-0123456789"))}


# --- the known day --------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    id: str
    minute: int  # minutes after 08:00 local today
    result: str | None  # None: still in the IVR
    seconds: float
    caller: str
    idpel: str = ""
    cso_reason: str = ""
    #: (flow, node, exit, target, seconds) in order
    path: tuple[tuple[str, str, str, str, float], ...] = ()


def _main(*steps: tuple[str, str, str, float]) -> tuple[tuple[str, str, str, str, float], ...]:
    return tuple(("main", node, exit, target, seconds) for node, exit, target, seconds in steps)


GREET = (("kenali", "next", "salam", 1.5), ("salam", "next", "menu", 6.0))

#: Ten calls: 4 contained (one of whose callers rang again: 3 truly), 4 to a CSO, 1
#: abandoned, 1 still in the IVR.
CALLS = [
    Call(
        "c1",
        5,
        "contained",
        40.0,
        "081234567801",
        "512345678901",
        path=(
            *_main(
                ("kenali", "next", "salam_nama", 1.5),
                ("salam_nama", "next", "menu", 6.0),
                ("menu", "next", "status", 4.0),
                ("status", "end", "", 30.0),
            ),
            ("status", "dari_telepon", "next", "status_umum", 2.0),
        ),
    ),
    Call(
        "c2",
        20,
        "contained",
        45.0,
        "081234567802",
        path=(
            *_main(*GREET, ("menu", "next", "status", 5.0), ("status", "end", "", 30.0)),
            ("status", "dari_telepon", "error", "gagal_sistem", 3.0),
        ),
    ),
    Call(
        "c3",
        50,
        "contained",
        50.0,
        "081234567803",
        "512345678903",
        path=_main(*GREET, ("menu", "next", "periksa", 6.0), ("periksa", "end", "", 35.0)),
    ),
    Call(
        "c4",
        70,
        "contained",
        55.0,
        "081234567804",
        path=_main(*GREET, ("menu", "next", "periksa", 7.0), ("periksa", "end", "", 40.0)),
    ),
    Call(
        "c5",
        75,
        "cso",
        60.0,
        "081234567805",
        cso_reason="caller",
        path=_main(*GREET, ("menu", "cso", "cso", 8.0), ("cso", "cso", "", 1.0)),
    ),
    Call(
        "c6",
        130,
        "cso",
        65.0,
        "081234567806",
        cso_reason="retries",
        path=_main(*GREET, ("menu", "noinput", "cso", 9.0), ("cso", "cso", "", 1.0)),
    ),
    Call(
        "c7",
        140,
        "cso",
        70.0,
        "081234567807",
        cso_reason="retries",
        path=_main(*GREET, ("menu", "nomatch", "cso", 10.0), ("cso", "cso", "", 1.0)),
    ),
    Call(
        "c8",
        150,
        "abandoned",
        20.0,
        "081234567808",
        path=_main(*GREET, ("menu", "hangup", "", 11.0)),
    ),
    Call(
        "c9",
        190,
        "cso",
        80.0,
        "081234567803",  # c3's caller again: c3 was not truly contained
        cso_reason="backend",
        path=_main(("kenali", "error", "cso", 1.5), ("cso", "cso", "", 1.0)),
    ),
    Call("c10", 200, None, 0.0, "081234567810", path=_main(*GREET)),
]
#: Callers waiting for a CSO: (queue, waited seconds, answered?)
QUEUE_CALLS = [("umum", 12.0, True), ("umum", 30.0, True), ("umum", 45.0, False)]
PRIVATE = sorted({c.caller for c in CALLS} | {c.idpel for c in CALLS if c.idpel})


def today_at(minute: int) -> datetime:
    day = datetime.now(ZONE).replace(hour=8, minute=0, second=0, microsecond=0)
    return day + timedelta(minutes=minute)


def write_calls(conn: sqlite3.Connection, calls: list[Call]) -> None:
    with conn:
        for call in calls:
            started = today_at(call.minute)
            conn.execute(
                "INSERT INTO calls (id, flow, caller, started_at, ended_at, outcome, result,"
                " cso_reason, idpel, seconds) VALUES (?, 'main', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call.id,
                    call.caller,
                    stamp(started),
                    None if call.result is None else stamp(started + timedelta(seconds=90)),
                    call.result,
                    call.result,
                    call.cso_reason,
                    call.idpel,
                    call.seconds if call.result is not None else None,
                ),
            )
            conn.executemany(
                "INSERT INTO journeys (call_id, seq, flow, node, exit, target, seconds, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (call.id, seq, flow, node, exit, target, seconds, started.timestamp())
                    for seq, (flow, node, exit, target, seconds) in enumerate(call.path, 1)
                ],
            )


def write_queue_calls(conn: sqlite3.Connection, rows: list[tuple[str, float, bool]]) -> None:
    joined = today_at(100).timestamp()
    with conn:
        for index, (queue, wait, answered) in enumerate(rows):
            conn.execute(
                "INSERT INTO queue_calls (uniqueid, queue, joined_at, answered_at,"
                " abandoned_at, wait_seconds) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    f"17000000{index}.{index}",
                    queue,
                    joined + index,
                    joined + index + wait if answered else None,
                    None if answered else joined + index + wait,
                    wait,
                ),
            )


# --- fixtures -------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    db: Path


@contextlib.asynccontextmanager
async def serve(db: Path) -> AsyncIterator[Site]:
    """The real app over ``db``, on a free loopback port."""
    library = LibraryHolder(REPO / "flows", REPO / "audio", KIT)
    store = PopStore(db)
    hub = PopHub(store, AGENTS, ZONE_NAME)
    site = OpsSite(users=OPS, library=library, db_path=db, timezone=ZONE_NAME)
    runner = web.AppRunner(make_app(hub, AGENTS, lambda: {"ami": False}, site))
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    host, port = runner.addresses[0][:2]
    try:
        yield Site(f"http://{host}:{port}", db)
    finally:
        await hub.close()
        await runner.cleanup()
        store.close()


def _new_db(path: Path) -> sqlite3.Connection:
    conn = connect(path)
    migrate(conn)
    return conn


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    db = tmp_path_factory.mktemp("ops") / "calls.sqlite3"
    conn = _new_db(db)
    write_calls(conn, CALLS)
    write_queue_calls(conn, QUEUE_CALLS)
    conn.close()
    async with serve(db) as served:
        yield served


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    assert HAVE_CHROMIUM, f"no Chromium at {CHROMIUM}: scripts/setup.sh installs it"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def _page(browser: Browser, base_url: str, errors: list[str]) -> Page:
    context = await browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(WAIT_S * 1000)
    await context.add_init_script(f"window.pln123OpsPollMs = {POLL_MS};")
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: csp_violation(m, errors))  # the CSP refused something
    return page


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, site: Site) -> AsyncIterator[Page]:
    errors: list[str] = []
    opened = await _page(browser, site.url, errors)
    yield opened
    await opened.context.close()
    assert errors == [], f"errors on the page: {errors}"


async def ops_login(page: Page, user: str = "lina", token: str = "token-ops-0123456789") -> None:
    await page.goto("/ops/login")
    await page.locator("#user").fill(user)
    await page.locator("#token").fill(token)
    await page.get_by_role("button", name="Masuk").click()


def field(page: Page, name: str) -> Any:
    return page.locator(f'[data-field="{name}"]')


def waterfall_row(page: Page, flow: str, node: str) -> Any:
    return page.locator(f'#waterfalls tr[data-flow="{flow}"][data-node="{node}"] td')


async def fill_of(page: Page, node: str) -> str:
    """The fill of a node's drawn shape in the graph (its first filled one)."""
    fill: str = await page.locator(f'#graph g[data-node="{node}"]').evaluate(
        """g => Array.from(g.querySelectorAll("polygon, path, ellipse"))
             .map(shape => shape.getAttribute("fill")).find(fill => fill !== "none")"""
    )
    return fill


# --- tests ----------------------------------------------------------------------------


async def test_the_page_shows_the_days_numbers(page: Page) -> None:
    await ops_login(page)
    await expect(page).to_have_url(re.compile(r"/ops$"))
    await expect(page).to_have_title("PLN 123 — Operasional")
    await expect(page.locator("#user-name")).to_have_text("Lina Marlina")
    today = datetime.now(ZONE).strftime("%Y-%m-%d")
    await expect(page.locator("#since")).to_have_value(today)
    await expect(page.locator("#until")).to_have_value(today)
    await expect(page.locator("#refresh")).to_have_attribute("data-state", "ok")

    await expect(field(page, "calls")).to_have_text("10")
    await expect(field(page, "open-note")).to_have_text("1 masih berjalan")
    await expect(field(page, "contained")).to_have_text("4")
    await expect(field(page, "cso")).to_have_text("4")
    await expect(field(page, "abandoned")).to_have_text("1")
    # Of the 9 calls with an outcome: 4 contained, 3 truly, 1 abandoned.
    await expect(field(page, "containment_rate")).to_have_text("44,4%")
    await expect(field(page, "true_containment_rate")).to_have_text("33,3%")
    await expect(field(page, "abandon_rate")).to_have_text("11,1%")
    await expect(field(page, "aht_p50")).to_have_text("55,0 dtk")
    await expect(field(page, "aht_p90")).to_have_text("80,0 dtk")

    reasons = page.locator("#reasons tbody tr")
    await expect(reasons).to_have_count(3)
    await expect(reasons.nth(0)).to_have_text(re.compile(r"Percobaan habis\s*2\s*50,0%"))
    await expect(page.locator('#reasons tr[data-reason="caller"] td')).to_have_text(
        ["Permintaan penelepon", "1", "25,0%"]
    )
    await expect(page.locator('#reasons tr[data-reason="backend"] td')).to_have_text(
        ["Gangguan sistem", "1", "25,0%"]
    )

    await expect(page.locator('#queues tr[data-queue="umum"] td')).to_have_text(
        ["umum", "3", "2", "1", "33,3%", "12,0 dtk", "30,0 dtk"]
    )

    #                   node entered next noinput nomatch hangup cso error median
    await expect(waterfall_row(page, "main", "kenali")).to_have_text(
        ["kenali", "10", "90,0%", "0,0%", "0,0%", "0,0%", "0,0%", "10,0%", "1,5 dtk"]
    )
    await expect(waterfall_row(page, "main", "salam")).to_have_text(
        ["salam", "8", "100,0%", "0,0%", "0,0%", "0,0%", "0,0%", "0,0%", "6,0 dtk"]
    )
    await expect(waterfall_row(page, "main", "menu")).to_have_text(
        ["menu", "8", "50,0%", "12,5%", "12,5%", "12,5%", "12,5%", "0,0%", "7,0 dtk"]
    )
    await expect(waterfall_row(page, "main", "cso")).to_have_text(
        ["cso", "4", "0,0%", "0,0%", "0,0%", "0,0%", "100,0%", "0,0%", "1,0 dtk"]
    )
    await expect(waterfall_row(page, "main", "status")).to_have_text(
        ["status", "2", "100,0%", "0,0%", "0,0%", "0,0%", "0,0%", "0,0%", "30,0 dtk"]
    )
    await expect(waterfall_row(page, "status", "dari_telepon")).to_have_text(
        ["dari_telepon", "2", "50,0%", "0,0%", "0,0%", "0,0%", "0,0%", "50,0%", "2,0 dtk"]
    )
    # The waterfall goes from the busiest node down.
    rows = page.locator('#waterfalls tr[data-flow="main"]')
    assert (await rows.first.get_attribute("data-node")) == "kenali"

    await expect(page.locator("#hours-chart")).to_be_visible()
    assert await page.evaluate("window.Chart !== undefined")


async def test_the_known_scenario_calls_on_the_page(browser: Browser, tmp_path: Path) -> None:
    """The known set of scenario calls, run in the simulator into a fresh store: the
    page shows exactly what ``pln123 stats`` must (tests/flows/test_journeys.py)."""
    db = tmp_path / "calls.sqlite3"
    await fill_known_store(db)
    errors: list[str] = []
    async with serve(db) as served:
        page = await _page(browser, served.url, errors)
        try:
            await ops_login(page)
            await expect(page.locator("#refresh")).to_have_attribute("data-state", "ok")
            for name, text in (("calls", "6"), ("contained", "3"), ("cso", "2")):
                await expect(field(page, name)).to_have_text(text)
            await expect(field(page, "abandoned")).to_have_text("1")
            await expect(field(page, "containment_rate")).to_have_text("50,0%")
            await expect(field(page, "true_containment_rate")).to_have_text("16,7%")
            await expect(field(page, "abandon_rate")).to_have_text("16,7%")
            await expect(page.locator('#reasons tr[data-reason="caller"] td')).to_have_text(
                ["Permintaan penelepon", "1", "50,0%"]
            )
            await expect(page.locator('#reasons tr[data-reason="retries"] td')).to_have_text(
                ["Percobaan habis", "1", "50,0%"]
            )
            #                   node entered next noinput nomatch hangup cso error median
            await expect(waterfall_row(page, "main", "menu")).to_have_text(
                ["menu", "6", "83,3%", "16,7%", "0,0%", "0,0%", "0,0%", "0,0%", re.compile("dtk")]
            )
            await expect(waterfall_row(page, "main", "penutup")).to_have_text(
                [
                    "penutup",
                    "3",
                    "100,0%",
                    "0,0%",
                    "0,0%",
                    "0,0%",
                    "0,0%",
                    "0,0%",
                    re.compile("dtk"),
                ]
            )
        finally:
            await page.context.close()
    assert errors == [], f"errors on the page: {errors}"


async def test_the_graph_is_a_heat_map_with_clickable_nodes(page: Page) -> None:
    await ops_login(page)
    graph = page.locator("#graph")
    await expect(graph).to_have_attribute("data-flow", "main")
    menu = graph.locator('g[data-node="menu"]')
    await expect(menu).to_have_attribute("data-entered", "8")
    await expect(menu).to_have_attribute("data-loss", "50,0%")
    unused = graph.locator('g[data-node="tambah_daya"]')
    await expect(unused).to_have_attribute("data-entered", "0")
    # Colours: the lossless salam green, menu (50% lost) red, unused grey.
    fills = [await fill_of(page, node) for node in ("salam", "menu", "tambah_daya")]
    assert fills == [
        "rgb(217,242,224)",
        "rgb(244,182,176)",
        "#eceff3",
    ]
    # Edges are as wide as the calls along them: menu -> status carried 2, -> periksa 2.
    edges = await page.evaluate(
        """() => Array.from(document.querySelectorAll('#graph g.edge[data-count]'))
             .map(g => [g.querySelector('title').textContent, g.dataset.count,
                        g.querySelector('path').getAttribute('stroke-width')])"""
    )
    by_title = {title.split(":")[0]: (n, width) for title, n, width in edges}
    assert by_title["menu → status"][0] == "2"
    assert by_title["kenali → salam"] == ("8", "8.00")  # the busiest edge
    assert by_title["menu → tambah_daya"] == ("0", "1.00")

    await menu.click()
    detail = page.locator("#node-detail")
    await expect(detail).to_be_visible()
    await expect(field(page, "node-id")).to_have_text("menu")
    await expect(detail.locator('tr[data-key="entered"] td').first).to_have_text("8")
    await expect(detail.locator('tr[data-key="noinput"] td')).to_have_text(["1", "12,5%"])
    await expect(detail.locator('tr[data-key="loss"] td')).to_have_text(["4", "50,0%"])
    await expect(page.locator('#waterfalls tr[data-node="menu"]')).to_have_class("selected")

    # A row of another flow's waterfall brings that flow's graph.
    await page.locator('#waterfalls tr[data-flow="status"][data-node="dari_telepon"]').click()
    await expect(graph).to_have_attribute("data-flow", "status")
    await expect(field(page, "node-id")).to_have_text("dari_telepon")
    await expect(graph.locator('g[data-node="dari_telepon"]')).to_have_attribute(
        "data-loss", "50,0%"
    )


async def test_no_caller_detail_reaches_the_page(page: Page) -> None:
    answers: list[str] = []

    async def keep(response: Any) -> None:
        if "/ops/api/" in response.url:
            answers.append(await response.text())

    page.on("response", keep)
    await ops_login(page)
    await expect(field(page, "calls")).to_have_text("10")
    await expect(page.locator("#graph g.edge[data-count]").first).to_be_attached()
    text = await page.locator("body").inner_text()
    html = await page.content()
    for private in PRIVATE:
        assert private not in text and private not in html, private
        assert all(private not in answer for answer in answers), private
    assert len(answers) >= 3


async def test_the_filters_and_the_live_refresh(page: Page, site: Site) -> None:
    await ops_login(page)
    await expect(field(page, "calls")).to_have_text("10")
    await page.locator("#flow").select_option("status")
    await expect(field(page, "calls")).to_have_text("0")  # no call began in status
    await expect(page.locator("#graph")).to_have_attribute("data-flow", "status")
    await page.locator("#flow").select_option("")
    await expect(field(page, "calls")).to_have_text("10")
    yesterday = (datetime.now(ZONE) - timedelta(days=1)).strftime("%Y-%m-%d")
    await page.locator("#since").fill(yesterday)
    await page.locator("#until").fill(yesterday)
    await page.get_by_role("button", name="Tampilkan").click()
    await expect(field(page, "calls")).to_have_text("0")
    await expect(field(page, "containment_rate")).to_have_text("—")
    await page.get_by_role("button", name="Hari ini").click()
    await expect(field(page, "calls")).to_have_text("10")

    # A call that ends now shows up without a reload.
    conn = sqlite3.connect(site.db)
    write_calls(conn, [Call("c11", 210, "contained", 30.0, "081234567811", path=_main(*GREET))])
    conn.close()
    try:
        await expect(field(page, "calls")).to_have_text("11")
        await expect(field(page, "contained")).to_have_text("5")
        await expect(field(page, "containment_rate")).to_have_text("50,0%")
    finally:
        conn = sqlite3.connect(site.db)
        with conn:
            conn.execute("DELETE FROM journeys WHERE call_id = 'c11'")
            conn.execute("DELETE FROM calls WHERE id = 'c11'")
        conn.close()


async def test_an_agent_login_does_not_open_the_ops_page(page: Page) -> None:
    await page.goto("/login")
    await page.locator("#agent").fill("cso1")
    await page.locator("#token").fill("token-cso-0123456789")
    await page.get_by_role("button", name="Masuk").click()
    await expect(page).to_have_url(re.compile(r"/agent$"))
    await page.goto("/ops")
    await expect(page).to_have_url(re.compile(r"/ops/login$"))
    response = await page.request.get("/ops/api/stats")
    assert response.status == 401
    # The agent's token is no ops token either.
    await ops_login(page, "cso1", "token-cso-0123456789")
    await expect(page).to_have_url(re.compile(r"/ops/login\?error=1$"))
    await expect(page.locator("#login-error")).to_be_visible()


async def test_an_ops_login_does_not_open_the_agent_page(page: Page) -> None:
    await ops_login(page)
    await expect(page).to_have_url(re.compile(r"/ops$"))
    await page.goto("/agent")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.get_by_role("link", name="Masuk sebagai tim operasional").click()
    await expect(page).to_have_url(re.compile(r"/ops/login$"))


# --- the screenshot -------------------------------------------------------------------


def realistic_calls(library: LibraryHolder, count: int, seed: int = 123) -> Iterator[Call]:
    """``count`` made-up calls walking the main flow's graph, over a working day."""
    rng = random.Random(seed)
    flow: Flow = library.current.flows["main"].flow
    edges = list(graph_edges(flow))
    reasons = ["caller", "caller", "caller", "retries", "retries", "flow", "backend"]
    for index in range(count):
        node, steps, result, reason = flow.start, [], "contained", ""
        for _ in range(12):
            ways = [e for e in edges if e.source == node and e.kind not in SECONDARY]
            roll = rng.random()
            if node == "cso":
                steps.append((node, "cso", "", rng.uniform(0.5, 2)))
                result, reason = "cso", rng.choice(reasons)
                break
            if not ways:
                steps.append((node, "end", "", rng.uniform(20, 90)))
                break
            if roll < 0.04:
                steps.append((node, "hangup", "", rng.uniform(2, 10)))
                result = "abandoned"
                break
            if node == "menu" and roll < 0.16:
                exit = rng.choice(["noinput", "nomatch", "cso", "cso"])
                steps.append((node, exit, "cso", rng.uniform(5, 20)))
                node = "cso"
                continue
            weights = [5 if e.target in ("periksa", "status") else 2 for e in ways]
            way = rng.choices(ways, weights)[0]
            steps.append((node, "next", way.target, rng.uniform(1, 12)))
            node = way.target
        minute = int(rng.triangular(0, 600, 150))
        open_call = index >= count - 6
        yield Call(
            f"r{index}",
            minute,
            None if open_call else result,
            sum(s[3] for s in steps),
            f"0812{rng.randrange(1500):08d}",  # a few callers ring again
            f"5{rng.randrange(10**11):011d}",
            reason if result == "cso" else "",
            _main(*steps),
        )


@pytest.mark.skipif(
    not os.environ.get("PLN123_OPS_SCREENSHOT"), reason="set PLN123_OPS_SCREENSHOT=path"
)
async def test_screenshot(browser: Browser, tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite3"
    conn = _new_db(db)
    library = LibraryHolder(REPO / "flows", REPO / "audio", KIT)
    write_calls(conn, list(realistic_calls(library, 640)))
    rng = random.Random(7)
    queue_rows = [
        (
            rng.choice(["umum", "umum", "gangguan", "status"]),
            rng.uniform(5, 240),
            rng.random() > 0.12,
        )
        for _ in range(180)
    ]
    write_queue_calls(conn, queue_rows)
    conn.close()
    errors: list[str] = []
    async with serve(db) as served:
        page = await _page(browser, served.url, errors)
        await page.set_viewport_size({"width": 1440, "height": 1000})
        await ops_login(page)
        await expect(field(page, "calls")).to_have_text("640")
        await expect(page.locator("#graph g.edge[data-count]").first).to_be_attached()
        await page.locator('#graph g[data-node="menu"]').click()
        await expect(page.locator("#node-detail")).to_be_visible()
        await page.screenshot(path=os.environ["PLN123_OPS_SCREENSHOT"], full_page=True)
        await page.context.close()
    assert errors == []
