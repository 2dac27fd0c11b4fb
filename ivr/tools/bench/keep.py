"""What ``pln123 bench calls --keep DIR`` leaves behind, so failed calls can be read.

``DIR`` gets:

* ``calls.sqlite3`` (SQLite runs) or ``store.sql`` (a ``pg_dump`` of the run's
  PostgreSQL database): the IVR's store, ``calls``, ``journeys``, ``answers``,
  ``reports`` and the rest;
* ``serve.log``: ``pln123 serve``'s output;
* ``agi.log``: every AGI command and answer as the relay passed it, with wall-clock
  times and the channel (:mod:`.agi_relay`);
* ``asterisk/``: the sandbox Asterisk's ``log/`` folder (``full.log``,
  ``messages.log``, and ``dtmf.log``, every key, logged for kept runs only), its
  ``console.log`` and the configuration it ran (``etc/``);
* ``calls.jsonl``: one line per call as the caller's side saw it: the bench's test
  id, the IVR's call id, the outcome, the CSO queue, problems, and ``seen``, each
  ``PLN123Listen`` event with the keys the caller leg was handed for it, each line
  ``+seconds since the Originate``;
* ``table.txt``: the bench's table.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from ivr.tools.bench.call_driver import CallTrace
from ivr.tools.sandbox import AsteriskSandbox

#: The run folder's files worth keeping (the silent prompts and flows are not).
STORE_FILES = ("calls.sqlite3", "calls.sqlite3-wal", "calls.sqlite3-shm", "serve.log", "agi.log")
PG_DUMP_TIMEOUT = 300.0


def keep_run(folder: Path, into: Path) -> None:
    """The run folder's store and ``serve.log``."""
    into.mkdir(parents=True, exist_ok=True)
    for name in STORE_FILES:
        with contextlib.suppress(FileNotFoundError):
            shutil.copy2(folder / name, into / name)


def keep_asterisk(sandbox: AsteriskSandbox, into: Path) -> None:
    """The stopped sandbox's logs and rendered configuration, under ``into/asterisk``."""
    target = into / "asterisk"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("log", "etc"):
        source = sandbox.state_dir / name
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        shutil.copy2(sandbox.console_log, target / "console.log")


def keep_postgres(url: str, into: Path) -> str:
    """A plain-SQL dump of the run's database as ``into/store.sql``; '' or why not."""
    from ivr.tools.postgres_sandbox import PostgresSandboxError, find_bindir

    into.mkdir(parents=True, exist_ok=True)
    try:
        pg_dump = find_bindir() / "pg_dump"
        done = subprocess.run(
            [str(pg_dump), "--no-owner", "--file", str(into / "store.sql"), url],
            capture_output=True,
            timeout=PG_DUMP_TIMEOUT,
            check=False,
        )
    except (PostgresSandboxError, OSError, subprocess.TimeoutExpired) as exc:
        return f"pg_dump: {exc}"
    if done.returncode != 0:
        return f"pg_dump failed: {done.stderr.decode(errors='replace').strip()}"
    return ""


def keep_traces(traces: Iterable[CallTrace], into: Path) -> None:
    """``calls.jsonl``: every call as the caller's side saw it."""
    into.mkdir(parents=True, exist_ok=True)
    with (into / "calls.jsonl").open("w") as out:
        for trace in traces:
            out.write(json.dumps(asdict(trace), ensure_ascii=False) + "\n")


def keep_table(table: str, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    (into / "table.txt").write_text(table + "\n")
