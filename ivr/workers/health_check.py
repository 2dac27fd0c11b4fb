"""The health check ``pln123-health.timer`` runs: ``python -m ivr.workers.health_check URL``.

What ``/healthz`` says, and what is done about it:

* No answer (:data:`TRIES` tries, :data:`DELAY` s apart, :data:`TIMEOUT` s each): the
  IVR is gone or the event loop of its web pages is hung (in one process, the calls'
  loop too): ``systemctl restart pln123.service``.
* ``degraded`` because a call store fails: nothing. The IVR recovers by itself and
  hands callers to a CSO meanwhile.
* A call worker of ``pln123 serve --workers N`` that has not answered the web process
  for :data:`HUNG_AFTER` s, while the process it last answered from is still a child of
  the service's main process: it is hung (a dead one is started again by the supervisor
  within 30 s). It is killed with SIGKILL; the supervisor closes its calls (the dialplan
  has queued their callers) and starts it again, and the other workers' calls go on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICE = "pln123.service"
URL = "http://127.0.0.1:8123/healthz"
TRIES = 5
DELAY = 3.0
TIMEOUT = 5.0
#: Seconds a call worker may go without answering before it counts as hung: longer
#: than the supervisor's longest wait before starting a dead one again, plus its start.
HUNG_AFTER = 60.0


def fetch(url: str, timeout: float) -> dict[str, Any] | None:
    """``/healthz``'s JSON; None when it does not answer (or not with HTTP 200 JSON)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def main_pid() -> int | None:
    """The service's main process (the supervisor), as systemd knows it."""
    shown = subprocess.run(
        ["systemctl", "show", "--property=MainPID", "--value", SERVICE],
        capture_output=True,
        text=True,
        check=False,
    )
    pid = shown.stdout.strip()
    return int(pid) if pid.isdigit() and int(pid) > 0 else None


def parent_of(pid: int) -> int | None:
    """The parent of process ``pid`` (None: no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # after "(comm)": state, ppid


def restart() -> None:
    subprocess.run(["systemctl", "restart", SERVICE], check=False)


@dataclass
class Host:
    """What the check reads and does; the tests give fakes."""

    fetch: Callable[[str, float], dict[str, Any] | None] = fetch
    restart: Callable[[], None] = restart
    main_pid: Callable[[], int | None] = main_pid
    parent_of: Callable[[int], int | None] = parent_of
    kill: Callable[[int], None] = field(default=lambda pid: os.kill(pid, signal.SIGKILL))
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time


def check(url: str, host: Host, *, tries: int = TRIES, delay: float = DELAY) -> list[str]:
    """Ask ``url`` and act on the answer; what was done, one line each."""
    health = None
    for attempt in range(tries):
        if attempt:
            host.sleep(delay)
        health = host.fetch(url, TIMEOUT)
        if health is not None:
            break
    if health is None:
        host.restart()
        return [f"pln123: {url} did not answer; restarted {SERVICE}"]
    return _kill_hung_workers(health, host)


def _kill_hung_workers(health: dict[str, Any], host: Host) -> list[str]:
    workers = health.get("workers")
    if not isinstance(workers, dict):
        return []
    done: list[str] = []
    supervisor: int | None = None
    for name, worker in sorted(workers.items()):
        if not isinstance(worker, dict) or worker.get("up", True):
            continue
        pid, since = worker.get("pid"), worker.get("since")
        if not isinstance(pid, int) or not isinstance(since, int | float):
            continue
        if host.now() - since < HUNG_AFTER:
            continue
        supervisor = supervisor if supervisor is not None else host.main_pid()
        if supervisor is None or host.parent_of(pid) != supervisor:
            continue  # gone already (the supervisor starts it again), or not ours
        host.kill(pid)
        done.append(
            f"pln123: call worker {name} (pid {pid}) has not answered for"
            f" {host.now() - since:.0f} s ({worker.get('reason', '')}); killed it, the"
            " supervisor starts it again"
        )
    return done


def main(argv: list[str]) -> int:
    for line in check(argv[1] if len(argv) > 1 else URL, Host()):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
