"""``pln123 bench agi --prefill N``: a call store holding N past calls.

A store that has taken a year of traffic must not make calls slower: every statement
a call runs (and the screen-pop hub, and the ops page's refresh) must use an index,
not scan. The bench checks it by running its calls on a store filled with N realistic
past call records, spread evenly over the year before yesterday, in the proportions
of real traffic (:data:`KINDS`): each call with its answers, its journey (one row per
node exit), and by kind a screen-pop with its deliveries to CSOs and its queue record,
a gangguan report, an APKT "Issue Closed", a call-back task.

The rows are made by SQLite itself (a recursive CTE per batch of :data:`BATCH` calls,
one transaction each, the journal off while building), about 15 s per 100,000 calls
on one core; the file is built once per N and schema version under ``.cache/bench/``
and copied for each run.

The callers, IDPELs and report numbers made here never meet the demo data the bench's
calls use (``081234567890``, IDPEL ``532112345678``, today's report numbers): the
bench's own calls take the same path through the flows as on an empty store.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.store.schema import MIGRATIONS, migrate

#: Bumped when the generated rows change, so an old cached file is not reused.
GENERATOR_VERSION = 3
#: Calls made per transaction (and per progress line, at most twenty lines).
BATCH = 50_000
DAY = 86_400.0
#: CSOs the past pops rang at (cso1 ... cso40: the demo's cso1 and cso2 among them).
AGENTS = 40


@dataclass(frozen=True)
class Kind:
    """One shape of past call, with its share of traffic (percent)."""

    name: str
    share: int
    flow: str
    outcome: str
    result: str
    queue: str | None
    cso_reason: str
    #: Nodes the call passed, in order (its ``path``; one journey row per node).
    path: tuple[str, ...]
    #: (node, ask, value) of each answer, in order.
    answers: tuple[tuple[str, str, str], ...]
    seconds: float


_MAIN = ("kenali", "salam_nama", "pengumuman", "menu")
_PERIKSA = (
    "periksa",
    "periksa/awal",
    "periksa/kondisi_listrik",
    "periksa/empati",
    "periksa/pernah_lapor",
    "periksa/idpel",
    "periksa/cari_pelanggan",
    "periksa/cek_gangguan",
    "periksa/cek_lapor_ulang",
    "periksa/alamat",
)
_PERIKSA_ANSWERS = (
    ("menu", "menu", "periksa"),
    ("kondisi_listrik", "power_state", "menyala"),
    ("pernah_lapor", "reported_before", "tidak"),
    ("idpel", "idpel", "{idpel}"),
)

#: Past calls by kind, shares adding up to 100: to a CSO from the menu or after the
#: IDPEL, a report filed, answered in the IVR (an APKT "Issue Closed"), hung up, and
#: to a CSO then a call-back asked for.
KINDS: tuple[Kind, ...] = (
    Kind(
        "menu_cso",
        25,
        "main",
        "queued",
        "cso",
        "umum",
        "",
        (*_MAIN, "cso"),
        (("menu", "menu", "cso"),),
        35.0,
    ),
    Kind(
        "periksa_cso",
        15,
        "main",
        "queued",
        "cso",
        "periksa",
        "",
        (*_MAIN, *_PERIKSA, "periksa/cso"),
        (*_PERIKSA_ANSWERS, ("alamat", "address_correct", "cso")),
        95.0,
    ),
    Kind(
        "report",
        20,
        "main",
        "report_created",
        "contained",
        None,
        "",
        (
            *_MAIN,
            *_PERIKSA,
            "periksa/cek_jalur",
            "periksa/bersedia_dipandu",
            "periksa/konfirmasi",
            "periksa/kontak",
            "periksa/buat_laporan",
            "periksa/nomor_laporan",
            "periksa/ulangi",
            "periksa/paham",
            "periksa/lainnya",
            "penutup",
        ),
        (
            *_PERIKSA_ANSWERS,
            ("alamat", "address_correct", "ya"),
            ("bersedia_dipandu", "guided", "tidak"),
            ("konfirmasi", "confirmation_call", "tidak"),
            ("kontak", "reachable_here", "ya"),
            ("kontak_via", "contact_via", "telepon_wa_sms"),
            ("ulangi", "repeat", "tidak"),
            ("paham", "understood", "ya"),
            ("lainnya", "anything_else", "tidak"),
        ),
        140.0,
    ),
    Kind(
        "closed",
        20,
        "main",
        "closed",
        "contained",
        None,
        "",
        (
            *_MAIN,
            "pln_mobile",
            "pln_mobile/tiket_sebelumnya",
            "pln_mobile/topik",
            "pln_mobile/jawab",
            "pln_mobile/terbantu",
            "pln_mobile/apkt_terjawab",
            "pln_mobile/kendala_lain",
            "pln_mobile/selesai",
            "penutup",
        ),
        (
            ("menu", "menu", "pln_mobile"),
            ("tiket_sebelumnya", "itsm_followup", "tidak"),
            ("topik", "mobile_topic", "download"),
            ("terbantu", "mobile_solved", "ya"),
            ("kendala_lain", "mobile_more", "tidak"),
        ),
        75.0,
    ),
    Kind(
        "abandoned",
        15,
        "main",
        "hangup",
        "abandoned",
        None,
        "",
        (*_MAIN, "periksa", "periksa/awal", "periksa/kondisi_listrik"),
        (("menu", "menu", "periksa"),),
        20.0,
    ),
    Kind(
        "callback",
        5,
        "main",
        "queued",
        "cso",
        "tambah_daya",
        "retries",
        (*_MAIN, "tambah_daya", "tambah_daya/persyaratan", "tambah_daya/cso"),
        (("menu", "menu", "tambah_daya"), ("persyaratan", "nik_ready", "cso")),
        50.0,
    ),
)
assert sum(kind.share for kind in KINDS) == 100

#: A pop's data as the transfer step stores it (about 1.5 kB), filled per call.
_POP = json.dumps(
    {
        "call_id": "@ID@",
        "flow": "main",
        "queue": "@QUEUE@",
        "caller": "@CALLER@",
        "caller_class": "mobile",
        "caller_name": "Pelanggan",
        "salutation": "Bapak",
        "customer": {
            "found": True,
            "keyed": "@IDPEL@",
            "idpel": "@IDPEL@",
            "meter_number": "14200000000",
            "name": "Pelanggan",
            "street": "Jl. Melati No. 12",
            "area": "Kebayoran Baru",
            "address_confirmed": None,
            "unit": "UP3 Bulungan",
            "posko": "ULP Kebayoran Baru",
            "tariff": "R1",
            "power_va": "1300",
        },
        "power_state": "menyala",
        "self_diagnosis": {},
        "answers": [{"ask": "menu", "value": "periksa"}, {"ask": "idpel", "value": "@IDPEL@"}],
        "asks": ["menu", "power_state", "reported_before", "idpel", "address_correct"],
        "path": list(KINDS[1].path),
        "apkt": {
            "reporter_name": "Pelanggan",
            "caller_number": "@CALLER@",
            "address": "Jl. Melati No. 12, Kebayoran Baru",
            "wo_type": "KWH PERIKSA",
            "problem_text": "LISTRIK PADAM SATU RUMAH",
        },
        "report_number": "",
        "notes": [{"label": "Layanan", "value": "Periksa listrik"}],
    },
    ensure_ascii=False,
)
_VARIABLES = json.dumps(
    {
        "caller": "@CALLER@",
        "caller_class": "mobile",
        "waktu": "pagi",
        "kode_area": "",
        "zona": "Asia/Jakarta",
        "nama": "Pelanggan",
        "sapaan": "Bapak",
        "menu": "periksa",
        "idpel": "@IDPEL@",
    }
)
_REPORT_FIELDS = json.dumps(
    {
        "reporter_name": "Pelanggan",
        "caller_number": "@CALLER@",
        "address": "Jl. Melati No. 12, Kebayoran Baru",
        "wo_type": "KWH PERIKSA",
        "problem_text": "KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)",
        "idpel": "@IDPEL@",
        "mobile_number": "@CALLER@",
        "location": "Jl. Melati No. 12, Kebayoran Baru",
        "unit": "UP3 Bulungan",
        "posko": "ULP Kebayoran Baru",
        "contact_note": "Pelanggan dapat dihubungi via Telepon, WA & SMS",
    }
)


def _fill(template: str) -> str:
    """An SQL expression for ``template`` with the call's values in (``c`` is the
    batch's row)."""
    text = template.replace("'", "''")
    return (
        f"replace(replace(replace(replace('{text}', '@ID@', c.id), '@QUEUE@',"
        " coalesce(k.queue, '')), '@CALLER@', c.caller), '@IDPEL@', c.idpel)"
    )


def cache_file(n: int, cache_dir: Path) -> Path:
    """The cached store of ``n`` past calls (keyed by N, the schema and this generator)."""
    return cache_dir / f"prefill-{n}-schema{len(MIGRATIONS)}-v{GENERATOR_VERSION}.sqlite3"


def prefilled(
    n: int,
    into: Path,
    cache_dir: Path,
    progress: Callable[[str], None] = print,
) -> Path:
    """Copy a store of ``n`` past calls to ``into`` (building the cached file first when
    there is none); returns the cached file."""
    cached = cache_file(n, cache_dir)
    if cached.exists():
        progress(f"prefill: reusing {cached}")
    else:
        build(n, cached, progress)
    started = time.perf_counter()
    into.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, into)
    progress(f"prefill: copied to the bench's store in {time.perf_counter() - started:.1f} s")
    return cached


def build(
    n: int,
    target: Path,
    progress: Callable[[str], None] = print,
    *,
    now: float | None = None,
) -> None:
    """Make a store file of ``n`` past calls at ``target`` (written aside, then moved)."""
    if n < 1:
        raise ValueError("prefill needs at least one call")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    end = (time.time() if now is None else now) - DAY  # nothing from today
    start = end - 365 * DAY
    step = (end - start) / n
    started = time.perf_counter()
    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-524288")  # 512 MiB: the indexes stay in memory
        conn.execute("PRAGMA temp_store=MEMORY")
        migrate(conn)
        _kinds_table(conn)
        made = 0
        while made < n:
            last = min(n, made + BATCH)
            conn.execute("BEGIN")
            _batch(conn, made + 1, last, start, step)
            conn.execute("COMMIT")
            made = last
            elapsed = time.perf_counter() - started
            progress(
                f"prefill: {made:,}/{n:,} calls ({made * 100 // n}%)"
                f" in {elapsed:.1f} s, about {elapsed / made * (n - made):.0f} s to go"
            )
        conn.execute("DROP TABLE prefill_kinds")
        # No ANALYZE: a live store never runs it, and the planner must pick the same
        # plans here as there.
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    os.replace(partial, target)
    size = target.stat().st_size / 1e6
    progress(
        f"prefill: {n:,} calls in {target} ({size:,.0f} MB)"
        f" built in {time.perf_counter() - started:.1f} s"
    )


def _kinds_table(conn: sqlite3.Connection) -> None:
    """The kinds as a table, each with its band of the call hash (0-99)."""
    conn.execute(
        "CREATE TABLE prefill_kinds (name TEXT, lo INTEGER, hi INTEGER, flow TEXT,"
        " outcome TEXT, result TEXT, queue TEXT, cso_reason TEXT, path TEXT, asks TEXT,"
        " answers TEXT, seconds REAL)"
    )
    low = 0
    for kind in KINDS:
        conn.execute(
            "INSERT INTO prefill_kinds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind.name,
                low,
                low + kind.share,
                kind.flow,
                kind.outcome,
                kind.result,
                kind.queue,
                kind.cso_reason,
                json.dumps(list(kind.path)),
                json.dumps([ask for _, ask, _ in kind.answers]),
                json.dumps([list(answer) for answer in kind.answers]),
                kind.seconds,
            ),
        )
        low += kind.share


def _batch(conn: sqlite3.Connection, first: int, last: int, start: float, step: float) -> None:
    """Calls ``first`` to ``last`` (1-based) and everything they left."""
    conn.execute("DROP TABLE IF EXISTS temp.prefill_batch")
    # One row per call: its id (as the IVR makes them, ivr.engine.call.new_call_id: the
    # start in milliseconds, then random-looking hex, unique by its tail),
    # start (epoch), kind (a hash of its number), a caller among 300,000 (people call
    # again) and an IDPEL among 2,000,000, none of them the demo's.
    conn.execute(
        "CREATE TEMP TABLE prefill_batch AS"
        " WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i < ?2)"
        " SELECT i,"
        " printf('%012x%08x%012x',"
        "  CAST((?3 + (i - 1) * ?4 + ((i * 7919) % 1000) * ?4 / 1000.0) * 1000 AS INTEGER),"
        "  (i * 2654435761) % 4294967296, i * 40503) AS id,"
        " ?3 + (i - 1) * ?4 + ((i * 7919) % 1000) * ?4 / 1000.0 AS t,"
        " (i * 7919 + i / 7) % 100 AS h,"
        " printf('0812%08d', (i * 7) % 300000) AS caller,"
        " printf('53%010d', (i * 13) % 2000000) AS idpel"
        " FROM s",
        (first, last, start, step),
    )
    when = "strftime('%Y-%m-%dT%H:%M:%f+00:00', {t}, 'unixepoch')"
    conn.execute(
        "INSERT INTO calls (id, flow, caller, channel, uniqueid, started_at, ended_at,"
        " outcome, queue, path, asks, variables, result, cso_reason, idpel, seconds)"
        " SELECT c.id, k.flow, c.caller, printf('PJSIP/trunk-%08x', c.i),"
        " printf('%d.%d', CAST(c.t AS INTEGER), c.i), "
        + when.format(t="c.t")
        + ", "
        + when.format(t="c.t + k.seconds")
        + ", k.outcome, k.queue, k.path, k.asks, "
        + _fill(_VARIABLES)
        + ", k.result, k.cso_reason, c.idpel, k.seconds"
        " FROM prefill_batch c JOIN prefill_kinds k ON c.h >= k.lo AND c.h < k.hi"
        " ORDER BY c.i"
    )
    conn.execute(
        "INSERT INTO answers (call_id, seq, node, ask, value, via, at)"
        " SELECT c.id, a.key, a.value ->> 0, a.value ->> 1,"
        " replace(a.value ->> 2, '{idpel}', c.idpel), 'dtmf', "
        + when.format(t="c.t + 6 + a.key * 9")
        + " FROM prefill_batch c JOIN prefill_kinds k ON c.h >= k.lo AND c.h < k.hi,"
        " json_each(k.answers) a ORDER BY c.i, a.key"
    )
    conn.execute(
        "INSERT INTO journeys (call_id, seq, flow, node, exit, target, cause, via, seconds, at)"
        " SELECT c.id, j.key, CASE WHEN instr(j.value, '/') THEN"
        " substr(j.value, 1, instr(j.value, '/') - 1) ELSE 'main' END,"
        " CASE WHEN instr(j.value, '/') THEN substr(j.value, instr(j.value, '/') + 1)"
        " ELSE j.value END, 'next', coalesce(k.path ->> (j.key + 1), ''), '', 'dtmf',"
        " k.seconds / json_array_length(k.path), c.t + j.key * k.seconds /"
        " json_array_length(k.path)"
        " FROM prefill_batch c JOIN prefill_kinds k ON c.h >= k.lo AND c.h < k.hi,"
        " json_each(k.path) j ORDER BY c.t + j.key * k.seconds / json_array_length(k.path)"
    )
    queued = (
        " FROM prefill_batch c JOIN prefill_kinds k ON c.h >= k.lo AND c.h < k.hi"
        " WHERE k.queue IS NOT NULL"
    )
    conn.execute(
        "INSERT INTO screenpops (id, call_id, queue, data, created_at)"
        " SELECT c.id, c.id, k.queue, "
        + _fill(_POP)
        + ", "
        + when.format(t="c.t + k.seconds")
        + queued
    )
    # The CSO that took it (one in ten rang at a first CSO who missed it).
    conn.execute(
        "INSERT INTO pop_deliveries (pop_id, agent, queue, caller, state, rang_at, updated_at)"
        " SELECT c.id, 'cso' || (1 + c.i % ?1), k.queue, c.caller, 'done',"
        " c.t + k.seconds + 30, c.t + k.seconds + 300" + queued,
        (AGENTS,),
    )
    conn.execute(
        "INSERT INTO pop_deliveries (pop_id, agent, queue, caller, state, rang_at, updated_at)"
        " SELECT c.id, 'cso' || (1 + (c.i + 1) % ?1), k.queue, c.caller, 'missed',"
        " c.t + k.seconds + 10, c.t + k.seconds + 25" + queued + " AND c.i % 10 = 0",
        (AGENTS,),
    )
    conn.execute(
        "INSERT INTO queue_calls (uniqueid, queue, pop_id, joined_at, answered_at,"
        " abandoned_at, wait_seconds)"
        " SELECT printf('%d.%d', CAST(c.t AS INTEGER), c.i), k.queue, c.id, c.t + k.seconds,"
        " CASE WHEN k.name = 'callback' THEN NULL ELSE c.t + k.seconds + 30 END,"
        " CASE WHEN k.name = 'callback' THEN c.t + k.seconds + 180 END,"
        " CASE WHEN k.name = 'callback' THEN 180 ELSE 30 END" + queued
    )
    conn.execute(
        "INSERT INTO callbacks (call_id, pop_id, number, queue, requested_at, state, done_by,"
        " done_at)"
        " SELECT c.id, c.id, c.caller, k.queue, c.t + k.seconds + 180, 'done',"
        " 'cso' || (1 + c.i % ?1), c.t + 3600"
        " FROM prefill_batch c JOIN prefill_kinds k ON c.h >= k.lo AND c.h < k.hi"
        " WHERE k.name = 'callback'",
        (AGENTS,),
    )
    # Report numbers: G, the day (YYMMDD) and a sequence from 5,000,000 up, so the
    # embedded APKT's own numbers of the day never meet them.
    conn.execute(
        "INSERT INTO reports (number, call_id, wo_type, problem_text, fields, created_at,"
        " status, idpel, caller_number, mobile_number)"
        " SELECT 'G' || substr(strftime('%Y%m%d', c.t, 'unixepoch'), 3)"
        " || printf('%07d', 5000000 + c.i),"
        " c.id, 'KWH PERIKSA', 'KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)', "
        + _fill(_REPORT_FIELDS)
        + ", "
        + when.format(t="c.t + k.seconds")
        + ", 'SELESAI', c.idpel, c.caller, c.caller"
        " FROM prefill_batch c JOIN prefill_kinds k ON c.h >= k.lo AND c.h < k.hi"
        " WHERE k.name = 'report'"
    )
    conn.execute(
        "INSERT INTO apkt_issues (call_id, issue_type, sub_issue_type, description,"
        " caller_number, idpel, created_at)"
        " SELECT c.id, 'Lain-lain', 'Lain-lain', 'New PLN Mobile - Download dan instal aplikasi',"
        " c.caller, '', " + when.format(t="c.t + k.seconds") + " FROM prefill_batch c"
        " JOIN prefill_kinds k ON c.h >= k.lo AND c.h < k.hi WHERE k.name = 'closed'"
    )


def counts(path: Path) -> dict[str, int]:
    """Rows per table of a store (for the tests and the progress line)."""
    with sqlite3.connect(path) as conn:
        tables = [
            "calls",
            "answers",
            "journeys",
            "screenpops",
            "pop_deliveries",
            "queue_calls",
            "callbacks",
            "reports",
            "apkt_issues",
        ]
        return {
            table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in tables
        }
