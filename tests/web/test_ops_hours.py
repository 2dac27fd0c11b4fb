"""Opening hours on the ops page, in a real browser over the real app and a real store
file (started as in ``test_ops_page.py``): an ops user closes a queue until a time
(a bad time refused, nothing stored), sees it closed, resets it to the file's hours,
and sees both changes in the audit log."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Dialog, Page, async_playwright, expect

from ivr.store.calls import connect
from ivr.store.schema import migrate
from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.web.test_ops_page import HAVE_CHROMIUM, Site, _page, ops_login, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    db = tmp_path_factory.mktemp("hours") / "calls.sqlite3"
    conn = connect(db)
    migrate(conn)
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


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, site: Site) -> AsyncIterator[Page]:
    errors: list[str] = []
    opened = await _page(browser, site.url, errors)
    yield opened
    await opened.context.close()
    assert errors == [], f"errors on the page: {errors}"


async def test_close_a_queue_see_it_closed_reset_it(page: Page, site: Site) -> None:
    await ops_login(page)
    await expect(page).to_have_url(re.compile(r"/ops$"))
    await expect(
        page.get_by_role("heading", name="Jam layanan & hari libur", exact=True)
    ).to_be_visible()
    # periksa is always open: every moment of the day, whatever the real clock says.
    row = page.locator('#hours-queues tr[data-queue="periksa"]')
    await expect(row).to_have_attribute("data-open", "true")
    await expect(page.locator('#holidays tr[data-date="2027-03-10"]')).to_have_count(1)

    umum = page.locator('#hours-queues tr[data-queue="umum"]')
    # A bad time: refused in the row, nothing stored.
    await page.get_by_label("Tutup umum sampai").fill("besok pagi")
    await page.get_by_role("button", name="Tutup umum sekarang").click()
    error = umum.locator('[role="alert"]')
    await expect(error).to_contain_text("is not a time")
    assert rows(site.db, "SELECT * FROM queue_closures") == []

    await page.get_by_label("Tutup umum sampai").fill("23:59")
    await page.get_by_label("Alasan tutup umum").fill("rapat")
    await page.get_by_role("button", name="Tutup umum sekarang").click()
    await expect(umum).to_have_attribute("data-open", "false")
    await expect(umum.locator('td[data-col="status"]')).to_contain_text("ditutup ops sampai")
    await expect(umum.locator('td[data-col="status"]')).to_contain_text("rapat")
    assert rows(site.db, "SELECT queue, reason, created_by FROM queue_closures") == [
        ("umum", "rapat", "ops:lina")
    ]
    closed = page.locator('#audit tr[data-action="hours.close"]')
    await expect(closed).to_have_count(1)
    await expect(closed.locator('td[data-col="action"]')).to_have_text("Antrean ditutup")
    await expect(closed.locator('td[data-col="subject"]')).to_have_text("queue:umum")
    await expect(closed.locator('td[data-col="changes"]')).to_contain_text("Alasan: — → rapat")

    questions: list[str] = []

    async def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Kembalikan umum ke bawaan").click()
    await expect(umum.locator('td[data-col="status"]')).not_to_contain_text("ditutup ops")
    assert questions and "jam_layanan.yaml" in questions[0]
    assert rows(site.db, "SELECT * FROM queue_closures") == []

    reset = page.locator('#audit tr[data-action="hours.reset"]')
    await expect(reset).to_have_count(1)
    await expect(reset.locator('td[data-col="actor"]')).to_have_text("ops:lina")
    await expect(reset.locator('td[data-col="action"]')).to_have_text("Jam layanan dikembalikan")
    await expect(reset.locator('td[data-col="changes"]')).to_contain_text("Alasan: rapat → —")
    await expect(page.locator("#audit tbody tr")).to_have_count(2)
