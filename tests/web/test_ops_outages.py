"""Outages and the audit log on the ops page, in a real browser over the real app and a
real store file (started as in ``test_ops_page.py``): an ops user declares an outage
through the form, sees it and what callers did, ends it with its button, and sees both
changes in the audit log; a bad field is refused next to the field, nothing stored.
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
from ivr.store.calls import connect
from ivr.store.control import record_outage_event
from ivr.store.schema import migrate
from ivr.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.web.test_ops_page import HAVE_CHROMIUM, ZONE, Site, _page, ops_login, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Customer records: the units the form suggests. Their IDPELs must never show.
CUSTOMERS = [
    ("512345678901", "UP3 Bulungan", "ULP Kebayoran Baru"),
    ("512345678902", "UP3 Bulungan", "ULP Cipete"),
    ("512345678903", "UP3 Bali Selatan", "ULP Kuta"),
]
MESSAGE = "Gangguan penyulang Kebayoran, petugas sedang menuju lokasi."


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    db = tmp_path_factory.mktemp("outages") / "calls.sqlite3"
    conn = connect(db)
    migrate(conn)
    conn.executemany(
        "INSERT INTO customers (idpel, name, unit, posko) VALUES (?, 'Pelanggan', ?, ?)", CUSTOMERS
    )
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


def in_three_hours() -> tuple[str, str]:
    """A restoration time as typed in the form (WIB) and as the page shows it."""
    moment = (datetime.now(ZONE) + timedelta(hours=3)).replace(second=0, microsecond=0)
    return moment.strftime("%Y-%m-%d %H:%M"), format_time(moment.timestamp())


async def test_declare_see_and_end_an_outage(page: Page, site: Site) -> None:
    await ops_login(page)
    await expect(page).to_have_url(re.compile(r"/ops$"))
    await expect(page.get_by_role("heading", name="Gangguan meluas")).to_be_visible()
    await expect(page.locator("#known-units option")).to_have_count(5)
    await expect(page.locator("#outages-empty")).to_be_visible()

    # Two units: one typed as the field's suggestion would be, one added with Enter.
    await page.get_by_label("Unit (UP3) atau posko (ULP)").fill("up3 bulungan")
    await page.get_by_role("button", name="Tambah unit").click()
    await page.get_by_label("Unit (UP3) atau posko (ULP)").fill("ULP Kuta")
    await page.get_by_label("Unit (UP3) atau posko (ULP)").press("Enter")
    await expect(page.locator("#outage-unit-list li")).to_have_count(2)
    await page.get_by_label("Kode area telepon rumah (opsional)").fill("021")
    until, until_wib = in_three_hours()
    await page.get_by_label("Perkiraan nyala kembali").fill(until)
    await page.get_by_label("Nomor laporan induk APKT (opsional)").fill("G9925030100001")

    # The message is left empty: refused next to its field, nothing stored.
    await page.get_by_role("button", name="Umumkan").click()
    error = page.locator("#outage-message-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("the message is empty")
    await expect(page.locator("#outage-message")).to_have_attribute("aria-invalid", "true")
    assert rows(site.db, "SELECT id FROM outages") == []

    await page.get_by_label("Pesan untuk penelepon").fill(MESSAGE)
    await page.get_by_role("button", name="Umumkan").click()
    await expect(page.locator("#outage-form-done")).to_have_text(
        f"Gangguan no. 1 diumumkan sampai {until_wib}."
    )
    await expect(error).to_be_hidden()
    await expect(page.locator("#outage-unit-list li")).to_have_count(0)  # the form is reset
    assert rows(site.db, "SELECT units, created_by FROM outages") == [
        ('["UP3 Bulungan", "ULP Kuta"]', "ops:lina")
    ]

    row = page.locator('#outages tr[data-outage="1"]')
    await expect(row).to_have_attribute("data-status", "active")
    await expect(row.locator('td[data-col="units"]')).to_have_text(
        "UP3 Bulungan, ULP Kuta (kode area 021)"
    )
    await expect(row.locator('td[data-col="message"]')).to_have_text(MESSAGE)
    await expect(row.locator('td[data-col="until"]')).to_have_text(until_wib)
    await expect(row.locator('td[data-col="status"]')).to_have_text("Aktif")
    await expect(row.locator('td[data-col="heard"]')).to_have_text("0")

    # What callers do after hearing it shows without a reload.
    conn = connect(site.db)
    now = datetime.now(ZONE).timestamp()
    record_outage_event(conn, 1, "c1", "heard", now)
    record_outage_event(conn, 1, "c2", "heard", now)
    record_outage_event(conn, 1, "c1", "attached", now)
    conn.close()
    await expect(row.locator('td[data-col="heard"]')).to_have_text("2")
    await expect(row.locator('td[data-col="attached"]')).to_have_text("1")
    await expect(row.locator('td[data-col="cso"]')).to_have_text("0")

    added = page.locator('#audit tr[data-action="outage.add"]')
    await expect(added).to_have_count(1)
    await expect(added.locator('td[data-col="actor"]')).to_have_text("ops:lina")
    await expect(added.locator('td[data-col="action"]')).to_have_text("Gangguan diumumkan")
    await expect(added.locator('td[data-col="subject"]')).to_have_text("outage:1")
    await expect(added.locator('td[data-col="changes"]')).to_contain_text(
        f"Nyala kembali: {until_wib}"
    )

    questions: list[str] = []

    async def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Akhiri gangguan no. 1").click()
    await expect(row).to_have_attribute("data-status", "ended")
    await expect(row.locator('td[data-col="status"]')).to_contain_text("Diakhiri")
    await expect(row.locator('td[data-col="status"]')).to_contain_text("oleh ops:lina")
    await expect(row.get_by_role("button")).to_have_count(0)
    assert questions and questions[0].startswith("Akhiri gangguan no. 1 sekarang?")

    audit = page.locator("#audit tbody tr")
    await expect(audit).to_have_count(2)
    ended = audit.first  # newest first
    await expect(ended).to_have_attribute("data-action", "outage.end")
    await expect(ended.locator('td[data-col="actor"]')).to_have_text("ops:lina")
    await expect(ended.locator('td[data-col="action"]')).to_have_text("Gangguan diakhiri")
    await expect(ended.locator('td[data-col="changes"]')).to_contain_text(
        "Diakhiri oleh: — → ops:lina"
    )
    assert rows(site.db, "SELECT ended_by FROM outages") == [("ops:lina",)]

    html = await page.content()
    for idpel, _unit, _posko in CUSTOMERS:
        assert idpel not in html


async def test_an_unknown_unit_is_refused_at_its_field(page: Page, site: Site) -> None:
    before = rows(site.db, "SELECT COUNT(*) FROM outages")
    await ops_login(page)
    await page.get_by_label("Unit (UP3) atau posko (ULP)").fill("UP3 Bulungn")
    await page.get_by_label("Pesan untuk penelepon").fill(MESSAGE)
    await page.get_by_label("Perkiraan nyala kembali").fill(in_three_hours()[0])
    await page.get_by_role("button", name="Umumkan").click()
    error = page.locator("#outage-units-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("no unit or posko named 'UP3 Bulungn'")
    await expect(error).to_contain_text("UP3 Bulungan")  # the closest known name
    await expect(page.locator("#outage-unit")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#outage-form-done")).to_have_text("")
    assert rows(site.db, "SELECT COUNT(*) FROM outages") == before
