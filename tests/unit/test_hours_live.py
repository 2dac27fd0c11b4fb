"""Ops' live changes to opening hours and holidays (:mod:`ivr.store.hours`,
:mod:`ivr.domain.hours_overrides`): each change is one transaction with its audit row
and a ``control_version`` bump; a second worker's board sees it after its next poll
(time injected, no sleeps); the call path merges the files and the changes, falls back
to the files when the port fails, and a simulator call meets a queue ops closed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.backends.hours import EmbeddedHours
from ivr.backends.ports import BackendError, Backends
from ivr.domain.hours import QueueHours
from ivr.domain.hours_overrides import (
    check_closure,
    check_new_holiday,
    live_hours,
    new_schedule,
)
from ivr.domain.outages import OutageInvalid
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.steps import queue_hours
from ivr.store.calls import connect
from ivr.store.control import ControlError, control_version, read_audit
from ivr.store.dbapi import Connection, Location
from ivr.store.hours import (
    HoursBoard,
    add_holiday,
    read_overrides,
    remove_holiday,
    reset_queue,
    set_closure,
    set_schedule,
)
from ivr.store.schema import migrate
from ivr.tools.scenario.model import Scenario
from tests.support import REPO, run_in_simulator

WIB = dt.timezone(dt.timedelta(hours=7))
LIBRARY = load_library(REPO / "flows", REPO / "audio", KIT)
DEFAULTS = QueueHours.from_tables(LIBRARY.tables)
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=WIB)
T0 = MONDAY_10.timestamp()
MONDAY_13 = dt.datetime(2026, 3, 2, 13, 0, tzinfo=WIB).timestamp()


@pytest.fixture
def conn(store_location: Location) -> Iterator[Connection]:
    connection = connect(store_location)
    migrate(connection)
    yield connection
    connection.close()


def live(conn: Connection):  # type: ignore[no-untyped-def]
    return live_hours(DEFAULTS, read_overrides(conn))


def test_close_until_then_opens_as_its_hours_say(conn: Connection) -> None:
    assert live(conn).is_open("tambah_daya", MONDAY_10)
    version = control_version(conn)
    record = set_closure(
        conn, "tambah_daya", state="closed", until=MONDAY_13, reason="rapat",
        defaults=DEFAULTS, actor="rina", now=T0,
    )  # fmt: skip
    assert (record["state"], record["reason"], record["until"]) == ("closed", "rapat", MONDAY_13)
    assert control_version(conn) == version + 1
    now = live(conn)
    status = now.status("tambah_daya", MONDAY_10)
    assert (status.open, status.reason) == (False, "ditutup")
    assert status.next_opening == dt.datetime(2026, 3, 2, 13, 0, tzinfo=WIB)
    assert now.is_open("tambah_daya", MONDAY_10 + dt.timedelta(hours=3))  # over by itself
    assert now.is_open("pln_mobile", MONDAY_10)  # only that queue
    [entry] = read_audit(conn)
    assert (entry.actor, entry.action, entry.subject) == (
        "rina",
        "hours.close",
        "queue:tambah_daya",
    )
    assert entry.before["state"] is None and entry.after["state"] == "closed"


def test_set_hours_reset_and_the_audit_shows_what_moved(conn: Connection) -> None:
    saturday_13 = dt.datetime(2026, 3, 7, 13, 0, tzinfo=WIB)
    assert not live(conn).is_open("umum", saturday_13)
    schedule = new_schedule(live(conn), "umum", days={"sabtu": "08:00-14:00"})
    set_schedule(conn, "umum", schedule, defaults=DEFAULTS, actor="rina", now=T0)
    assert live(conn).is_open("umum", saturday_13)
    assert live(conn).schedule_source("umum") == "ops"
    set_closure(
        conn, "umum", state="closed", until=MONDAY_13, reason="",
        defaults=DEFAULTS, actor="rina", now=T0,
    )  # fmt: skip
    reset_queue(conn, "umum", defaults=DEFAULTS, actor="budi", now=T0 + 60)
    assert not live(conn).is_open("umum", saturday_13)
    assert live(conn).is_open("umum", MONDAY_10 + dt.timedelta(minutes=5))
    reset, _closed, changed = read_audit(conn)
    assert changed.action == "hours.set"
    assert {k for k in changed.after if changed.before[k] != changed.after[k]} == {
        "sabtu",
        "source",
    }
    assert (reset.action, reset.actor, reset.after["source"]) == ("hours.reset", "budi", "file")
    with pytest.raises(ControlError, match="no changes to reset"):
        reset_queue(conn, "umum", defaults=DEFAULTS, actor="budi", now=T0 + 60)


def test_holidays_added_and_removed(conn: Connection) -> None:
    extra = check_new_holiday(
        live(conn), date="2026-03-02", name="Cuti bersama tambahan", kind="cuti_bersama", now=T0
    )
    add_holiday(conn, extra, defaults=DEFAULTS, actor="rina", now=T0)
    status = live(conn).status("tambah_daya", MONDAY_10)
    assert (status.open, status.reason) == (False, "cuti_bersama")
    remove_holiday(conn, dt.date(2026, 3, 2), defaults=DEFAULTS, actor="rina", now=T0)
    assert live(conn).is_open("tambah_daya", MONDAY_10)
    idul_fitri = dt.date(2026, 3, 21)
    remove_holiday(conn, idul_fitri, defaults=DEFAULTS, actor="rina", now=T0)  # a file's date
    assert live(conn).calendar.on(idul_fitri) is None
    assert [e.action for e in read_audit(conn)] == ["holiday.remove"] * 2 + ["holiday.add"]
    with pytest.raises(ControlError):
        remove_holiday(conn, idul_fitri, defaults=DEFAULTS, actor="rina", now=T0)


@pytest.mark.parametrize(
    ("change", "option"),
    [
        (lambda h: new_schedule(h, "antrean_baru"), "QUEUE"),
        (lambda h: new_schedule(h, "umum", days={"senin": "17:00-08:00"}), "--day"),
        (lambda h: new_schedule(h, "umum", alternative_queue="umum"), "--alternative"),
        (lambda h: new_schedule(h, "umum", holiday_kinds=[]), "--day"),
        (
            lambda h: check_closure(
                h, "periksa", state="closed", until="13:00", zone="WIB", reason="", now=T0
            ),
            "QUEUE",
        ),
        (
            lambda h: check_closure(
                h, "umum", state="closed", until="2020-01-01 10:00", zone="WIB", reason="", now=T0
            ),
            "--until",
        ),
        (
            lambda h: check_new_holiday(
                h, date="2026-03-21", name="x", kind="cuti_bersama", now=T0
            ),
            "DATE",
        ),
        (
            lambda h: check_new_holiday(
                h, date="2026-13-01", name="x", kind="cuti_bersama", now=T0
            ),
            "DATE",
        ),
        (
            lambda h: check_new_holiday(
                h, date="2026-04-01", name=" ", kind="cuti_bersama", now=T0
            ),
            "--name",
        ),
        (
            lambda h: check_new_holiday(h, date="2026-04-01", name="x", kind="libur", now=T0),
            "--kind",
        ),
    ],
)
def test_bad_changes_name_the_option(conn: Connection, change, option: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OutageInvalid) as raised:
        change(live(conn))
    assert raised.value.option == option


def test_a_second_worker_sees_a_change_after_its_poll(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    writer = connect(path)
    migrate(writer)
    board = HoursBoard(path, poll_seconds=2.0)
    assert board.refresh(100.0) and board.overrides.closures == {}
    set_closure(
        writer, "umum", state="closed", until=MONDAY_13, reason="rapat",
        defaults=DEFAULTS, actor="rina", now=T0,
    )  # fmt: skip
    assert not board.refresh(101.0)  # within the poll interval: not even a version read
    assert "umum" not in board.overrides.closures
    assert board.refresh(102.5)
    assert board.overrides.closures["umum"].reason == "rapat"
    assert not board.refresh(105.0)  # version unchanged: nothing re-read
    board.close()
    writer.close()


class _Broken:
    async def overrides(self) -> object:
        raise BackendError("hours lookup failed: disk I/O error")


async def test_a_failing_port_falls_back_to_the_files_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = _context(tmp_path, _Broken())
    with caplog.at_level(logging.ERROR, logger="ivr.steps.queue_hours"):
        for _ in range(3):
            assert await queue_hours.out_of_hours(ctx, "tambah_daya") is None  # open Monday
    assert len([r for r in caplog.records if "cannot be read" in r.message]) == 1
    ctx.store.close()


async def test_the_call_path_sees_the_board(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    ctx = _context(tmp_path, EmbeddedHours(HoursBoard(path, poll_seconds=0.0)))
    assert await queue_hours.out_of_hours(ctx, "tambah_daya") is None
    conn = connect(path)
    set_closure(
        conn, "tambah_daya", state="closed", until=MONDAY_13, reason="rapat",
        defaults=DEFAULTS, actor="rina", now=T0,
    )  # fmt: skip
    offer = await queue_hours.out_of_hours(ctx, "tambah_daya")
    assert offer is not None
    assert (offer["tutup_alasan"], offer["buka_kembali"]) == (
        "ditutup",  # the caller hears layanan_tutup_ditutup
        "hari ini pukul tiga belas WIB",
    )
    conn.close()
    ctx.store.close()


def _context(tmp_path: Path, port: object):  # type: ignore[no-untyped-def]
    from ivr.engine.context import CallContext
    from ivr.prompts.catalogue import PromptCatalogue
    from ivr.sim.port import SimPort
    from ivr.store.calls import CallStore

    async def silent(*_: object) -> str:
        return ""

    store = CallStore(tmp_path / "calls.sqlite3")
    backends = Backends(crm=None, customers=None, apkt=None, hours=port)  # type: ignore[arg-type]
    return CallContext(
        call_id="c1",
        flow_name="main",
        port=SimPort(silent),
        store=store,
        flows=LIBRARY.flows,
        catalogue=PromptCatalogue({}),
        actions={},
        hand_over=KIT.hand_over,
        tables=LIBRARY.tables,
        backends=backends,
        variables={"caller": "+6281234567890", "zona": "Asia/Jakarta"},
        clock=lambda: MONDAY_10,
    )


# --- a whole call in the simulator -------------------------------------------------------

CALL = {
    "name": "tambah daya, Senin 10:00, ke CSO",
    "flow": "main",
    "caller": "081234567890",
    "at": MONDAY_10.isoformat(),
    "answers": {"menu": "tambah_daya", "nik_ready": "cso", "luar_jam": "selesai"},
}


def _closing(reset: bool):  # type: ignore[no-untyped-def]
    def adapt(backends: Backends) -> Backends:
        assert backends.hours is not None
        db = backends.hours.board.path  # type: ignore[attr-defined]
        conn = connect(db)
        set_closure(
            conn, "tambah_daya", state="closed", until=MONDAY_13, reason="rapat",
            defaults=DEFAULTS, actor="rina", now=T0,
        )  # fmt: skip
        if reset:
            reset_queue(conn, "tambah_daya", defaults=DEFAULTS, actor="rina", now=T0 + 1)
        conn.close()
        return backends

    return adapt


async def test_a_call_to_a_queue_ops_closed_hears_the_offer_and_after_reset_is_queued(
    tmp_path: Path,
) -> None:
    closed = Scenario.model_validate(
        {**CALL, "expect": {"outcome": "closed", "variables": {"antrean_tutup": "tambah_daya"}}}
    )
    (tmp_path / "a").mkdir()
    result = await run_in_simulator(closed, tmp_path / "a", _closing(reset=False))
    assert result.passed, result.problems
    assert "luar_jam" in result.summary.asks  # type: ignore[union-attr]

    queued = Scenario.model_validate(
        {**CALL, "expect": {"outcome": "queued", "queue": "tambah_daya"}}
    )
    (tmp_path / "b").mkdir()
    result = await run_in_simulator(queued, tmp_path / "b", _closing(reset=True))
    assert result.passed, result.problems
