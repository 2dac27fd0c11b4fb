"""The sandbox PostgreSQL: a real server (Debian's binaries), started and stopped.

Not marked ``e2e``: a start costs about 0.1 s (initdb 0.3 s, once per cluster), so
these run with the fast tests, like ``tests/process``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ivr.tools import postgres_sandbox
from ivr.tools.postgres_sandbox import (
    DEFAULT_CACHE_DIR,
    PostgresSandbox,
    PostgresSandboxBusy,
    PostgresSandboxError,
    find_bindir,
)
from tests.postgres_fixture import database_name

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster_base() -> Iterator[Path]:
    """One cluster folder for this module's lifecycle tests (initdb once).

    In /tmp rather than pytest's tmp_path: as root the server runs as ``postgres``,
    which cannot pass through pytest's 0700 ``/tmp/pytest-of-root``. mkdtemp's folder
    is the base itself, which the sandbox hands over to that user.
    """
    base = Path(tempfile.mkdtemp(prefix="pln123-pg-"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def sandbox(cluster_base: Path) -> Iterator[PostgresSandbox]:
    server = PostgresSandbox(base=cluster_base, fast=True)
    try:
        yield server
    finally:
        server.stop()


def query(url: str, statement: str) -> list[tuple[object, ...]]:
    """Run ``statement``; its rows, or [] for a statement that returns none."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description is not None else []


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_start_connect_create_database_stop(sandbox: PostgresSandbox) -> None:
    url = sandbox.start()
    assert url == f"postgresql://pln123@127.0.0.1:{sandbox.port}/pln123"
    settings = query(
        url,
        "SELECT current_user, current_database(), current_setting('fsync'),"
        " current_setting('synchronous_commit'), current_setting('full_page_writes'),"
        " current_setting('max_connections'), current_setting('listen_addresses')",
    )
    assert settings == [("pln123", "pln123", "off", "off", "off", "200", "127.0.0.1")]

    fresh = sandbox.create_database("fresh_one")
    assert fresh.endswith(f":{sandbox.port}/fresh_one")
    assert query(fresh, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    with pytest.raises(psycopg.errors.DuplicateDatabase):
        sandbox.create_database("fresh_one")
    sandbox.drop_database("fresh_one")

    port = sandbox.port
    sandbox.stop()
    assert not sandbox.running
    assert not port_open(port)


def test_stop_ends_open_sessions_and_leaves_no_process(sandbox: PostgresSandbox) -> None:
    url = sandbox.start()
    conn = psycopg.connect(url)  # left open on purpose: fast shutdown must end it
    try:
        pids = sandbox.server_pids()
        backend = conn.info.backend_pid
        assert sandbox.pid in pids and backend in pids
        sandbox.stop()
        assert sandbox.server_pids() == []
        assert not any(Path(f"/proc/{pid}").exists() and _not_zombie(pid) for pid in pids)
    finally:
        conn.close()


def test_restart_reuses_the_cluster(sandbox: PostgresSandbox) -> None:
    url = sandbox.start()
    query(url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
    version_file = sandbox.data_dir / "PG_VERSION"
    made = version_file.stat().st_mtime_ns
    sandbox.stop()

    url = sandbox.start()
    assert query(url, "SELECT n FROM kept") == [(42,)]
    assert version_file.stat().st_mtime_ns == made
    query(url, "DROP TABLE kept")


def test_start_after_a_killed_run_stops_its_server(cluster_base: Path) -> None:
    """A program that started the sandbox and was killed (no stop, no atexit) left
    its server running; the next start stops it and starts its own."""
    started = subprocess.run(
        [sys.executable, "-c", _START_AND_DIE, str(cluster_base)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert started.returncode == -signal.SIGKILL, started.stderr
    orphan = int(started.stdout.split()[0])
    assert _not_zombie(orphan), "the killed run's server should still be up"

    with PostgresSandbox(base=cluster_base, fast=True) as sandbox:
        assert sandbox.pid != orphan
        assert not _not_zombie(orphan)
        assert query(sandbox.url, "SELECT 1") == [(1,)]
    assert sandbox.server_pids() == []


def test_a_program_that_forgets_to_stop_leaves_no_server(cluster_base: Path) -> None:
    """The atexit hook stops the server when the program ends without stop()."""
    script = _START_AND_DIE.replace("os.kill(os.getpid(), signal.SIGKILL)", "")
    ended = subprocess.run(
        [sys.executable, "-c", script, str(cluster_base)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert ended.returncode == 0, ended.stderr
    assert not _not_zombie(int(ended.stdout.split()[0]))
    assert PostgresSandbox(base=cluster_base).server_pids() == []


def test_start_with_a_stale_pid_file(sandbox: PostgresSandbox) -> None:
    """postmaster.pid of a server that died, whose process id is now another
    process's (here: this test's): PostgreSQL alone would refuse to start."""
    sandbox.start()
    sandbox.stop()
    (sandbox.data_dir / "postmaster.pid").write_text(f"{os.getpid()}\n{sandbox.data_dir}\n")

    url = sandbox.start()
    assert query(url, "SELECT 1") == [(1,)]


def test_a_second_sandbox_on_the_same_folder_is_refused(sandbox: PostgresSandbox) -> None:
    sandbox.start()
    with pytest.raises(PostgresSandboxBusy, match="already running"):
        PostgresSandbox(base=sandbox.folder).start()
    assert query(sandbox.url, "SELECT 1") == [(1,)]


def test_database_names_are_checked(sandbox: PostgresSandbox) -> None:
    with pytest.raises(ValueError, match="database name"):
        sandbox.create_database('x"; DROP DATABASE pln123; --')
    with pytest.raises(ValueError):
        sandbox.create_database("x" * 64)


def test_default_folder_is_the_project_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_sandbox, "_passable_above_project", lambda user: True)
    assert PostgresSandbox().folder == DEFAULT_CACHE_DIR / "main" == REPO / ".cache/postgres/main"
    assert PostgresSandbox(name="bench").data_dir == REPO / ".cache/postgres/bench/data"


def test_a_checkout_the_server_user_cannot_reach_keeps_its_cluster_in_var_tmp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A checkout under a private home folder (``/root``, mode 0700) still gets a
    sandbox: its clusters go to a folder of its own under /var/tmp."""
    monkeypatch.setattr(postgres_sandbox, "_service_user", lambda: pwd.getpwuid(os.getuid()))
    monkeypatch.setattr(postgres_sandbox, "_passable_above_project", lambda user: False)
    folder = PostgresSandbox(name="bench").folder
    assert folder.name == "bench"
    assert folder.parent.parent == postgres_sandbox.SHARED_CACHE_DIR
    assert folder == PostgresSandbox(name="bench").folder  # the same checkout, the same one


def test_long_folders_put_the_socket_in_tmp() -> None:
    deep = PostgresSandbox(base=Path("/tmp") / ("x" * 120))
    assert len(f"{deep.socket_dir}/.s.PGSQL.65535.lock") <= 107
    assert deep.socket_dir != deep.folder / "run"
    assert PostgresSandbox(base=Path("/tmp/short")).socket_dir == Path("/tmp/short/run")


def test_newest_binaries_are_chosen(tmp_path: Path) -> None:
    for major in ("9.6", "13", "15", "16"):
        bindir = tmp_path / major / "bin"
        bindir.mkdir(parents=True)
        for name in ("initdb", "pg_ctl", "postgres"):
            if major != "16":  # 16 is only the client package: no server
                (bindir / name).touch(mode=0o755)
    assert find_bindir(tmp_path) == tmp_path / "15" / "bin"
    assert find_bindir(tmp_path, "13") == tmp_path / "13" / "bin"


def test_missing_binaries_say_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(PostgresSandboxError, match="postgresql package"):
        find_bindir(tmp_path)
    with pytest.raises(PostgresSandboxError, match="postgresql-14 package"):
        find_bindir(tmp_path, "14")
    with pytest.raises(PostgresSandboxError, match="postgresql package"):
        PostgresSandbox(base=tmp_path / "pg", pg_lib=tmp_path / "none").start()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to postgres")
def test_unreachable_folder_outside_the_project_is_named() -> None:
    closed = Path(tempfile.mkdtemp(prefix="pln123-closed-"))  # mode 0700
    try:
        with pytest.raises(PostgresSandboxError, match=f"chmod o\\+x {closed}"):
            PostgresSandbox(base=closed / "pg").start()
        assert oct(closed.stat().st_mode & 0o777) == oct(0o700)
    finally:
        shutil.rmtree(closed)


# --------------------------------------------------------------- the fixtures
def test_postgres_url_is_a_new_empty_database(postgres_url: str) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    assert name.startswith("test_postgres_url_is_a_new_empty_database_")
    assert query(postgres_url, "SELECT current_database()") == [(name,)]
    assert query(
        postgres_url, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
    ) == [(0,)]
    query(postgres_url, "CREATE TABLE mine (n int)")


def test_each_test_gets_its_own_database(
    postgres_url: str, postgres_server: PostgresSandbox
) -> None:
    assert query(postgres_url, "SELECT to_regclass('mine') IS NULL") == [(True,)]
    assert postgres_server.running
    assert query(postgres_url, "SHOW fsync") == [("off",)]


def test_database_names_fit_postgres() -> None:
    name = database_name("test_something[param-with-Capitals-" + "x" * 80 + "]")
    assert len(name) <= 63
    assert name.startswith("test_something_param_with_capitals_")


def _not_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


#: Start a sandbox, print the server's pid, then die the way `kill -9` kills.
_START_AND_DIE = """
import os, signal, sys
from pathlib import Path
from ivr.tools.postgres_sandbox import PostgresSandbox
sandbox = PostgresSandbox(base=Path(sys.argv[1]), fast=True)
sandbox.start()
print(sandbox.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
