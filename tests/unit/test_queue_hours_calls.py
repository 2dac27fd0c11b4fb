"""Queue opening hours in calls: the words a caller hears, the hand-over when the IVR
fails, the call-back task of an out-of-hours call, and a scenario's ``at:``."""

from __future__ import annotations

import datetime as dt
import sqlite3
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.app import moment_clock
from ivr.domain.hours import ClosedReason, QueueHours, opening_text
from ivr.engine.context import CallContext
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.prompts.catalogue import PromptCatalogue
from ivr.sim.port import SimPort
from ivr.steps.queue_hours import OUT_OF_HOURS_FLOW, out_of_hours, spoken_opening
from ivr.steps.transfer import hand_to_open_queue
from ivr.store.calls import CallStore
from ivr.tools.scenario.model import ScenarioError, load_scenario
from tests.support import REPO, run_in_simulator

WIB = dt.timezone(dt.timedelta(hours=7))
SCENARIOS = REPO / "tests" / "scenarios"
LIBRARY = load_library(REPO / "flows", REPO / "audio", KIT)
HOURS = QueueHours.from_tables(LIBRARY.tables)

MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=WIB)
SUNDAY_19 = dt.datetime(2026, 3, 15, 19, 0, tzinfo=WIB)
IDUL_FITRI = dt.datetime(2026, 3, 21, 10, 0, tzinfo=WIB)


# --- what the caller hears --------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "zone", "heard"),
    [
        (dt.datetime(2026, 3, 16, 6, 30, tzinfo=WIB), "WIB", "hari ini pukul delapan WIB"),
        (SUNDAY_19, "WIB", "besok, hari Senin, pukul delapan WIB"),
        (SUNDAY_19, "Asia/Makassar", "besok, hari Senin, pukul sembilan WITA"),
        (SUNDAY_19, "Asia/Jayapura", "besok, hari Senin, pukul sepuluh WIT"),
        (IDUL_FITRI, "WIB", "hari Rabu, tanggal dua puluh lima Maret, pukul delapan WIB"),
        # Saturday after closing: Sunday is closed, so Monday is two days on.
        (
            dt.datetime(2026, 3, 14, 13, 0, tzinfo=WIB),
            "WIB",
            "hari Senin, tanggal enam belas Maret, pukul delapan WIB",
        ),
    ],
)
def test_the_opening_is_spoken_in_the_callers_zone(now: dt.datetime, zone: str, heard: str) -> None:
    opening = HOURS.next_opening("tambah_daya", now)
    assert opening is not None
    assert spoken_opening(opening_text(opening, zone), now) == heard


# --- the decision, on a call ------------------------------------------------------------


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[CallContext]:
    store = CallStore(tmp_path / "calls.sqlite3")

    async def silent(*_: object) -> str:
        return ""

    store.connection.execute(
        "INSERT INTO calls (id, flow, caller, started_at) VALUES ('c1', 'main', '0812', 'x')"
    )
    yield CallContext(
        call_id="c1",
        flow_name="main",
        port=SimPort(silent),
        store=store,
        flows=LIBRARY.flows,
        catalogue=PromptCatalogue({}),
        actions={},
        hand_over=KIT.hand_over,
        tables=LIBRARY.tables,
        variables={"caller": "+6281234567890", "zona": "Asia/Jakarta"},
        clock=lambda: SUNDAY_19,
    )
    store.close()


async def test_an_open_an_always_open_and_an_unlisted_queue_let_the_call_through(
    ctx: CallContext,
) -> None:
    assert await out_of_hours(ctx, "periksa") is None  # always_open
    assert await out_of_hours(ctx, "antrean_baru") is None  # not in jam_layanan.yaml
    ctx.clock = lambda: MONDAY_10
    assert await out_of_hours(ctx, "tambah_daya") is None


async def test_a_closed_queue_gives_the_offer_once(ctx: CallContext) -> None:
    offer = await out_of_hours(ctx, "umum")
    assert offer is not None
    assert offer["tutup_alasan"] == "jam"
    assert offer["tawar_telepon_balik"] == "tidak"
    assert offer["antrean_alternatif"] == "periksa"
    ctx.variables.update(offer)
    # Already offered for this queue (a flow that sends the caller back): no loop.
    assert await out_of_hours(ctx, "umum") is None


async def test_without_the_out_of_hours_flow_the_call_is_queued_as_before(ctx: CallContext) -> None:
    ctx.flows = {name: f for name, f in LIBRARY.flows.items() if name != OUT_OF_HOURS_FLOW}
    assert await out_of_hours(ctx, "tambah_daya") is None


async def test_when_the_ivr_fails_a_closed_queue_gives_way_to_its_open_alternative(
    ctx: CallContext,
) -> None:
    await hand_to_open_queue(ctx, "umum")
    assert ctx.queue == "periksa"


async def test_when_the_ivr_fails_a_closed_queue_without_alternative_still_queues(
    ctx: CallContext,
) -> None:
    await hand_to_open_queue(ctx, "tambah_daya")  # the dialplan's call-back catches it
    assert ctx.queue == "tambah_daya"


async def test_when_the_ivr_fails_in_office_hours_nothing_changes(ctx: CallContext) -> None:
    ctx.clock = lambda: MONDAY_10
    await hand_to_open_queue(ctx, "umum")
    assert ctx.queue == "umum"


async def test_the_call_back_task_carries_the_queue_and_the_screen_pop(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "di_luar_jam_tambah_daya_minggu_malam_telepon_balik.yaml")
    result = await run_in_simulator(scenario, tmp_path)
    assert result.passed, result.problems
    with sqlite3.connect(tmp_path / "calls.sqlite3") as conn:
        tasks = conn.execute("SELECT call_id, pop_id, number, queue FROM callbacks").fetchall()
        pops = conn.execute("SELECT id, queue FROM screenpops").fetchall()
    assert result.summary is not None
    call_id = result.summary.call_id
    assert tasks == [(call_id, call_id, "081234567890", "tambah_daya")]
    assert pops == [(call_id, "tambah_daya")]


# --- a scenario's at: -------------------------------------------------------------------


def test_at_needs_its_offset(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text('name: x\nat: "2026-03-15T19:00:00"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="offset"):
        load_scenario(file)
    file.write_text('name: x\nat: "2026-03-15T19:00:00+07:00"\n', encoding="utf-8")
    assert load_scenario(file).at == SUNDAY_19


def test_a_sandbox_call_runs_at_its_moment_and_the_clock_runs_on() -> None:
    ticks = iter([MONDAY_10, MONDAY_10 + dt.timedelta(seconds=5)])
    clock = moment_clock(IDUL_FITRI.isoformat(), lambda: next(ticks))
    assert clock is not None
    assert clock() == IDUL_FITRI + dt.timedelta(seconds=5)
    assert moment_clock("2026-03-21T10:00:00") is None  # no offset
    assert moment_clock("kemarin") is None


def test_every_closing_reason_has_its_prompt() -> None:
    # di_luar_jam plays "layanan_tutup_{tutup_alasan}": each reason needs its text.
    reasons = typing.get_args(ClosedReason)
    assert set(reasons) == {"jam", "libur", "cuti_bersama", "ditutup"}
    missing = [r for r in reasons if not LIBRARY.catalogue.exists(f"layanan_tutup_{r}")]
    assert missing == []
