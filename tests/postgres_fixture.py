"""PostgreSQL for tests: one sandbox server per session, a fresh database per test.

``postgres_server`` starts a :class:`PostgresSandbox` (``fast=True``: no fsync) the
first time a test asks for it, on a cluster under ``.cache/postgres/pytest-<n>``
(the first one no other session holds), and stops it when the session ends. The
cluster is reused by later sessions (initdb once); a server a killed session left
running is stopped, and the databases it left are dropped.

``postgres_url`` is the URL of a brand-new empty database (``CREATE DATABASE ...
TEMPLATE template0``: about 20 ms, 50 ms with the connection), dropped after the test.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ivr.store.dbapi import Location
from ivr.tools.postgres_sandbox import PostgresSandbox, PostgresSandboxBusy

#: Test databases are named ``test_<test name>_<random>``; the prefix finds left-overs.
DATABASE_PREFIX = "test_"
#: Sessions that may run side by side on one checkout, each on its own cluster.
MAX_SESSIONS = 8


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresSandbox]:
    """A sandbox PostgreSQL for the whole session (fast, not durable)."""
    server = _start_free_sandbox()
    try:
        _drop_left_over_databases(server)
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresSandbox, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new empty database of this test's own, dropped afterwards."""
    name = database_name(request.node.name)
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)


def database_name(test_name: str) -> str:
    """``test_<test name, as an identifier>_<8 hex>``, at most 63 bytes."""
    slug = re.sub(r"[^a-z0-9]+", "_", test_name.lower().removeprefix("test_")).strip("_")
    return f"{DATABASE_PREFIX}{slug[:40]}_{secrets.token_hex(4)}"


def _start_free_sandbox() -> PostgresSandbox:
    for number in range(MAX_SESSIONS):
        server = PostgresSandbox(name=f"pytest-{number}", fast=True)
        try:
            server.start()
        except PostgresSandboxBusy:
            continue
        return server
    raise PostgresSandboxBusy(f"{MAX_SESSIONS} test sessions already hold a sandbox PostgreSQL")


def _drop_left_over_databases(server: PostgresSandbox) -> None:
    """Databases of an earlier session that was killed before its tests cleaned up."""
    with psycopg.connect(server.url_for("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
            (DATABASE_PREFIX,),
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    """Each store in turn: a fresh SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "calls.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url
