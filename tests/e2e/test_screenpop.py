"""The screen-pop end to end: a real call through Asterisk, a queue, a ringing agent,
and the pop in that agent's page in headless Chromium, and not in another's.

This module runs its own Asterisk and IVR (agents configured, the page served), so
restarting Asterisk here does not disturb the other end-to-end tests.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.store.pops import PopStore
from ivr.tools.sandbox import AsteriskSandbox
from ivr.tools.scenario.model import Scenario, load_scenario
from ivr.tools.scenario.runner import run_scenarios
from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import REPO, running_sandbox, sandbox_settings, serving
from tests.support import OFFICE_HOURS, IvrProcess

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SCENARIO = REPO / "tests" / "scenarios" / "periksa_tekan_0_setelah_idpel.yaml"
IDPEL = "532112345678"
#: Seconds a pop may take to show (the issue's target is 1 s; slack for a busy CI).
POP_TIMEOUT_MS = 10_000
TOKENS = {name: secrets.token_urlsafe(12) for name in ("cso1", "cso2", "cso3")}


@pytest.fixture(scope="module")
def pop_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two agents on queue periksa: cso1 rings first (penalty 0), cso2 only after; cso3
    alone on queue pln_mobile, with a phone that rings and is never answered."""
    tmp = tmp_path_factory.mktemp("screenpop")
    agents = {
        name: {
            "name": f"Agen {name}",
            "token": TOKENS[name],
            "interface": f"Local/{name}@pln123-test-agents/n",
            "queues": ["periksa"],
            "penalty": index,
        }
        for index, name in enumerate(("cso1", "cso2"))
    }
    agents["cso3"] = {
        "name": "Agen cso3",
        "token": TOKENS["cso3"],
        "interface": "Local/cso3@pln123-test-nojawab/n",
        "queues": ["pln_mobile"],
    }
    # Nobody serves queue "tambah_daya" here: a call there is offered a call back soon.
    return sandbox_settings(tmp, queue_max_wait=5, agents=agents)


@pytest.fixture(scope="module")
def pop_asterisk(pop_settings: Settings) -> Iterator[AsteriskSandbox]:
    yield from running_sandbox(pop_settings)


@pytest.fixture(scope="module")
def pop_ivr(pop_asterisk: AsteriskSandbox, pop_settings: Settings) -> Iterator[IvrProcess]:
    yield from serving(pop_settings, "agents are in their queues (login 1)")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def logged_in_page(browser: Browser, base: str, agent: str) -> tuple[BrowserContext, Page]:
    """A fresh browser context with ``agent`` logged in and the page's feed open."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("input[name=agent]", agent)
    await page.fill("input[name=token]", TOKENS[agent])
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/agent")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    return context, page


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def agent_pages(
    browser: Browser, pop_ivr: IvrProcess, pop_settings: Settings
) -> AsyncIterator[dict[str, Page]]:
    base = f"http://127.0.0.1:{pop_settings.web.port}"
    contexts, pages = [], {}
    for agent in TOKENS:
        context, page = await logged_in_page(browser, base, agent)
        contexts.append(context)
        pages[agent] = page
    try:
        yield pages
    finally:
        for context in contexts:
            await context.close()


async def call_to_periksa_queue(settings: Settings) -> str:
    """PERIKSA, the IDPEL, then 0: a real call that a CSO of ``periksa`` answers."""
    library = load_library(settings.flows_dir, settings.audio_dir, KIT)
    results = await run_scenarios(
        [load_scenario(SCENARIO)], "asterisk", settings, library, 90.0, until="answered"
    )
    (result,) = results
    assert result.passed, result.problems
    assert result.summary is not None and result.summary.screenpop is not None
    return str(result.summary.call_id)


async def test_pop_reaches_the_ringing_agent_only(
    agent_pages: dict[str, Page], pop_settings: Settings
) -> None:
    pop_id = await call_to_periksa_queue(pop_settings)
    cso1, cso2 = agent_pages["cso1"], agent_pages["cso2"]
    card = cso1.locator(f'#current-pop[data-pop-id="{pop_id}"]')
    await expect(card.locator('[data-field="idpel"]')).to_have_text(IDPEL, timeout=POP_TIMEOUT_MS)
    # Connected when cso1 answered; done once the test caller hung up after that.
    await expect(card).to_have_attribute(
        "data-state", re.compile("^(connected|done)$"), timeout=POP_TIMEOUT_MS
    )
    await expect(card.locator('[data-field="caller_number"]')).to_have_text("081234567890")
    await expect(card.locator('[data-field="address"]')).to_contain_text("Jl. Melati No. 12")
    await expect(card.locator('li[data-ask="idpel"]')).to_contain_text(IDPEL)
    await expect(card.locator('[data-field="wo_type"]')).to_have_text("KWH PERIKSA")
    # cso2 (penalty 1) was never rung: their page has no trace of this call.
    assert await cso2.locator(f'[data-pop-id="{pop_id}"]').count() == 0
    # The pop is stored: a reload (or a page opened later) shows it again.
    await cso1.reload()
    await expect(cso1.locator(f'#recent-pops li[data-pop-id="{pop_id}"]')).to_have_count(1)


async def test_pop_still_arrives_after_asterisk_restarts(
    agent_pages: dict[str, Page],
    pop_settings: Settings,
    pop_asterisk: AsteriskSandbox,
    pop_ivr: IvrProcess,
) -> None:
    await asyncio.to_thread(pop_asterisk.restart)
    # The watcher reconnects and puts the agents back in their queues by itself.
    await asyncio.to_thread(pop_ivr.wait_for_log, "AMI connection lost", 30)
    await asyncio.to_thread(pop_ivr.wait_for_log, "agents are in their queues (login 2)", 30)
    pop_id = await call_to_periksa_queue(pop_settings)
    card = agent_pages["cso1"].locator(f'#current-pop[data-pop-id="{pop_id}"]')
    await expect(card.locator('[data-field="idpel"]')).to_have_text(IDPEL, timeout=POP_TIMEOUT_MS)


async def test_wrong_token_is_refused(
    browser: Browser, pop_ivr: IvrProcess, pop_settings: Settings
) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        base = f"http://127.0.0.1:{pop_settings.web.port}"
        await page.goto(f"{base}/agent")
        await page.wait_for_url(f"{base}/login")
        await page.fill("input[name=agent]", "cso1")
        await page.fill("input[name=token]", "salah")
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/login?error=1")
        await expect(page.get_by_text("ID agen atau token salah.")).to_be_visible()
    finally:
        await context.close()


async def test_a_caller_who_waits_too_long_leaves_a_call_back_task(
    agent_pages: dict[str, Page], pop_settings: Settings
) -> None:
    """Queue ``tambah_daya`` has no CSO: after ``queue_max_wait`` the dialplan runs the
    call-back flow, the caller presses 1 (this number), and every page lists the task."""
    scenario = Scenario(
        name="menunggu terlalu lama, minta ditelepon balik",
        caller="0215551234",
        answers={"menu": "tambah_daya", "nik_ready": "cso", "callback_choice": "nomor_ini"},
        at=OFFICE_HOURS,
    )
    library = load_library(pop_settings.flows_dir, pop_settings.audio_dir, KIT)
    (result,) = await run_scenarios(
        [scenario], "asterisk", pop_settings, library, 60.0, until="hangup"
    )
    assert result.problems == []
    assert result.summary is not None and result.summary.flow == "panggilan_balik"
    assert result.summary.outcome == "closed"
    store = PopStore(pop_settings.db_path)
    try:
        (task,) = [t for t in store.open_callbacks() if t.number == "0215551234"]
    finally:
        store.close()
    assert task.queue == "tambah_daya" and task.pop_id
    for page in agent_pages.values():
        item = page.locator(f'#callbacks li[data-callback-id="{task.id}"]')
        await expect(item).to_contain_text("0215551234", timeout=POP_TIMEOUT_MS)


async def test_a_caller_who_hangs_up_while_the_phone_rings_marks_the_pop_abandoned(
    agent_pages: dict[str, Page], pop_settings: Settings
) -> None:
    """cso3's phone rings and nobody answers; the caller gives up: the pop, shown while
    it rang, is marked abandoned on cso3's page (QueueCallerAbandon)."""
    library = load_library(pop_settings.flows_dir, pop_settings.audio_dir, KIT)
    scenario = Scenario(
        name="menyerah saat berdering",
        caller="081234567890",
        answers={"menu": "pln_mobile", "itsm_followup": "tidak", "mobile_topic": "lainnya"},
        at=OFFICE_HOURS,
    )
    call = asyncio.create_task(
        run_scenarios([scenario], "asterisk", pop_settings, library, 60.0, until="hangup")
    )
    page = agent_pages["cso3"]
    ringing = page.locator('#current-pop[data-state="ringing"]')
    try:
        await expect(ringing).to_have_count(1, timeout=POP_TIMEOUT_MS * 3)
        pop_id = await page.locator("#current-pop").get_attribute("data-pop-id")
    finally:
        call.cancel()  # the test caller hangs up (the runner's own clean-up)
        await asyncio.wait({call})
    card = page.locator(f'#current-pop[data-pop-id="{pop_id}"]')
    await expect(card).to_have_attribute("data-state", "abandoned", timeout=POP_TIMEOUT_MS)
    await expect(card.locator('[data-field="state"]')).to_have_text("Penelepon menutup")
    for other in ("cso1", "cso2"):
        assert await agent_pages[other].locator(f'[data-pop-id="{pop_id}"]').count() == 0
