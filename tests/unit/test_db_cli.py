"""``pln123 db status`` / ``db upgrade`` on both stores, and ``pln123 serve`` refusing a
store whose schema is older than this IVR's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ivr.cli.main import cli
from ivr.store.calls import connect
from ivr.store.dbapi import Location, is_postgres
from ivr.store.schema import MIGRATIONS, migration_statements, schema_version

REPO = Path(__file__).resolve().parents[2]


def run(location: Location, *args: str) -> Result:
    env = {**os.environ, "PLN123_CONFIG": "", "PLN123_FLOWS_DIR": str(REPO / "flows")}
    env["PLN123_AUDIO_DIR"] = str(REPO / "audio")
    env["PLN123_STORE__URL" if is_postgres(location) else "PLN123_DB_PATH"] = str(location)
    return CliRunner().invoke(cli, list(args), env=env)


def one_version_behind(location: Location) -> None:
    """A store as the IVR before the last migration left it."""
    conn = connect(location)
    try:
        for version in range(len(MIGRATIONS) - 1):
            conn.execute("BEGIN")
            for statement in migration_statements(conn, version):
                conn.execute(statement)
            conn.execute("COMMIT")
        if is_postgres(location):
            conn.execute("CREATE TABLE schema_version (version BIGINT NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS) - 1,))
        else:
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    finally:
        conn.close()


def test_an_older_store_is_refused_until_upgraded(store_location: Location) -> None:
    one_version_behind(store_location)
    old, new = len(MIGRATIONS) - 1, len(MIGRATIONS)

    status = run(store_location, "db", "status")
    assert status.exit_code == 1
    assert f"schema version {old}, this IVR needs {new}" in status.output
    assert "pln123 db upgrade" in status.output

    refused = run(store_location, "serve")
    assert refused.exit_code == 1
    assert f"refusing to start: the store has schema version {old}" in refused.output
    assert "run `pln123 db upgrade` first" in refused.output

    upgraded = run(store_location, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"schema version {old} -> {new}" in upgraded.output
    assert run(store_location, "db", "upgrade").output.endswith(
        f"already at schema version {new}\n"
    )
    assert run(store_location, "db", "status").exit_code == 0
    conn = connect(store_location)
    try:
        assert schema_version(conn) == new
    finally:
        conn.close()


def test_an_unreachable_store_is_one_line(tmp_path: Path) -> None:
    result = run("postgresql://nobody:secret@127.0.0.1:1/none", "db", "status")
    assert result.exit_code == 1
    assert "secret" not in result.output
    assert result.output.startswith("Error: postgresql://nobody@127.0.0.1:1/none:")


@pytest.mark.parametrize("command", [["db", "status"], ["db", "upgrade"]])
def test_a_bad_store_url_is_a_configuration_error(command: list[str]) -> None:
    env = {**os.environ, "PLN123_CONFIG": "", "PLN123_STORE__URL": "mysql://x"}
    result = CliRunner().invoke(cli, command, env=env)
    assert result.exit_code == 1
    assert "store.url must start with postgresql://" in result.output
