"""The global announcement: the store (one in force, replaced and ended in one audited
transaction each), the board the call path reads (live within its poll), the port and
its guard, the action, and ``pln123 announcement set|show|end`` on a real store file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from ivr.actions import ACTIONS
from ivr.backends.announcements import EmbeddedAnnouncements
from ivr.backends.ports import Backends
from ivr.cli import announcement as announcement_cli
from ivr.cli.main import cli
from ivr.domain.announcements import check_new_announcement
from ivr.domain.outages import OutageInvalid
from ivr.store.announcements import (
    AnnouncementBoard,
    active_announcement,
    end_announcement,
    list_announcements,
    set_announcement,
)
from ivr.store.calls import connect
from ivr.store.control import ControlError, control_version, read_audit
from ivr.store.dbapi import Connection, Location, is_postgres
from ivr.store.schema import migrate

WIB = ZoneInfo("Asia/Jakarta")
#: 2025-03-01 10:00 WIB.
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=WIB).timestamp()
FLOOD = "Sehubungan dengan banjir di wilayah Jakarta Timur, petugas kami siaga."


@pytest.fixture
def db(store_location: Location) -> Location:
    path = store_location
    conn = connect(path)
    migrate(conn)
    conn.close()
    return path


@pytest.fixture
def conn(db: Location) -> Iterator[Connection]:
    opened = connect(db)
    yield opened
    opened.close()


# -- the store --------------------------------------------------------------------------


def test_set_replace_end_and_audit(conn: Connection) -> None:
    assert active_announcement(conn, T0) is None
    first = set_announcement(conn, message=FLOOD, until=T0 + 3600, actor="ops:lina", now=T0)
    assert active_announcement(conn, T0 + 1) == first
    assert control_version(conn) == 1

    second = set_announcement(conn, message="Kedua", until=T0 + 7200, actor="ops:budi", now=T0 + 60)
    current = active_announcement(conn, T0 + 61)
    assert current is not None and current.id == second.id
    replaced, latest = list_announcements(conn)[1], list_announcements(conn)[0]
    assert latest.id == second.id
    assert (replaced.ended_at, replaced.ended_by) == (T0 + 60, "ops:budi")
    audit = read_audit(conn)
    assert [(e.action, e.subject, e.actor) for e in audit] == [
        ("announcement.set", f"announcement:{second.id}", "ops:budi"),
        ("announcement.end", f"announcement:{first.id}", "ops:budi"),
        ("announcement.set", f"announcement:{first.id}", "ops:lina"),
    ]
    assert audit[1].before["ended_at"] is None and audit[1].after["ended_at"] == T0 + 60
    assert audit[2].before is None and audit[2].after["message"] == FLOOD

    ended = end_announcement(conn, "cli:rina", T0 + 120)
    assert (ended.id, ended.ended_by) == (second.id, "cli:rina")
    assert active_announcement(conn, T0 + 121) is None
    with pytest.raises(ControlError, match="no announcement is in force"):
        end_announcement(conn, "cli:rina", T0 + 130)
    assert len(read_audit(conn)) == 4


def test_it_stops_at_its_end_and_an_expired_one_is_not_ended(conn: Connection) -> None:
    set_announcement(conn, message=FLOOD, until=T0 + 60, actor="ops:lina", now=T0)
    assert active_announcement(conn, T0 + 59) is not None
    assert active_announcement(conn, T0 + 60) is None
    with pytest.raises(ControlError):
        end_announcement(conn, "ops:lina", T0 + 61)
    set_announcement(conn, message="Baru", until=T0 + 600, actor="ops:lina", now=T0 + 61)
    # The expired one is left as it was: only one in force is ended (and audited).
    assert [e.action for e in read_audit(conn)] == ["announcement.set", "announcement.set"]


def test_the_store_refuses_what_the_checks_would(conn: Connection) -> None:
    with pytest.raises(ControlError):
        set_announcement(conn, message=" ", until=T0 + 60, actor="x", now=T0)
    with pytest.raises(ControlError):
        set_announcement(conn, message=FLOOD, until=T0, actor="x", now=T0)
    assert list_announcements(conn) == [] and control_version(conn) == 0


def test_the_checks_are_the_outage_ones() -> None:
    checked = check_new_announcement(message=f"  {FLOOD} ", until="15:00", zone="WIB", now=T0)
    assert checked.message == FLOOD
    assert checked.until == datetime(2025, 3, 1, 15, 0, tzinfo=WIB).timestamp()
    for message, until, zone, option in (
        ("", "15:00", "WIB", "--message"),
        ("x" * 501, "15:00", "WIB", "--message"),
        (FLOOD, "2025-03-01 09:00", "WIB", "--until"),
        (FLOOD, "nanti", "WIB", "--until"),
        (FLOOD, "15:00", "CET", "--tz"),
    ):
        with pytest.raises(OutageInvalid) as caught:
            check_new_announcement(message=message, until=until, zone=zone, now=T0)
        assert caught.value.option == option


# -- the board, the port, the action ----------------------------------------------------


def test_the_board_sees_a_change_at_its_next_poll(conn: Connection, db: Path) -> None:
    board = AnnouncementBoard(db, poll_seconds=2.0)
    assert board.refresh(T0)
    assert board.current(T0) is None
    added = set_announcement(conn, message=FLOOD, until=T0 + 100, actor="ops:lina", now=T0)
    assert not board.refresh(T0 + 1)  # within the poll: no read at all
    assert board.current(T0 + 1) is None
    assert board.refresh(T0 + 2)
    assert board.current(T0 + 2) == added
    assert board.current(T0 + 100) is None  # its end needs no read
    end_announcement(conn, "ops:lina", T0 + 3)
    assert board.refresh(T0 + 5)
    assert board.current(T0 + 5) is None
    board.close()


def test_the_board_keeps_the_last_on_a_store_error(conn: Connection, db: Path) -> None:
    set_announcement(conn, message=FLOOD, until=T0 + 100, actor="ops:lina", now=T0)
    board = AnnouncementBoard(db, poll_seconds=0.0)
    board.refresh(T0)
    conn.execute("DROP TABLE control_version")
    assert not board.refresh(T0 + 1)
    current = board.current(T0 + 1)
    assert current is not None and current.message == FLOOD
    board.close()


async def test_the_action_sets_the_text_or_says_none(conn: Connection, db: Path) -> None:
    from ivr.backends.guarded import guarded

    board = AnnouncementBoard(db, poll_seconds=0.0)
    clock = [T0]
    port = EmbeddedAnnouncements(board, lambda: clock[0])

    class Ctx:
        def __init__(self, backends: Backends | None) -> None:
            self.backends = backends
            self.variables: dict[str, str] = {}

    class Unused:
        pass

    raw = Backends(crm=Unused(), customers=Unused(), apkt=Unused(), announcements=port)  # type: ignore[arg-type]
    backends = guarded(raw, 1.0)
    check = ACTIONS["pengumuman.cek"]
    ctx = Ctx(backends)
    assert await check(ctx, {}) == "tidak_ada"  # type: ignore[arg-type]
    assert ctx.variables == {}
    added = set_announcement(conn, message=FLOOD, until=T0 + 60, actor="ops:lina", now=T0)
    assert await check(ctx, {}) == "ada"  # type: ignore[arg-type]
    assert ctx.variables == {"pengumuman_id": str(added.id), "pengumuman_pesan": FLOOD}
    clock[0] = T0 + 60
    assert await check(Ctx(backends), {}) == "tidak_ada"  # type: ignore[arg-type]
    assert await check(Ctx(None), {}) == "tidak_ada"  # type: ignore[arg-type]
    board.close()


# -- the command line -------------------------------------------------------------------


def run(db: Location, *args: str) -> Result:
    env = {**os.environ, "PLN123_CONFIG": ""}
    env["PLN123_STORE__URL" if is_postgres(db) else "PLN123_DB_PATH"] = str(db)
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(announcement_cli, "_now", lambda: T0)


def stored(db: Location) -> list[tuple[object, ...]]:
    with closing(connect(db)) as opened:
        return opened.execute("SELECT * FROM announcements ORDER BY id").fetchall()


@pytest.mark.usefixtures("fixed_clock")
def test_cli_set_show_replace_end(db: Location) -> None:
    assert run(db, "announcement", "show").output == "no announcement\n"
    assert run(db, "announcement", "show", "--json").output == "null\n"
    result = run(db, "announcement", "set", "--message", FLOOD, "--until", "15:00", "--by", "rina")
    assert result.exit_code == 0, result.output
    assert result.output == f"announcement 1 until 2025-03-01 15:00 WIB (by rina): {FLOOD}\n"
    shown = json.loads(run(db, "announcement", "show", "--json").output)
    assert (shown["id"], shown["message"], shown["until_wib"]) == (1, FLOOD, "2025-03-01 15:00 WIB")

    result = run(
        db,
        "announcement",
        "set",
        "--message",
        "Kedua",
        "--until",
        "16:00",
        "--tz",
        "WITA",
        "--by",
        "budi",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "announcement 1 ended: replaced",
        "announcement 2 until 2025-03-01 15:00 WIB (by budi): Kedua",
    ]

    ended = run(db, "announcement", "end", "--by", "rina")
    assert ended.exit_code == 0, ended.output
    assert ended.output == "announcement 2 ended at 2025-03-01 10:00 WIB\n"
    assert run(db, "announcement", "show").output == "no announcement\n"
    audit = json.loads(run(db, "audit", "--json").output)
    assert [(e["action"], e["subject"]) for e in audit] == [
        ("announcement.end", "announcement:2"),
        ("announcement.set", "announcement:2"),
        ("announcement.end", "announcement:1"),
        ("announcement.set", "announcement:1"),
    ]


BAD = [
    (["set", "--message", "  ", "--until", "15:00"], "the message is empty"),
    (["set", "--message", "x" * 501, "--until", "15:00"], "shorten it to 500"),
    (["set", "--message", FLOOD, "--until", "2025-03-01 09:00"], "not in the future"),
    (["set", "--message", FLOOD, "--until", "besok pagi"], "is not a time"),
    (["set", "--message", FLOOD, "--until", "15:00", "--tz", "CET"], "'CET' is not one of"),
    (["set", "--message", FLOOD, "--until", "15:00", "--by", " "], "give a name"),
    (["set", "--until", "15:00"], "Missing option '--message'"),
    (["end"], "no announcement is in force"),
]


@pytest.mark.usefixtures("fixed_clock")
@pytest.mark.parametrize(("args", "says"), BAD, ids=[says for _, says in BAD])
def test_cli_bad_input_exits_2_and_stores_nothing(db: Location, args: list[str], says: str) -> None:
    result = run(db, "announcement", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and says in error_lines[0], result.stderr
    assert stored(db) == []
    opened = connect(db)
    assert read_audit(opened) == [] and control_version(opened) == 0
    opened.close()
