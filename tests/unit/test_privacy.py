"""Personal data (UU 27/2022): retention erases exactly what is older than N days and
keeps ``compute_stats`` identical; one person is found by every phone format and by
IDPEL, and erased everywhere but master data."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.config import PrivacySettings, Settings
from ivr.ops.stats import compute_stats, stamp
from ivr.privacy.person import Person, SelectorError, erase_person, export_person, phone_key
from ivr.privacy.retention import BATCH_PAUSE, ERASED, RetentionSweeper, erase_expired
from ivr.store.calls import connect
from ivr.store.control import read_audit
from ivr.store.dbapi import Connection, Location
from ivr.store.schema import migrate
from tests.flows.test_journeys import fill_known_store

DAY = 86400.0
#: Now, for every test: 2026-03-02 03:00 UTC.
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def conn(store_location: Location) -> Iterator[Connection]:
    """Each store in turn: retention and erasure run the same on both."""
    connection = connect(store_location)
    migrate(connection)
    yield connection
    connection.close()


def add_call(
    conn: Connection,
    call_id: str,
    at: float,
    *,
    caller: str = "081234567890",
    idpel: str = "532112345678",
    result: str | None = "cso",
    full: bool = True,
) -> None:
    """A call at epoch ``at``, with (``full``) one of every record the IVR keeps for it."""
    started = stamp(datetime.fromtimestamp(at, UTC))
    conn.execute(
        "INSERT INTO calls (id, flow, caller, channel, uniqueid, started_at, ended_at, outcome,"
        " path, asks, variables, result, cso_reason, idpel, seconds)"
        " VALUES (?, 'main', ?, ?, '1733412345.42', ?, ?, 'queued', '[\"menu\"]', '[\"menu\"]',"
        " ?, ?, '', ?, 12.5)",
        (
            call_id,
            caller,
            f"PJSIP/trunk-{caller}",
            started,
            started,
            json.dumps({"caller": caller, "nama": "Budi Santoso"}),
            result,
            idpel,
        ),
    )
    if not full:
        return
    conn.executemany(
        "INSERT INTO answers (call_id, seq, node, ask, value, via, at) VALUES (?, ?, ?, ?, ?,"
        " 'dtmf', ?)",
        [
            (call_id, 0, "menu", "menu", "periksa", started),
            (call_id, 1, "idpel", "idpel", idpel, started),
        ],
    )
    conn.execute(
        "INSERT INTO screenpops (id, call_id, queue, data, created_at) VALUES (?, ?, 'umum', ?, ?)",
        (call_id, call_id, json.dumps({"caller": caller, "nama": "Budi", "idpel": idpel}), started),
    )
    conn.execute(
        "INSERT INTO pop_deliveries (pop_id, agent, queue, caller, state, rang_at, updated_at)"
        " VALUES (?, 'cso1', 'umum', ?, 'taken', ?, ?)",
        (call_id, caller, at, at),
    )
    conn.execute(
        "INSERT INTO callbacks (call_id, pop_id, number, queue, requested_at)"
        " VALUES (?, ?, ?, 'umum', ?)",
        (call_id, call_id, caller, at),
    )
    conn.execute(
        "INSERT INTO reports (number, call_id, wo_type, problem_text, fields, created_at, idpel,"
        " caller_number, mobile_number) VALUES (?, ?, 'KWH PERIKSA', 'Pak Budi di rumah',"
        " ?, ?, ?, ?, ?)",
        (
            f"G{call_id}",
            call_id,
            json.dumps({"reporter_name": "Budi"}),
            started,
            idpel,
            phone_key(caller),
            phone_key(caller),
        ),
    )
    conn.execute(
        "INSERT INTO apkt_issues (call_id, issue_type, sub_issue_type, description,"
        " caller_number, idpel, created_at) VALUES (?, 'I', 'S', 'Budi 0812', ?, ?, ?)",
        (call_id, phone_key(caller), idpel, started),
    )
    cursor = conn.execute(
        "INSERT INTO itsm_tickets (call_id, status, summary, description, caller_number,"
        " fields, created_at) VALUES (?, 'Logged', 'Login', 'Nama: Budi', ?, '{\"a\": 1}', ?)"
        " RETURNING number",
        (call_id, phone_key(caller), started),
    )
    (ticket,) = cursor.fetchone()
    conn.execute(
        "INSERT INTO itsm_activity (ticket, call_id, event, note, created_at)"
        " VALUES (?, ?, 'catatan', 'hubungi 0812', ?)",
        (ticket, call_id, started),
    )
    conn.execute(
        "INSERT INTO ap2t_registrations (number, call_id, idpel, target_power_va, fields,"
        " created_at, valid_until) VALUES (?, ?, ?, 2200, '{\"x\": 1}', ?, '2026-12-31')",
        (f"R{call_id}", call_id, idpel, started),
    )


def personal(conn: Connection, call_id: str) -> dict[str, object]:
    """What the store holds of one call that is personal."""
    return {
        "call": conn.execute(
            "SELECT caller, channel, variables, erased_at IS NOT NULL FROM calls WHERE id = ?",
            (call_id,),
        ).fetchone(),
        "answers": [
            v
            for (v,) in conn.execute(
                "SELECT value FROM answers WHERE call_id = ? ORDER BY seq", (call_id,)
            )
        ],
        "pop": conn.execute("SELECT data FROM screenpops WHERE id = ?", (call_id,)).fetchone(),
        "delivery": conn.execute(
            "SELECT caller FROM pop_deliveries WHERE pop_id = ?", (call_id,)
        ).fetchone(),
        "callback": conn.execute(
            "SELECT number FROM callbacks WHERE call_id = ?", (call_id,)
        ).fetchone(),
        "report": conn.execute(
            "SELECT idpel, caller_number, mobile_number, fields, problem_text FROM reports"
            " WHERE call_id = ?",
            (call_id,),
        ).fetchone(),
        "issue": conn.execute(
            "SELECT description, caller_number, idpel FROM apkt_issues WHERE call_id = ?",
            (call_id,),
        ).fetchone(),
        "ticket": conn.execute(
            "SELECT description, caller_number, fields FROM itsm_tickets WHERE call_id = ?",
            (call_id,),
        ).fetchone(),
        "note": conn.execute(
            "SELECT note FROM itsm_activity WHERE call_id = ?", (call_id,)
        ).fetchone(),
        "registration": conn.execute(
            "SELECT idpel, fields FROM ap2t_registrations WHERE call_id = ?", (call_id,)
        ).fetchone(),
    }


ERASED_CALL = {
    "call": ("", "", "{}", 1),
    "answers": [ERASED, ERASED],
    "pop": ("{}",),
    "delivery": ("",),
    "callback": ("",),
    "report": ("", "", "", "{}", ERASED),
    "issue": (ERASED, "", ""),
    "ticket": (ERASED, "", "{}"),
    "note": (ERASED,),
    "registration": ("", "{}"),
}

# -- retention -----------------------------------------------------------------------------


def test_retention_erases_exactly_what_is_older(conn: Connection) -> None:
    add_call(conn, "old", NOW - 30 * DAY - 1)
    add_call(conn, "new", NOW - 30 * DAY + 1, caller="0215551234", idpel="111122223333")
    kept = personal(conn, "new")
    counts = erase_expired(conn, 30, NOW)
    assert counts == {
        "calls": 1,
        "answers": 2,
        "screenpops": 1,
        "pop_deliveries": 1,
        "callbacks": 1,
        "reports": 1,
        "apkt_issues": 1,
        "itsm_tickets": 1,
        "itsm_activity": 1,
        "ap2t_registrations": 1,
    }
    assert personal(conn, "old") == ERASED_CALL
    assert personal(conn, "new") == kept
    # What ops count and what finds the call in Asterisk's CDR stays.
    assert conn.execute(
        "SELECT flow, outcome, result, cso_reason, seconds, uniqueid, path FROM calls"
        " WHERE id = 'old'"
    ).fetchone() == ("main", "queued", "cso", "", 12.5, "1733412345.42", '["menu"]')
    # A second sweep finds nothing left; a day later the other call goes too.
    assert set(erase_expired(conn, 30, NOW).values()) == {0}
    assert erase_expired(conn, 30, NOW + 2)["calls"] == 1
    assert personal(conn, "new") == ERASED_CALL


def test_retention_zero_keeps_everything(conn: Connection) -> None:
    add_call(conn, "old", NOW - 3000 * DAY)
    assert set(erase_expired(conn, 0, NOW).values()) == {0}
    assert personal(conn, "old")["call"] == (
        "081234567890",
        "PJSIP/trunk-081234567890",
        json.dumps({"caller": "081234567890", "nama": "Budi Santoso"}),
        0,
    )


def test_orphan_deliveries_and_callbacks_expire_by_their_own_time(
    conn: Connection,
) -> None:
    """A pop for a call that bypassed the IVR, and a call-back without a call record."""
    conn.execute(
        "INSERT INTO pop_deliveries (pop_id, agent, queue, caller, state, rang_at, updated_at)"
        " VALUES ('1733412345.42', 'cso1', 'umum', '081234567890', 'taken', ?, ?),"
        " ('1733412399.1', 'cso1', 'umum', '081299990000', 'taken', ?, ?)",
        (NOW - 8 * DAY, NOW - 8 * DAY, NOW - 6 * DAY, NOW - 6 * DAY),
    )
    conn.execute(
        "INSERT INTO callbacks (call_id, number, queue, requested_at)"
        " VALUES ('x', '081234567890', 'umum', ?), ('y', '081299990000', 'umum', ?)",
        (NOW - 8 * DAY, NOW - 6 * DAY),
    )
    counts = erase_expired(conn, 7, NOW)
    assert (counts["pop_deliveries"], counts["callbacks"]) == (1, 1)
    assert [c for (c,) in conn.execute("SELECT caller FROM pop_deliveries ORDER BY rang_at")] == [
        "",
        "081299990000",
    ]
    assert [n for (n,) in conn.execute("SELECT number FROM callbacks ORDER BY requested_at")] == [
        "",
        "081299990000",
    ]


def test_batches_are_small_transactions(conn: Connection) -> None:
    """1,000 calls with all their records go in batches of 100, each well under the
    20 ms the serving IVR may wait for the write lock (generous bound for slow CI)."""
    conn.execute("BEGIN")
    for n in range(1000):
        add_call(conn, f"c{n:04d}", NOW - 100 * DAY + n, caller=f"0812{n:08d}")
    conn.execute("COMMIT")
    timings: list[float] = []
    counts = erase_expired(conn, 90, NOW, batch_calls=100, timings=timings, pause=0)
    assert counts["calls"] == 1000
    assert counts["answers"] == 2000
    assert len(timings) == 10 + 2  # the call batches, then one pass each for orphans
    assert max(timings) < 0.1, timings


async def test_the_known_set_counts_the_same_after_erasure(tmp_path: Path) -> None:
    """The journeys test's known set (with a caller who calls again twice): every figure
    of ``compute_stats``, true containment included, is the same once erased."""
    db = tmp_path / "calls.sqlite3"
    await fill_known_store(db)
    now = datetime.now(UTC)
    since, until = now - timedelta(hours=1), now + timedelta(hours=1)
    conn = connect(db)
    try:
        before = compute_stats(conn, since, until)
        assert before["true_contained"] < before["contained"]  # repeats to keep
        counts = erase_expired(conn, 2, time.time() + 3 * DAY)
        assert counts["calls"] == 6
        assert conn.execute("SELECT COUNT(*) FROM calls WHERE caller != ''").fetchone() == (0,)
        assert compute_stats(conn, since, until) == before
        frozen = conn.execute(
            "SELECT COUNT(*), SUM(repeat_24h) FROM calls WHERE result = 'contained'"
        ).fetchone()
        assert frozen == (before["contained"], before["contained"] - before["true_contained"])
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("sweep_hours", "batch_calls"),
    [(3, 7), (200, 1)],  # hourly-ish sweeps; one sweep of 240 batches (the window forgets)
)
def test_true_containment_survives_sweeps_in_any_batches(
    conn: Connection, sweep_hours: int, batch_calls: int
) -> None:
    """Random calls of a few callers over five days (shared numbers and IDPELs, calls
    at the same moment), erased by hourly sweeps in odd-sized batches: once all are
    erased, every figure is as before, and no erased call keeps a number or IDPEL."""
    rng = random.Random(123)
    start = NOW - 20 * DAY
    phones = [f"0812000000{n:02d}" for n in range(8)] + ["+62 812-0000-0001", "6281200000002"]
    idpels = ["", "", "", *(f"5321000000{n:02d}" for n in range(6))]
    moments = sorted(start + rng.uniform(0, 5 * DAY) for _ in range(240))
    moments[10] = moments[11]  # two calls at the same millisecond
    for n, at in enumerate(moments):
        add_call(
            conn,
            f"{n:032x}",
            at,
            caller=rng.choice(phones),
            idpel=rng.choice(idpels),
            result=rng.choice(["contained", "contained", "cso", "abandoned", None]),
            full=False,
        )
    since = datetime.fromtimestamp(start - 3600, UTC)
    until = datetime.fromtimestamp(start + 6 * DAY, UTC)
    before = compute_stats(conn, since, until)
    assert 0 < before["true_contained"] < before["contained"]
    for hour in range(0, 6 * 24 + sweep_hours, sweep_hours):
        erase_expired(conn, 1, start + DAY + hour * 3600, batch_calls=batch_calls, pause=0)
    assert conn.execute("SELECT COUNT(*) FROM calls WHERE erased_at IS NULL").fetchone() == (0,)
    assert compute_stats(conn, since, until) == before
    links = [idpel for (idpel,) in conn.execute("SELECT DISTINCT idpel FROM calls")]
    assert all(idpel == "" or idpel.startswith("~") for idpel in links)


async def test_the_sweeper_runs_at_start_and_logs_counts_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "calls.sqlite3"
    conn = connect(db)
    migrate(conn)
    add_call(conn, "old", time.time() - 100 * DAY)
    add_call(conn, "new", time.time() - DAY)
    sweeper = RetentionSweeper(db, 90, interval=0.05)
    with caplog.at_level(logging.INFO, logger="ivr.privacy.retention"):
        sweeper.start()
        for _ in range(100):
            if sweeper.sweeps:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.15)  # a few more sweeps, which erase nothing
        await sweeper.stop()
    assert len(sweeper.sweeps) == 1
    assert sweeper.sweeps[0]["calls"] == 1
    (line,) = [r.getMessage() for r in caplog.records if "erased" in r.getMessage()]
    assert line.startswith("privacy: erased personal data older than 90 days: calls 1, answers 2")
    assert "0812" not in line and "5321" not in line
    assert personal(conn, "old") == ERASED_CALL
    assert personal(conn, "new")["call"][0] == "081234567890"
    conn.close()


async def test_a_sweeper_with_retention_zero_does_not_start(tmp_path: Path) -> None:
    sweeper = RetentionSweeper(tmp_path / "calls.sqlite3", 0)
    sweeper.start()
    await sweeper.stop()
    assert sweeper.sweeps == []
    assert not (tmp_path / "calls.sqlite3").exists()


def test_the_setting() -> None:
    assert Settings().privacy.retention_days == 90
    assert Settings(privacy=PrivacySettings(retention_days=0)).privacy.retention_days == 0
    with pytest.raises(ValueError):
        PrivacySettings(retention_days=-1)


# -- one person -------------------------------------------------------------------------------


@pytest.fixture
def people(conn: Connection) -> Connection:
    """Budi's two calls (his mobile; once about his IDPEL), Siti's call in which she gave
    Budi's number for the call back, and master data of both."""
    add_call(conn, "budi1", NOW - DAY, caller="+6281234567890", idpel="532112345678")
    add_call(conn, "budi2", NOW - 1000, caller="081234567890", idpel="", result="contained")
    add_call(conn, "siti", NOW - 500, caller="0215551234", idpel="111122223333")
    conn.execute(
        "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
        " VALUES ('siti', 5, 'nomor_lain', 'callback_number', '0812-3456-7890', 'dtmf', '')"
    )
    conn.execute(
        "INSERT INTO crm_callers (phone, name) VALUES ('081234567890', 'Budi Santoso'),"
        " ('0215551234', 'Siti Aminah')"
    )
    conn.execute(
        "INSERT INTO customers (idpel, meter_number, name) VALUES"
        " ('532112345678', '14123456789', 'Budi Santoso')"
    )
    conn.execute(
        "INSERT INTO reports (number, wo_type, problem_text, created_at, idpel, caller_number)"
        " VALUES ('G2502200000045', 'KWH PERIKSA', 'x', '2025-02-20', '532112345678',"
        " '081234567890')"
    )
    return conn


@pytest.mark.parametrize(
    "phone",
    [
        "081234567890",
        "+6281234567890",
        "6281234567890",
        "0812-3456-7890",
        "+62 812 3456 7890",
        "81234567890",
    ],
)
def test_export_finds_a_person_by_any_phone_format(people: Connection, phone: str) -> None:
    data = export_person(people, Person.of(phone, None), NOW)
    assert data["selector"] == {"phone": "081234567890"}
    assert [call["id"] for call in data["calls"]] == ["budi1", "budi2"]
    budi1 = data["calls"][0]
    assert [a["value"] for a in budi1["answers"]] == ["periksa", "532112345678"]
    assert budi1["screenpops"][0]["data"]["nama"] == "Budi"
    assert budi1["variables"]["nama"] == "Budi Santoso"
    for table in ("callbacks", "reports", "apkt_issues", "itsm_tickets", "pop_deliveries"):
        assert len(budi1[table]) == 1, table
    # Siti's call only where it names Budi: her answer, not her call.
    assert [a["value"] for a in data["mentions"]["answers"]] == ["0812-3456-7890"]
    assert set(data["mentions"]) == {"answers"}
    assert data["master_data"]["crm_callers"] == [
        {"phone": "081234567890", "name": "Budi Santoso", "salutation": "", "past_contacts": 0}
    ]
    assert [r["number"] for r in data["master_data"]["reports"]] == ["G2502200000045"]
    assert "siti" not in json.dumps(data["calls"])


def test_export_finds_a_customer_by_idpel(people: Connection) -> None:
    data = export_person(people, Person.of(None, "5321 1234 5678"), NOW)
    assert data["selector"] == {"idpel": "532112345678"}
    assert [call["id"] for call in data["calls"]] == ["budi1"]
    assert data["mentions"] == {}
    assert data["master_data"]["customers"][0]["name"] == "Budi Santoso"
    assert [r["number"] for r in data["master_data"]["reports"]] == ["G2502200000045"]


def test_erase_removes_a_person_everywhere_but_master_data(people: Connection) -> None:
    siti = personal(people, "siti")
    counts = erase_person(people, Person.of("+62 812-3456-7890", None), actor="cli:dpo", now=NOW)
    assert counts["calls"] == 2
    assert counts["answers"] == 4 + 1  # Budi's own, and Siti's call-back number for him
    assert personal(people, "budi1") == ERASED_CALL
    assert personal(people, "budi2") == ERASED_CALL
    siti_after = personal(people, "siti")
    assert siti_after["answers"] == [*siti["answers"][:2], ERASED]  # hers stay, his goes
    assert {k: v for k, v in siti_after.items() if k != "answers"} == {
        k: v for k, v in siti.items() if k != "answers"
    }
    assert people.execute(
        "SELECT value FROM answers WHERE call_id = 'siti' AND seq = 5"
    ).fetchone() == (ERASED,)
    after = export_person(people, Person.of("081234567890", None), NOW)
    assert after["calls"] == [] and after["mentions"] == {}
    assert after["master_data"]["crm_callers"][0]["name"] == "Budi Santoso"  # kept
    dump = json.dumps(after["calls"]) + json.dumps(after["mentions"])
    assert "1234567890" not in dump and "Budi" not in dump
    (entry,) = read_audit(people)
    assert (entry.actor, entry.action, entry.subject) == (
        "cli:dpo",
        "privacy.erase",
        "phone:*********890",
    )
    assert entry.after == {
        "erased": {k: v for k, v in counts.items() if v},
        "master_data": "kept",
    }
    # By IDPEL there is nothing left either (Budi's call about it is erased).
    by_idpel = export_person(people, Person.of(None, "532112345678"), NOW)
    assert by_idpel["calls"] == [] and by_idpel["mentions"] == {}


def test_erase_by_idpel(people: Connection) -> None:
    counts = erase_person(people, Person.of(None, "532112345678"), actor="cli:dpo", now=NOW)
    assert counts["calls"] == 1
    assert personal(people, "budi1") == ERASED_CALL
    assert personal(people, "budi2")["call"][0] == "081234567890"  # not about the IDPEL
    assert people.execute("SELECT name FROM customers").fetchone() == ("Budi Santoso",)


@pytest.mark.parametrize(
    ("phone", "idpel", "message"),
    [
        (None, None, "exactly one"),
        ("0812", "5321", "exactly one"),
        ("nomor saya", None, "no phone number"),
        ("", None, "no phone number"),
        (None, "IDPEL", "no IDPEL"),
        (None, "5321x", "no IDPEL"),
    ],
)
def test_bad_selectors(phone: str | None, idpel: str | None, message: str) -> None:
    with pytest.raises(SelectorError, match=message):
        Person.of(phone, idpel)


def test_a_serving_writer_gets_in_between_batches(tmp_path: Path) -> None:
    """The event loop's statements wait 50 ms at most for the write lock: with the
    pause between batches, none of a writer's inserts during a sweep is refused."""
    db = tmp_path / "calls.sqlite3"
    conn = connect(db)
    migrate(conn)
    conn.execute("BEGIN")
    for n in range(400):
        add_call(conn, f"c{n:04d}", NOW - 100 * DAY + n, caller=f"0812{n:08d}")
    conn.execute("COMMIT")
    loop_conn = connect(db)  # the serving IVR's kind of connection (50 ms busy timeout)
    refused: list[str] = []
    done = threading.Event()

    def write() -> None:
        seq = 100
        while not done.is_set():
            try:
                loop_conn.execute(
                    "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
                    " VALUES ('c0399', ?, 'menu', 'menu', '1', 'dtmf', '')",
                    (seq,),
                )
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))
            seq += 1
            time.sleep(0.001)

    writer = threading.Thread(target=write)
    writer.start()
    started = time.perf_counter()
    try:
        counts = erase_expired(conn, 90, NOW, batch_calls=50)
    finally:
        done.set()
        writer.join()
        loop_conn.close()
        conn.close()
    assert counts["calls"] == 400
    assert refused == []
    # The lock is left alone between the 8 batches (the writer's chance).
    assert time.perf_counter() - started >= 7 * BATCH_PAUSE


async def test_a_sweeper_whose_store_cannot_be_opened_logs_and_waits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "calls.sqlite3").write_bytes(b"not a database, just bytes" * 100)
    sweeper = RetentionSweeper(tmp_path / "calls.sqlite3", 90, interval=10)
    with caplog.at_level(logging.ERROR, logger="ivr.privacy.retention"):
        sweeper.start()
        for _ in range(100):
            if caplog.records:
                break
            await asyncio.sleep(0.01)
        await sweeper.stop()
    assert "the store cannot be opened" in caplog.records[0].getMessage()
