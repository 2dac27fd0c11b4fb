"""The global announcement on the ops page, in a real browser over the real app and a
real store file (started as in ``test_ops_page.py``): an ops user sets it through the
"Pengumuman" form (a bad end time refused at its field, nothing stored), sees it in
force, ends it with its button, and sees both changes in the audit log.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Dialog, Page, async_playwright, expect

from ivr.domain.outages import format_time
from ivr.store.announcements import set_announcement
from ivr.store.calls import connect
from ivr.store.schema import migrate
from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.web.test_ops_page import HAVE_CHROMIUM, ZONE, Site, _page, ops_login, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")

MESSAGE = "Sehubungan dengan banjir di wilayah Jakarta Timur, petugas kami siaga di lokasi."


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    db = tmp_path_factory.mktemp("announcement") / "calls.sqlite3"
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


def in_two_hours() -> tuple[str, str]:
    """An end time as typed in the form (WIB) and as the page shows it."""
    moment = (datetime.now(ZONE) + timedelta(hours=2)).replace(second=0, microsecond=0)
    return moment.strftime("%Y-%m-%d %H:%M"), format_time(moment.timestamp())


async def test_set_see_and_end_the_announcement(page: Page, site: Site) -> None:
    await ops_login(page)
    await expect(page).to_have_url(re.compile(r"/ops$"))
    await expect(page.get_by_role("heading", name="Pengumuman", exact=True)).to_be_visible()
    await expect(page.locator("#announcement-none")).to_be_visible()
    await expect(page.locator("#announcement-current")).to_be_hidden()

    # An end time in the past: refused next to its field, nothing stored.
    await page.get_by_label("Pengumuman untuk penelepon").fill(MESSAGE)
    await page.get_by_label("Berakhir pada").fill("2020-01-01 10:00")
    await page.get_by_role("button", name="Pasang pengumuman").click()
    error = page.locator("#announcement-until-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("not in the future")
    await expect(page.locator("#announcement-until")).to_have_attribute("aria-invalid", "true")
    assert rows(site.db, "SELECT id FROM announcements") == []

    until, until_wib = in_two_hours()
    await page.get_by_label("Berakhir pada").fill(until)
    await page.get_by_role("button", name="Pasang pengumuman").click()
    await expect(page.locator("#announcement-form-done")).to_have_text(
        f"Pengumuman dipasang sampai {until_wib}."
    )
    await expect(error).to_be_hidden()
    await expect(page.locator("#announcement-message")).to_have_value("")  # the form is reset
    assert rows(site.db, "SELECT message, created_by, ended_at FROM announcements") == [
        (MESSAGE, "ops:lina", None)
    ]

    current = page.locator("#announcement-current")
    await expect(current).to_be_visible()
    await expect(current).to_have_attribute("data-announcement", "1")
    await expect(current.locator('[data-field="message"]')).to_have_text(MESSAGE)
    await expect(current.locator('[data-field="until"]')).to_have_text(until_wib)
    await expect(current.locator('[data-field="created_by"]')).to_have_text("ops:lina")
    await expect(page.locator("#announcement-none")).to_be_hidden()

    added = page.locator('#audit tr[data-action="announcement.set"]')
    await expect(added).to_have_count(1)
    await expect(added.locator('td[data-col="actor"]')).to_have_text("ops:lina")
    await expect(added.locator('td[data-col="action"]')).to_have_text("Pengumuman dipasang")
    await expect(added.locator('td[data-col="subject"]')).to_have_text("announcement:1")
    await expect(added.locator('td[data-col="changes"]')).to_contain_text(f"Pesan: {MESSAGE}")
    await expect(added.locator('td[data-col="changes"]')).to_contain_text(f"Berakhir: {until_wib}")

    questions: list[str] = []

    async def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Akhiri pengumuman").click()
    await expect(page.locator("#announcement-none")).to_be_visible()
    await expect(current).to_be_hidden()
    assert questions and questions[0].startswith("Akhiri pengumuman sekarang?")

    audit = page.locator("#audit tbody tr")
    await expect(audit).to_have_count(2)
    ended = audit.first  # newest first
    await expect(ended).to_have_attribute("data-action", "announcement.end")
    await expect(ended.locator('td[data-col="actor"]')).to_have_text("ops:lina")
    await expect(ended.locator('td[data-col="action"]')).to_have_text("Pengumuman diakhiri")
    await expect(ended.locator('td[data-col="changes"]')).to_contain_text(
        "Diakhiri oleh: — → ops:lina"
    )
    assert rows(site.db, "SELECT ended_by FROM announcements") == [("ops:lina",)]


async def test_one_set_elsewhere_shows_without_a_reload(page: Page, site: Site) -> None:
    await ops_login(page)
    await expect(page.locator("#announcement-none")).to_be_visible()
    conn = connect(site.db)  # as `pln123 announcement set` would, on another process
    now = datetime.now(ZONE).timestamp()
    added = set_announcement(conn, message="Dari CLI", until=now + 600, actor="cli:rina", now=now)
    conn.close()
    current = page.locator("#announcement-current")
    await expect(current).to_have_attribute("data-announcement", str(added.id))
    await expect(current.locator('[data-field="message"]')).to_have_text("Dari CLI")
