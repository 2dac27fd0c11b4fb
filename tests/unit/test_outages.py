"""Outage announcements: the domain rules (coverage, checks, times) and the store
(outages, events, the audit log, the control version, the call path's board), on real
SQLite files with the clock passed in."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.domain.outages import (
    ACTIVE,
    ENDED,
    EXPIRED,
    SCHEDULED,
    Outage,
    OutageInvalid,
    caller_area_code,
    check_area_codes,
    check_message,
    check_new_outage,
    check_report_number,
    check_units,
    format_time,
    parse_until,
    restoration_time,
    zone_id,
)
from ivr.store.calls import connect
from ivr.store.control import (
    ControlError,
    OutageBoard,
    active_outages,
    add_outage,
    control_version,
    end_outage,
    list_outages,
    outage_counts,
    read_audit,
    record_audit,
    record_outage_event,
    transaction,
)
from ivr.store.dbapi import Connection, Location
from ivr.store.schema import migrate

WIB = ZoneInfo("Asia/Jakarta")
#: 2025-03-01 10:00 WIB.
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=WIB).timestamp()
#: 2025-03-01 15:00 WIB.
T15 = datetime(2025, 3, 1, 15, 0, tzinfo=WIB).timestamp()
KNOWN = ["UP3 Bulungan", "ULP Kebayoran Baru", "UP3 Bali Selatan", "ULP Kuta", "UP3 Jayapura"]


def outage(**fields: object) -> Outage:
    values: dict[str, object] = {
        "id": 1,
        "units": ("UP3 Bulungan",),
        "area_codes": ("021",),
        "message": "Gangguan penyulang",
        "report_number": "",
        "starts_at": T0,
        "until": T15,
        "created_by": "cli:ops",
    }
    values.update(fields)
    return Outage(**values)  # type: ignore[arg-type]


@pytest.fixture
def conn(store_location: Location) -> Iterator[Connection]:
    connection = connect(store_location)
    migrate(connection)
    yield connection
    connection.close()


def add(conn: Connection, now: float = T0, **fields: object) -> int:
    values: dict[str, object] = {
        "units": ["UP3 Bulungan"],
        "area_codes": ["021"],
        "message": "Gangguan penyulang Kebayoran",
        "until": T15,
        "actor": "cli:ops",
        "now": now,
    }
    values.update(fields)
    return add_outage(conn, **values)  # type: ignore[arg-type]


# -- domain: coverage -------------------------------------------------------------------


def test_covers_by_unit_or_posko_ignoring_case_and_spaces() -> None:
    o = outage(units=("UP3 Bulungan", "ULP Kuta"))
    assert o.covers("up3  bulungan", "ULP Kebayoran Baru")
    assert o.covers("UP3 Bali Selatan", " ulp KUTA ")
    assert not o.covers("UP3 Bali Selatan", "ULP Sanur")
    assert not o.covers("", "")


def test_covers_area_code_with_or_without_its_zero() -> None:
    o = outage(area_codes=("021", "0361"))
    assert o.covers_area_code("021") and o.covers_area_code("21") and o.covers_area_code("0361")
    assert not o.covers_area_code("022") and not o.covers_area_code("")


def test_caller_area_code_only_for_fixed_lines() -> None:
    assert caller_area_code("+62 21 5551234") == "021"
    assert caller_area_code("0361 234567") == "0361"
    assert caller_area_code("081234567890") == ""  # a mobile says nothing of a place
    assert caller_area_code("anonymous") == ""


def test_status_over_time() -> None:
    o = outage()
    assert o.status(T0 - 1) == SCHEDULED and not o.is_active(T0 - 1)
    assert o.status(T0) == ACTIVE and o.is_active(T0)
    assert o.status(T15) == EXPIRED and not o.is_active(T15)
    ended = outage(ended_at=T0 + 60, ended_by="cli:ops")
    assert ended.status(T0 + 120) == ENDED and not ended.is_active(T0 + 120)


# -- domain: times ------------------------------------------------------------------------


def test_restoration_time_in_each_zone() -> None:
    o = outage()  # until 15:00 WIB
    assert restoration_time(o, "WIB") == "15:00 WIB"
    assert restoration_time(o, "Asia/Makassar") == "16:00 WITA"
    assert restoration_time(o, "wit") == "17:00 WIT"
    assert format_time(T15) == "2025-03-01 15:00 WIB"
    assert format_time(T15, "WITA") == "2025-03-01 16:00 WITA"
    assert format_time(T15 + 20) == "2025-03-01 15:00:20 WIB"  # exact: seconds when set


def test_zone_id_refuses_other_zones() -> None:
    assert zone_id("WITA") == "Asia/Makassar" and zone_id("Asia/Jayapura") == "Asia/Jayapura"
    with pytest.raises(OutageInvalid, match="WIB, WITA or WIT"):
        zone_id("UTC")


def test_parse_until_forms() -> None:
    assert parse_until("15:00", "WIB", T0) == T15
    assert parse_until("16:00", "WITA", T0) == T15
    assert parse_until("2025-03-01 15:00", "WIB", T0) == T15
    assert parse_until("2025-03-01T17:00", "WIT", T0) == T15
    assert parse_until("2025-03-01T08:00+00:00", "WITA", T0) == T15  # the offset wins
    # HH:MM that has passed today is tomorrow's
    assert parse_until("09:30", "WIB", T0) == datetime(2025, 3, 2, 9, 30, tzinfo=WIB).timestamp()
    assert parse_until("10:00", "WIB", T0) == T0 + 86400  # not "now"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("besok", "is not a time"),
        ("25:00", "is not a time of day"),
        ("2025-03-01", "has no time of day"),
        ("2025-03-01 09:00", "is not in the future"),
        ("2025-03-01T10:00+07:00", "is not in the future"),
    ],
)
def test_parse_until_refuses(text: str, message: str) -> None:
    with pytest.raises(OutageInvalid, match=message) as raised:
        parse_until(text, "WIB", T0)
    assert raised.value.option == "--until"


# -- domain: checks -----------------------------------------------------------------------


def test_check_units_spells_as_the_records_and_dedups() -> None:
    assert check_units(["up3 bulungan", "ULP  Kuta", "UP3 BULUNGAN"], KNOWN) == (
        "UP3 Bulungan",
        "ULP Kuta",
    )


def test_check_units_names_the_unknown_and_the_closest() -> None:
    with pytest.raises(OutageInvalid) as raised:
        check_units(["UP3 Bulungn"], KNOWN)
    text = str(raised.value)
    assert raised.value.option == "--unit"
    assert "'UP3 Bulungn'" in text
    assert text.split("closest known: ")[1].split(", ")[0] == "UP3 Bulungan"


def test_check_units_suggests_at_most_ten() -> None:
    many = [f"ULP Nomor {i}" for i in range(30)]
    with pytest.raises(OutageInvalid) as raised:
        check_units(["ULP Nomor"], many)
    assert len(str(raised.value).split("closest known: ")[1].split(", ")) == 10


def test_check_units_needs_one_and_known_names() -> None:
    with pytest.raises(OutageInvalid, match="at least one"):
        check_units([], KNOWN)
    with pytest.raises(OutageInvalid, match="load the customer data"):
        check_units(["UP3 Bulungan"], [])


@pytest.mark.parametrize("code", ["21", "0", "02155", "0a1", "+6221", ""])
def test_check_area_codes_refuses(code: str) -> None:
    with pytest.raises(OutageInvalid, match="not an area code"):
        check_area_codes([code])


def test_check_area_codes_accepts() -> None:
    assert check_area_codes(["021", "0361", "021", "04"]) == ("021", "0361", "04")


def test_check_message_and_report() -> None:
    assert check_message("  Gangguan  ") == "Gangguan"
    assert check_message("x" * 500) == "x" * 500
    with pytest.raises(OutageInvalid, match="empty"):
        check_message("   ")
    with pytest.raises(OutageInvalid, match="501 characters"):
        check_message("x" * 501)
    assert check_report_number("g9925030100001") == "G9925030100001"
    assert check_report_number("") == ""
    for bad in ("G-123", "x" * 31):
        with pytest.raises(OutageInvalid, match="not a report number"):
            check_report_number(bad)


def test_check_new_outage_whole() -> None:
    new = check_new_outage(
        units=["up3 bulungan"],
        area_codes=["021"],
        message=" Gangguan ",
        until="16:00",
        zone="WITA",
        report_number="G99",
        known_units=KNOWN,
        now=T0,
    )
    assert (new.units, new.area_codes, new.message, new.report_number, new.until) == (
        ("UP3 Bulungan",),
        ("021",),
        "Gangguan",
        "G99",
        T15,
    )


# -- store --------------------------------------------------------------------------------


def test_add_list_end_round_trip_with_audit(conn: Connection) -> None:
    assert control_version(conn) == 0
    first = add(conn, report_number="G99")
    assert control_version(conn) == 1
    [stored] = list_outages(conn)
    assert stored == Outage(
        id=first,
        units=("UP3 Bulungan",),
        area_codes=("021",),
        message="Gangguan penyulang Kebayoran",
        report_number="G99",
        starts_at=T0,
        until=T15,
        created_by="cli:ops",
    )
    ended = end_outage(conn, first, "cli:spv", T0 + 600)
    assert (ended.ended_at, ended.ended_by) == (T0 + 600, "cli:spv")
    assert control_version(conn) == 2
    assert list_outages(conn, include_ended=False) == []
    assert list_outages(conn) == [ended]

    end_row, add_row = read_audit(conn)  # newest first
    assert (add_row.action, add_row.actor, add_row.subject, add_row.at) == (
        "outage.add",
        "cli:ops",
        f"outage:{first}",
        T0,
    )
    assert add_row.before is None and add_row.after == stored.as_json()
    assert (end_row.action, end_row.actor, end_row.at) == ("outage.end", "cli:spv", T0 + 600)
    assert end_row.before == stored.as_json()
    assert end_row.after == {**stored.as_json(), "ended_at": T0 + 600, "ended_by": "cli:spv"}
    assert read_audit(conn, since=T0 + 1) == [end_row]
    assert read_audit(conn, limit=1) == [end_row]


def test_end_refuses_unknown_ended_and_expired(conn: Connection) -> None:
    first = add(conn)
    with pytest.raises(ControlError, match="no outage 99"):
        end_outage(conn, 99, "cli:ops", T0)
    end_outage(conn, first, "cli:ops", T0 + 60)
    with pytest.raises(ControlError, match=r"already ended at 2025-03-01 10:01 WIB by cli:ops"):
        end_outage(conn, first, "cli:ops", T0 + 120)
    second = add(conn)
    with pytest.raises(ControlError, match=r"already expired at 2025-03-01 15:00 WIB"):
        end_outage(conn, second, "cli:ops", T15)
    assert control_version(conn) == 3  # two adds and one end; refusals change nothing
    assert len(read_audit(conn)) == 3
    assert not conn.in_transaction


def test_active_outages(conn: Connection) -> None:
    now_on = add(conn)
    later = add(conn, starts_at=T0 + 3600)
    ended = add(conn)
    end_outage(conn, ended, "cli:ops", T0 + 1)
    short = add(conn, until=T0 + 60)
    assert [o.id for o in active_outages(conn, T0 + 10)] == [short, now_on]
    assert [o.id for o in active_outages(conn, T0 + 60)] == [now_on]
    assert [o.id for o in active_outages(conn, T0 + 60, upcoming=True)] == [later, now_on]
    assert [o.id for o in active_outages(conn, T15)] == []


def test_add_refuses_no_unit_or_until_before_start(conn: Connection) -> None:
    with pytest.raises(ControlError):
        add(conn, units=[])
    with pytest.raises(ControlError):
        add(conn, until=T0)
    assert list_outages(conn) == [] and control_version(conn) == 0


def test_outage_counts_once_per_call_and_zeros(conn: Connection) -> None:
    first, second, quiet = add(conn), add(conn), add(conn)
    assert record_outage_event(conn, first, "call-1", "heard", T0)
    assert not record_outage_event(conn, first, "call-1", "heard", T0 + 5)  # once per call
    record_outage_event(conn, first, "call-1", "attached", T0 + 6)
    record_outage_event(conn, first, "call-2", "heard", T0 + 7)
    record_outage_event(conn, first, "call-2", "cso", T0 + 8)
    record_outage_event(conn, second, "call-3", "heard", T0 + 9)
    record_outage_event(conn, second, "call-3", "hung_up", T0 + 10)
    counts = outage_counts(conn)
    assert counts == {
        first: {"heard": 2, "attached": 1, "cso": 1, "hung_up": 0},
        second: {"heard": 1, "attached": 0, "cso": 0, "hung_up": 1},
        quiet: {"heard": 0, "attached": 0, "cso": 0, "hung_up": 0},
    }
    assert outage_counts(conn, [second]) == {second: counts[second]}
    assert outage_counts(conn, []) == {}
    with pytest.raises(ControlError, match="unknown outage event"):
        record_outage_event(conn, first, "call-1", "listened", T0)
    assert control_version(conn) == 3  # events are no control change


def test_record_audit_alone_and_inside_a_change(conn: Connection) -> None:
    record_audit(conn, "cli:ops", "hours.set", "hours:umum", None, {"open": "07:00"}, T0)
    assert control_version(conn) == 1
    with pytest.raises(RuntimeError), transaction(conn):
        record_audit(conn, "cli:ops", "holiday.add", "holiday:2025-03-31", None, {"a": 1}, T0)
        raise RuntimeError("the change failed")
    assert control_version(conn) == 1  # rolled back with the change
    [entry] = read_audit(conn)
    assert (entry.action, entry.before, entry.after) == ("hours.set", None, {"open": "07:00"})


def test_audit_holds_no_phone_number(conn: Connection) -> None:
    first = add(conn)
    record_outage_event(conn, first, "call-1", "heard", T0)
    end_outage(conn, first, "cli:ops", T0 + 1)
    dump = "\n".join(str(entry.as_json()) for entry in read_audit(conn))
    assert not re.search(r"(?<![0-9.])08[1-9][0-9]{7,10}", dump)  # no mobile number
    assert "call-1" not in dump  # what callers did is counted apart from the log


# -- the call path's board ----------------------------------------------------------------


@pytest.fixture
def store_path(store_location: Location, conn: Connection) -> Location:
    return store_location


def test_board_sees_a_new_outage_after_refresh(conn: Connection, store_path: Location) -> None:
    board = OutageBoard(store_path, poll_seconds=2.0)
    assert board.refresh(T0)
    assert board.covering("UP3 Bulungan", "", T0) is None
    first = add(conn, units=["UP3 Bulungan", "ULP Kuta"], area_codes=["021", "0361"])
    assert not board.refresh(T0 + 1)  # within the poll interval: not even the version read
    assert board.covering("UP3 Bulungan", "", T0 + 1) is None
    assert board.refresh(T0 + 2)
    found = board.covering("up3 bulungan", "ULP Kebayoran Baru", T0 + 2)
    assert found is not None and found.id == first
    by_posko = board.covering("UP3 Bali Selatan", " ulp  kuta", T0 + 2)
    assert by_posko is not None and by_posko.id == first
    assert board.covering("UP3 Jayapura", "ULP Abepura", T0 + 2) is None
    by_code = board.covering_area_code(caller_area_code("(0361) 234567"), T0 + 2)
    assert by_code is not None and by_code.id == first
    assert board.covering_area_code("21", T0 + 2) is not None
    assert board.covering_area_code("022", T0 + 2) is None
    assert not board.refresh(T0 + 4)  # version unchanged: no re-read
    board.close()


def test_board_ignores_ended_and_expired(conn: Connection, store_path: Location) -> None:
    board = OutageBoard(store_path, poll_seconds=0.0)
    long = add(conn, units=["UP3 Bulungan"], area_codes=[])
    add(conn, units=["ULP Kuta"], area_codes=["0361"], until=T0 + 20)
    board.refresh(T0)
    assert board.covering("", "ULP Kuta", T0 + 19) is not None
    assert board.covering_area_code("0361", T0 + 19) is not None
    # expiry is applied in memory, without a re-read
    assert not board.refresh(T0 + 20)
    assert board.covering("", "ULP Kuta", T0 + 20) is None
    assert board.covering_area_code("0361", T0 + 20) is None
    end_outage(conn, long, "cli:ops", T0 + 100)
    assert board.covering("UP3 Bulungan", "", T0 + 100) is not None  # not yet refreshed
    assert board.refresh(T0 + 100)
    assert board.covering("UP3 Bulungan", "", T0 + 100) is None
    board.close()


def test_board_prefers_the_newest_and_picks_up_a_scheduled_one(
    conn: Connection, store_path: Location
) -> None:
    old = add(conn, units=["UP3 Bulungan"])
    new = add(conn, units=["ULP Kebayoran Baru"])
    later = add(conn, units=["UP3 Jayapura"], starts_at=T0 + 600)
    board = OutageBoard(store_path, poll_seconds=0.0)
    board.refresh(T0)
    found = board.covering("UP3 Bulungan", "ULP Kebayoran Baru", T0)
    assert found is not None and found.id == new and new > old
    assert board.covering("UP3 Jayapura", "", T0) is None
    scheduled = board.covering("UP3 Jayapura", "", T0 + 600)
    assert scheduled is not None and scheduled.id == later
    board.close()


def test_board_rereads_every_thirty_seconds(conn: Connection, store_path: Location) -> None:
    board = OutageBoard(store_path, poll_seconds=0.0, reread_seconds=30.0)
    assert board.refresh(T0)
    assert not board.refresh(T0 + 29)
    assert board.refresh(T0 + 30)


def test_board_keeps_the_last_list_on_a_store_error(
    conn: Connection, store_path: Location, caplog: pytest.LogCaptureFixture
) -> None:
    add(conn)
    board = OutageBoard(store_path, poll_seconds=0.0)
    board.refresh(T0)
    conn.execute("DROP TABLE control_version")  # the store breaks
    with caplog.at_level(logging.ERROR, logger="ivr.store.control"):
        assert not board.refresh(T0 + 1)
        assert not board.refresh(T0 + 2)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1  # logged once
    assert board.covering("UP3 Bulungan", "", T0 + 2) is not None
    board.close()


def test_board_on_a_missing_folder_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    board = OutageBoard(blocker / "store.sqlite3", poll_seconds=0.0)
    assert not board.refresh(T0)
    assert board.covering("UP3 Bulungan", "", T0) is None
    assert board.covering_area_code("021", T0) is None
