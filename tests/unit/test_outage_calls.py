"""Outage announcements in the call path: the port over the board and the store, the
actions, the screen-pop record and its view, how a time is read out, and how a call's
events are counted; on real SQLite files with the clock passed in."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.actions import ACTIONS
from ivr.actions import outage as outage_actions
from ivr.backends.embedded import EmbeddedDatabase
from ivr.backends.guarded import guarded
from ivr.backends.outages import EmbeddedOutages
from ivr.backends.ports import BackendError, Backends
from ivr.domain.outages import Outage, call_events, spoken_restoration
from ivr.engine.context import CallContext
from ivr.engine.journey import CallResult, call_result
from ivr.engine.pop import OutageNotice, ScreenPop
from ivr.engine.port import Outcome
from ivr.kit import KIT
from ivr.language.number_words import clock_words
from ivr.prompts.catalogue import PromptCatalogue
from ivr.screenpop.view import pop_view
from ivr.sim.port import SimPort
from ivr.steps.transfer import screenpop_data
from ivr.store import pops
from ivr.store.calls import CallStore, connect
from ivr.store.control import OutageBoard, add_outage, end_outage, outage_counts
from ivr.store.pops import Delivery
from ivr.store.schema import migrate
from ivr.tools.scenario.model import ScenarioError, load_scenario

WIB = ZoneInfo("Asia/Jakarta")
#: 2025-03-01 10:00 WIB.
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=WIB).timestamp()
#: 2025-03-01 16:30 WIB.
UNTIL = datetime(2025, 3, 1, 16, 30, tzinfo=WIB).timestamp()


def an_outage(**fields: object) -> Outage:
    values: dict[str, object] = {
        "id": 7,
        "units": ("ULP Kuta",),
        "area_codes": ("0361",),
        "message": "Gangguan gardu induk",
        "report_number": "G2503010000777",
        "starts_at": T0,
        "until": UNTIL,
        "created_by": "cli:ops",
    }
    values.update(fields)
    return Outage(**values)  # type: ignore[arg-type]


# -- reading times out --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "words"),
    [
        (16, 0, "pukul enam belas"),
        (16, 30, "pukul enam belas tiga puluh"),
        (8, 5, "pukul delapan nol lima"),
        (0, 0, "pukul nol nol"),
        (0, 45, "pukul nol nol empat puluh lima"),
        (23, 59, "pukul dua puluh tiga lima puluh sembilan"),
    ],
)
def test_clock_words(hour: int, minute: int, words: str) -> None:
    assert clock_words(hour, minute) == words


def test_clock_words_refuses_no_time() -> None:
    with pytest.raises(ValueError):
        clock_words(24, 0)


def test_spoken_restoration_in_the_callers_zone_and_day() -> None:
    outage = an_outage()
    assert spoken_restoration(outage, "Asia/Jakarta", T0) == (
        "pukul enam belas tiga puluh Waktu Indonesia Barat"
    )
    assert spoken_restoration(outage, "Asia/Makassar", T0) == (
        "pukul tujuh belas tiga puluh Waktu Indonesia Tengah"
    )
    late = an_outage(until=datetime(2025, 3, 1, 23, 30, tzinfo=WIB).timestamp())
    # 23:30 WIB is 01:30 WIT the next day.
    assert (
        spoken_restoration(late, "WIT", T0) == "besok pukul satu tiga puluh Waktu Indonesia Timur"
    )
    far = an_outage(until=datetime(2025, 3, 4, 9, 0, tzinfo=WIB).timestamp())
    assert spoken_restoration(far, "WIB", T0) == (
        "tanggal empat Maret pukul sembilan Waktu Indonesia Barat"
    )


# -- what a call did, as ops count it -------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "result", "events"),
    [
        (["heard"], "abandoned", ("heard", "hung_up")),
        (["heard"], "cso", ("heard", "cso")),
        (["heard"], None, ("heard",)),  # still in progress
        (["heard", "attached"], "contained", ("heard", "attached")),
        (["heard", "attached"], "abandoned", ("heard", "attached")),
        (["heard", "cso"], "abandoned", ("heard", "cso")),  # recorded wins
        ([], "cso", ()),  # never heard one
        (["attached", "bogus"], "cso", ("attached",)),
    ],
)
def test_call_events(recorded: list[str], result: str | None, events: tuple[str, ...]) -> None:
    assert call_events(recorded, result) == events


def test_an_attached_call_that_hangs_up_is_contained() -> None:
    variables = {outage_actions.ATTACHED_VARIABLE: "3"}
    assert call_result(Outcome.HANGUP, variables) is CallResult.CONTAINED
    assert call_result(Outcome.HANGUP, {"gangguan_didengar": "3"}) is CallResult.ABANDONED


# -- the port ---------------------------------------------------------------------------------


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def conn(store_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(store_path)
    migrate(connection)
    yield connection
    connection.close()


def add(conn: sqlite3.Connection, now: float = T0, **fields: object) -> int:
    values: dict[str, object] = {
        "units": ["ULP Kebayoran Baru"],
        "area_codes": ["021"],
        "message": "Gangguan penyulang",
        "until": now + 7200,
        "report_number": "G2503010000777",
        "actor": "cli:ops",
        "now": now,
    }
    values.update(fields)
    return add_outage(conn, **values)  # type: ignore[arg-type]


async def test_every_worker_sees_a_new_outage_within_its_poll(
    conn: sqlite3.Connection, store_path: Path
) -> None:
    """Two workers on one file, each with its own board polling every 2 s: an outage
    declared after both looked is seen by each at its next poll, never later."""
    clock = [T0]
    workers = [
        EmbeddedOutages(OutageBoard(store_path, poll_seconds=2.0), conn, lambda: clock[0])
        for _ in range(2)
    ]
    for worker in workers:
        assert await worker.covering("UP3 Bulungan", "ULP Kebayoran Baru") is None
    clock[0] = T0 + 0.5
    outage_id = add(conn, now=clock[0])
    clock[0] = T0 + 1.5  # within the poll: the last list still holds
    assert await workers[0].covering("", "ULP Kebayoran Baru") is None
    clock[0] = T0 + 2.0
    for worker in workers:
        found = await worker.covering("", "ulp  kebayoran baru")
        assert found is not None and found.id == outage_id
        by_code = await worker.covering_area_code("21")
        assert by_code is not None and by_code.id == outage_id
    end_outage(conn, outage_id, "cli:ops", T0 + 3.0)
    clock[0] = T0 + 4.0
    assert await workers[1].covering("", "ULP Kebayoran Baru") is None


async def test_the_port_records_events_once_per_call(
    conn: sqlite3.Connection, store_path: Path
) -> None:
    port = EmbeddedOutages(OutageBoard(store_path), conn, lambda: T0)
    outage_id = add(conn)
    await port.record(outage_id, "call-1", "heard")
    await port.record(outage_id, "call-1", "heard")
    await port.record(outage_id, "call-1", "attached")
    assert outage_counts(conn)[outage_id] == {"heard": 1, "attached": 1, "cso": 0, "hung_up": 0}
    with pytest.raises(BackendError, match="unknown outage event"):
        await port.record(outage_id, "call-1", "listened")


async def test_the_guarded_port_is_wired_and_names_the_failure(
    conn: sqlite3.Connection, store_path: Path
) -> None:
    database = EmbeddedDatabase(store_path, conn=conn)
    backends = guarded(database.backends(), 1.0)
    assert backends.outages is not None
    # Optional on Backends: a site without it builds its backends as before.
    assert guarded(Backends(backends.crm, backends.customers, backends.apkt), 1.0).outages is None
    conn.execute("DROP TABLE outage_events")
    with pytest.raises(BackendError, match=r"outage event \(outage 1\) failed"):
        await backends.outages.record(1, "call-1", "heard")
    database.close()


# -- the actions --------------------------------------------------------------------------


@pytest.fixture
def ctx(conn: sqlite3.Connection, store_path: Path) -> Iterator[CallContext]:
    store = CallStore(store_path)
    database = EmbeddedDatabase(store_path, conn=store.connection, outage_poll_seconds=0.0)

    async def silent(*_: object) -> str:
        return ""

    context = CallContext(
        call_id="c-outage",
        flow_name="periksa",
        port=SimPort(silent),
        store=store,
        flows={},
        catalogue=PromptCatalogue({}),
        actions=ACTIONS,
        hand_over=KIT.hand_over,
        backends=database.backends(),
        variables={"caller": "03615550123", "caller_class": "pstn", "kode_area": "0361"},
    )
    yield context
    database.close()
    store.close()


def test_the_actions_are_registered() -> None:
    assert ACTIONS["gangguan.cek"] is outage_actions.check
    assert ACTIONS["gangguan.dengar"] is outage_actions.heard
    assert ACTIONS["gangguan.lampirkan"] is outage_actions.attach


async def test_check_by_unit_sets_the_variables_in_the_callers_zone(
    ctx: CallContext, conn: sqlite3.Connection
) -> None:
    now = datetime.now(WIB).timestamp()
    outage_id = add(conn, now=now, units=["ULP Kuta", "UP3 Bali Selatan"], area_codes=[])
    ctx.variables.update({"unit": "UP3 Bali Selatan", "posko": "ULP Kuta", "zona": "Asia/Makassar"})
    assert await outage_actions.check(ctx, {"oleh": "pelanggan"}) == "ada"
    v = ctx.variables
    assert v["gangguan_id"] == str(outage_id)
    assert v["gangguan_pesan"] == "Gangguan penyulang"
    assert v["gangguan_unit"] == "ULP Kuta, UP3 Bali Selatan"
    until = datetime.fromtimestamp(now + 7200, ZoneInfo("Asia/Makassar"))
    clock = "%H:%M:%S" if until.second or until.microsecond else "%H:%M"
    assert v["gangguan_sampai"] == until.strftime(clock) + " WITA"
    assert v["gangguan_sampai_ucapan"].endswith("Waktu Indonesia Tengah")
    assert (v["gangguan_laporan"], v["gangguan_huruf"], v["gangguan_angka"]) == (
        "G2503010000777",
        "g",
        "2503010000777",
    )
    assert outage_counts(conn)[outage_id]["heard"] == 0  # looking is not hearing


async def test_check_by_area_code_only_for_a_fixed_line(
    ctx: CallContext, conn: sqlite3.Connection
) -> None:
    add(conn, now=datetime.now(WIB).timestamp(), units=["ULP Kuta"], area_codes=["0361"])
    assert await outage_actions.check(ctx, {"oleh": "kode_area"}) == "ada"
    ctx.variables.update(caller="081234567890", caller_class="mobile", kode_area="")
    ctx.variables.pop("gangguan_id")
    assert await outage_actions.check(ctx, {"oleh": "kode_area"}) == "tidak_ada"
    assert "gangguan_id" not in ctx.variables
    # Nobody found by unit: no unit, no posko.
    assert await outage_actions.check(ctx, {}) == "tidak_ada"


async def test_no_outage_port_means_never_stopped(ctx: CallContext) -> None:
    assert ctx.backends is not None
    ctx.backends = Backends(ctx.backends.crm, ctx.backends.customers, ctx.backends.apkt)
    assert await outage_actions.check(ctx, {"oleh": "kode_area"}) == "tidak_ada"


async def test_heard_then_attach_record_and_mark_the_call(
    ctx: CallContext, conn: sqlite3.Connection
) -> None:
    outage_id = add(conn, now=datetime.now(WIB).timestamp(), area_codes=["0361"])
    assert await outage_actions.check(ctx, {"oleh": "kode_area"}) == "ada"
    assert await outage_actions.heard(ctx, {}) == "ok"
    assert ctx.variables[outage_actions.HEARD_VARIABLE] == str(outage_id)
    assert await outage_actions.attach(ctx, {}) == "dilampirkan"
    assert ctx.variables[outage_actions.ATTACHED_VARIABLE] == str(outage_id)
    rows = conn.execute("SELECT event FROM outage_events WHERE call_id = 'c-outage'").fetchall()
    assert sorted(row[0] for row in rows) == ["attached", "heard"]


async def test_recording_without_an_outage_fails_toward_the_fallback(ctx: CallContext) -> None:
    with pytest.raises(BackendError, match="no outage"):
        await outage_actions.attach(ctx, {})


# -- the screen-pop ---------------------------------------------------------------------------


def test_the_pop_carries_the_outage_heard(ctx: CallContext) -> None:
    ctx.variables.update(
        {
            "gangguan_id": "7",
            "gangguan_pesan": "Gangguan gardu induk",
            "gangguan_sampai": "17:30 WITA",
            "gangguan_unit": "ULP Kuta, UP3 Bali Selatan",
            "gangguan_laporan": "G2503010000777",
        }
    )
    assert screenpop_data(ctx, "periksa").outage is None  # found, not yet played
    ctx.variables[outage_actions.HEARD_VARIABLE] = "7"
    pop = screenpop_data(ctx, "periksa")
    assert pop.outage == OutageNotice(
        id="7",
        message="Gangguan gardu induk",
        until="17:30 WITA",
        report_number="G2503010000777",
        units=("ULP Kuta", "UP3 Bali Selatan"),
    )
    stored = pop.to_stored()
    assert stored["outage"]["units"] == ["ULP Kuta", "UP3 Bali Selatan"]
    assert ScreenPop.from_stored(stored) == pop
    view = pop_view(stored, Delivery("c1", "cso1", "periksa", pops.RINGING, "", T0), "Asia/Jakarta")
    assert view["outage"]["id"] == "7"
    assert view["outage"]["message"] == "Gangguan gardu induk"
    assert view["outage"]["units"] == ["ULP Kuta", "UP3 Bali Selatan"]
    assert view["notes"] == []  # the outage has its own block on the page
    assert re.search(r"^Laporan induk APKT +: G2503010000777$", view["apkt_block"], re.M)


def test_a_pop_without_an_outage_keeps_its_stored_shape() -> None:
    pop = ScreenPop(call_id="c", flow="periksa", queue="periksa")
    assert "outage" not in pop.to_stored()
    assert ScreenPop.from_stored({**pop.to_stored(), "outage": {"message": "x"}}).outage is None


# -- scenario files ---------------------------------------------------------------------------


def test_a_scenario_outage_is_checked_like_the_command(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\noutages:\n  - units: [ULP Kuta]\n    area_codes: ['361x']\n"
        "    message: Gangguan\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="not an area code"):
        load_scenario(path)
    path.write_text("name: bad\noutages:\n  - units: []\n    message: Gangguan\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="units"):
        load_scenario(path)
