"""The store's schema, as numbered migrations applied in order, on SQLite and PostgreSQL.

``PRAGMA user_version`` (SQLite) or the ``schema_version`` table (PostgreSQL) holds
the number of migrations applied; a new version of the IVR adds migrations at the end
of :data:`MIGRATIONS` and never edits old ones.
"""

from __future__ import annotations

import re
import sqlite3

from ivr.store.dbapi import Connection

MIGRATIONS: list[str] = [
    # 1: calls, answers, screen-pops, reports
    """
    CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        flow TEXT NOT NULL,
        caller TEXT NOT NULL,
        channel TEXT NOT NULL DEFAULT '',
        uniqueid TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT,
        queue TEXT,
        path TEXT NOT NULL DEFAULT '[]',
        asks TEXT NOT NULL DEFAULT '[]',
        variables TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE answers (
        call_id TEXT NOT NULL REFERENCES calls(id),
        seq INTEGER NOT NULL,
        node TEXT NOT NULL,
        ask TEXT NOT NULL,
        value TEXT NOT NULL,
        via TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (call_id, seq)
    );
    CREATE TABLE screenpops (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL REFERENCES calls(id),
        queue TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE reports (
        number TEXT PRIMARY KEY,
        call_id TEXT REFERENCES calls(id),
        wo_type TEXT NOT NULL,
        problem_text TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX calls_started ON calls(started_at);
    """,
    # 2: the embedded backends: CRM callers, customer master data, APKT report state
    """
    CREATE TABLE crm_callers (
        phone TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        salutation TEXT NOT NULL DEFAULT '',
        past_contacts INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE customers (
        idpel TEXT PRIMARY KEY,
        meter_number TEXT UNIQUE,
        name TEXT NOT NULL,
        street TEXT NOT NULL DEFAULT '',
        area TEXT NOT NULL DEFAULT '',
        unit TEXT NOT NULL DEFAULT '',
        posko TEXT NOT NULL DEFAULT '',
        tariff TEXT NOT NULL DEFAULT '',
        power_va INTEGER NOT NULL DEFAULT 0,
        region TEXT NOT NULL DEFAULT '',
        timezone TEXT NOT NULL DEFAULT 'Asia/Jakarta'
    );
    ALTER TABLE reports ADD COLUMN status TEXT NOT NULL DEFAULT 'LAPOR';
    ALTER TABLE reports ADD COLUMN idpel TEXT NOT NULL DEFAULT '';
    ALTER TABLE reports ADD COLUMN caller_number TEXT NOT NULL DEFAULT '';
    ALTER TABLE reports ADD COLUMN mobile_number TEXT NOT NULL DEFAULT '';
    ALTER TABLE reports ADD COLUMN mutated_from TEXT NOT NULL DEFAULT '';
    CREATE INDEX reports_idpel ON reports(idpel, status);
    CREATE INDEX reports_caller ON reports(caller_number, status);
    CREATE INDEX reports_mobile ON reports(mobile_number, status);
    CREATE INDEX reports_mutated ON reports(mutated_from);
    CREATE INDEX reports_call ON reports(call_id);
    """,
    # 3: screen-pops delivered to agents (ringing, connected, ...) and call-back tasks
    """
    CREATE TABLE pop_deliveries (
        pop_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        queue TEXT NOT NULL,
        caller TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        rang_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (pop_id, agent)
    );
    CREATE INDEX pop_deliveries_agent ON pop_deliveries(agent, rang_at);
    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY,
        call_id TEXT NOT NULL,
        pop_id TEXT NOT NULL DEFAULT '',
        number TEXT NOT NULL,
        queue TEXT NOT NULL,
        requested_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'open',
        done_by TEXT NOT NULL DEFAULT '',
        done_at REAL
    );
    CREATE INDEX callbacks_open ON callbacks(state, requested_at);
    """,
    # 4: what APKT tells of a report's handling: the CTT token given to the customer,
    # and the latest step of its detail history ("Dalam Perjalanan")
    """
    ALTER TABLE reports ADD COLUMN ctt_token TEXT NOT NULL DEFAULT '';
    ALTER TABLE reports ADD COLUMN detail_status TEXT NOT NULL DEFAULT '';
    """,
    # 5: APKT "Issue Closed" records: calls PLN 123 handled itself
    """
    CREATE TABLE apkt_issues (
        id INTEGER PRIMARY KEY,
        call_id TEXT NOT NULL DEFAULT '',
        issue_type TEXT NOT NULL,
        sub_issue_type TEXT NOT NULL,
        description TEXT NOT NULL,
        caller_number TEXT NOT NULL DEFAULT '',
        idpel TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX apkt_issues_call ON apkt_issues(call_id);
    """,
    # 6: the embedded AP2T: what it says of a customer's power change, and the
    # power-change requests saved (registration numbers)
    """
    CREATE TABLE ap2t_accounts (
        idpel TEXT PRIMARY KEY,
        arrears_rp INTEGER NOT NULL DEFAULT 0,
        refusal TEXT NOT NULL DEFAULT '',
        network_work TEXT NOT NULL DEFAULT 'sr'
    );
    CREATE TABLE ap2t_registrations (
        number TEXT PRIMARY KEY,
        call_id TEXT NOT NULL DEFAULT '',
        idpel TEXT NOT NULL,
        target_power_va INTEGER NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        valid_until TEXT NOT NULL
    );
    CREATE INDEX ap2t_registrations_call ON ap2t_registrations(call_id);
    """,
    # 7: the embedded ITSM: service-desk tickets (PLN Mobile problems) and their activity
    # history, in order: made ('baru') and notes added ('catatan'), by which call
    """
    CREATE TABLE itsm_tickets (
        number INTEGER PRIMARY KEY,
        call_id TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        summary TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        caller_number TEXT NOT NULL DEFAULT '',
        cites_ticket TEXT NOT NULL DEFAULT '',
        fields TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX itsm_tickets_call ON itsm_tickets(call_id);
    CREATE TABLE itsm_activity (
        id INTEGER PRIMARY KEY,
        ticket INTEGER NOT NULL REFERENCES itsm_tickets(number),
        call_id TEXT NOT NULL DEFAULT '',
        event TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX itsm_activity_ticket ON itsm_activity(ticket, event);
    CREATE INDEX itsm_activity_call ON itsm_activity(call_id);
    """,
    # 8: what ops count: each node a call passed and how it left it (the journey), and
    # each call's one outcome (contained, cso, abandoned), why it reached a CSO, the
    # customer it was about (for true containment) and its seconds in the IVR
    """
    CREATE TABLE journeys (
        call_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        flow TEXT NOT NULL,
        node TEXT NOT NULL,
        exit TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        cause TEXT NOT NULL DEFAULT '',
        via TEXT NOT NULL DEFAULT '',
        seconds REAL NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX journeys_call ON journeys(call_id);
    ALTER TABLE calls ADD COLUMN result TEXT;
    ALTER TABLE calls ADD COLUMN cso_reason TEXT NOT NULL DEFAULT '';
    ALTER TABLE calls ADD COLUMN idpel TEXT NOT NULL DEFAULT '';
    ALTER TABLE calls ADD COLUMN seconds REAL;
    """,
    # 9: the queue side, from AMI: each caller that joined a CSO queue, and whether a
    # CSO answered or the caller left first (epoch seconds)
    """
    CREATE TABLE queue_calls (
        uniqueid TEXT PRIMARY KEY,
        queue TEXT NOT NULL,
        pop_id TEXT NOT NULL DEFAULT '',
        joined_at REAL NOT NULL,
        answered_at REAL,
        abandoned_at REAL,
        wait_seconds REAL
    );
    CREATE INDEX queue_calls_joined ON queue_calls(joined_at);
    """,
    # 10: journeys indexed by time, not by call: rows arrive in time order, so the index
    # only ever grows at its end (a call-id index costs as much again as the row on
    # every node exit); readers bound their scans by the calls' times
    """
    DROP INDEX journeys_call;
    CREATE INDEX journeys_at ON journeys(at);
    """,
    # 11: what ops control without a code change: outage announcements (gangguan
    # meluas) and what callers did after hearing one, the audit log of every control
    # change, and a counter each change bumps so workers see a change by polling it
    """
    CREATE TABLE outages (
        id INTEGER PRIMARY KEY,
        units TEXT NOT NULL,
        area_codes TEXT NOT NULL DEFAULT '[]',
        message TEXT NOT NULL,
        report_number TEXT NOT NULL DEFAULT '',
        starts_at REAL NOT NULL,
        until REAL NOT NULL,
        created_by TEXT NOT NULL,
        ended_at REAL,
        ended_by TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE outage_events (
        outage_id INTEGER NOT NULL,
        call_id TEXT NOT NULL,
        event TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (outage_id, call_id, event)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        before TEXT,
        after TEXT
    );
    CREATE INDEX audit_at ON audit(at);
    CREATE TABLE control_version (version INTEGER NOT NULL);
    INSERT INTO control_version (version) VALUES (0);
    """,
    # 12: the global announcement every caller hears before the main menu (one in force
    # at a time: setting a new one ends the one before), audited like outages
    """
    CREATE TABLE announcements (
        id INTEGER PRIMARY KEY,
        message TEXT NOT NULL,
        starts_at REAL NOT NULL,
        until REAL NOT NULL,
        created_by TEXT NOT NULL,
        ended_at REAL,
        ended_by TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX announcements_open ON announcements(ended_at, until);
    """,
    # 13: ops' live changes to opening hours and holidays over the files' defaults
    # (flows/data/jam_layanan.yaml, hari_libur.yaml), audited like outages: a queue's
    # schedule (QueueSchedule as JSON), a queue closed or opened until a time, and
    # holidays added or removed
    """
    CREATE TABLE queue_schedules (
        queue TEXT PRIMARY KEY,
        schedule TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at REAL NOT NULL
    );
    CREATE TABLE queue_closures (
        queue TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('closed', 'open')),
        reason TEXT NOT NULL DEFAULT '',
        starts_at REAL NOT NULL,
        until REAL NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TABLE holiday_changes (
        date TEXT PRIMARY KEY,
        action TEXT NOT NULL CHECK (action IN ('add', 'remove')),
        name TEXT NOT NULL DEFAULT '',
        kind TEXT,
        set_by TEXT NOT NULL,
        set_at REAL NOT NULL
    );
    """,
    # 14: personal data erased (ivr.privacy): when each record's personal fields were
    # overwritten (after [privacy] retention_days, or by ``pln123 privacy erase``), and,
    # for a contained call, whether its caller called again within 24 hours (true
    # containment), frozen at erasure since the phone number and IDPEL it was told by
    # are gone (an erased call's idpel holds a link token instead, ivr.privacy.retention);
    # partial indexes find what is still to erase, and the link tokens, without scans
    """
    ALTER TABLE calls ADD COLUMN erased_at REAL;
    ALTER TABLE calls ADD COLUMN repeat_24h INTEGER;
    ALTER TABLE screenpops ADD COLUMN erased_at REAL;
    ALTER TABLE pop_deliveries ADD COLUMN erased_at REAL;
    ALTER TABLE callbacks ADD COLUMN erased_at REAL;
    ALTER TABLE reports ADD COLUMN erased_at REAL;
    ALTER TABLE apkt_issues ADD COLUMN erased_at REAL;
    ALTER TABLE itsm_tickets ADD COLUMN erased_at REAL;
    ALTER TABLE itsm_activity ADD COLUMN erased_at REAL;
    ALTER TABLE ap2t_registrations ADD COLUMN erased_at REAL;
    CREATE INDEX calls_unerased ON calls(started_at) WHERE erased_at IS NULL;
    CREATE INDEX pop_deliveries_unerased ON pop_deliveries(rang_at) WHERE erased_at IS NULL;
    CREATE INDEX callbacks_unerased ON callbacks(requested_at) WHERE erased_at IS NULL;
    CREATE INDEX callbacks_call ON callbacks(call_id);
    CREATE INDEX calls_link ON calls(idpel) WHERE erased_at IS NOT NULL;
    """,
    # 15: a store a year full must not slow calls (``pln123 bench agi --prefill``): a
    # call's screen-pop and the outage events it caused are found by the call's id (the
    # call record, the scenario runner, the ops page's outage figures), not by scans
    """
    CREATE INDEX screenpops_call ON screenpops(call_id);
    CREATE INDEX outage_events_call ON outage_events(call_id);
    """,
    # 16: the worker process that holds each call ("<host>:<pid>"; '' before this), so
    # a worker that dies has only its own calls closed (ivr.workers), never a live
    # worker's
    """
    ALTER TABLE calls ADD COLUMN worker TEXT NOT NULL DEFAULT '';
    """,
]


def migrate(conn: Connection) -> int:
    """Apply the migrations this store lacks; returns the schema version.

    Each migration runs in a ``BEGIN IMMEDIATE`` transaction that re-reads the version
    first, so two processes opening a new store at once do not both apply it. On
    PostgreSQL the same migrations run, translated by :func:`pg_ddl`, in transactions
    of their own (PostgreSQL's DDL is transactional too).
    """
    while True:
        version = schema_version(conn)
        if version >= len(MIGRATIONS):
            return len(MIGRATIONS)
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)
            if version < len(MIGRATIONS):
                for statement in migration_statements(conn, version):
                    conn.execute(statement)
                _set_version(conn, version + 1)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class SchemaOutOfDate(RuntimeError):
    """The store's schema is not the one this IVR was written for."""


def check_schema(conn: Connection) -> int:
    """The store's schema version, when this IVR may serve calls on it: a new, empty
    store (0, the migrations make it) or an up-to-date one. Raises
    :class:`SchemaOutOfDate` with what to do otherwise: a worker never upgrades a
    shared store by itself, since the other workers may be older."""
    version = schema_version(conn)
    needed = len(MIGRATIONS)
    if 0 < version < needed:
        raise SchemaOutOfDate(
            f"the store has schema version {version}, this IVR needs {needed}:"
            " run `pln123 db upgrade` first (back the store up before)"
        )
    if version > needed:
        raise SchemaOutOfDate(
            f"the store has schema version {version}, newer than this IVR's {needed}:"
            " run the IVR version that upgraded it"
        )
    return version


def _is_sqlite(conn: Connection) -> bool:
    return isinstance(conn, sqlite3.Connection)


def schema_version(conn: Connection) -> int:
    """How many migrations the store has: 0 for a new, empty one."""
    if _is_sqlite(conn):
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        return int(version)
    if not conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def _set_version(conn: Connection, version: int) -> None:
    if _is_sqlite(conn):
        conn.execute(f"PRAGMA user_version = {int(version)}")
    else:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))


def migration_statements(conn: Connection, version: int) -> list[str]:
    """Migration ``version + 1`` as statements in the dialect of ``conn``."""
    script = MIGRATIONS[version]
    return _statements(script if _is_sqlite(conn) else pg_ddl(script))


_PG_TYPES = [
    # A SQLite row id: a PostgreSQL identity column (explicit values still allowed).
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
]


def pg_ddl(script: str) -> str:
    """A migration written for SQLite, in PostgreSQL's words: the column types are the
    only difference in what the migrations use (tested: both schemas have the same
    tables, columns and indexes)."""
    for pattern, replacement in _PG_TYPES:
        script = pattern.sub(replacement, script)
    return script


def _statements(script: str) -> list[str]:
    """The statements of a migration script (``executescript`` would commit midway)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
