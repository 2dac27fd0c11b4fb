"""The SQLite schema, as numbered migrations applied in order.

``PRAGMA user_version`` holds the number of migrations applied; a new version of the
IVR adds migrations at the end of :data:`MIGRATIONS` and never edits old ones.
"""

from __future__ import annotations

import sqlite3

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
]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this file lacks; returns the schema version."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    return len(MIGRATIONS)
