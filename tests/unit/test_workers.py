"""The supervisor of ``pln123 serve --workers``: restarts with a backoff, signals
forwarded, stopping; and closing only a dead worker's calls. No real processes."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ivr.screenpop.callback_poll import CallbackPoll
from ivr.screenpop.hub import PopHub
from ivr.screenpop.recovered import close_interrupted
from ivr.store.calls import CallStore, connect, read_summary
from ivr.store.pops import PopStore, insert_callback
from ivr.web.worker_peers import socket_path
from ivr.workers.run import runtime_folder
from ivr.workers.supervisor import Backoff, Supervisor, describe_exit


class FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exitcode: int | None = None
        self.signals: list[int] = []

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)


class Harness:
    """A supervisor over fake processes and a clock the test moves."""

    def __init__(self, names: tuple[str, ...] = ("web", "agi-1", "agi-2")) -> None:
        self.now = 1000.0
        self.spawned: list[tuple[str, FakeProcess]] = []
        self.gone: list[tuple[str, int]] = []
        self.supervisor = Supervisor(
            names, self.spawn, self.on_gone, backoff=Backoff(1.0, 8.0, 60.0), clock=self.clock
        )

    def clock(self) -> float:
        return self.now

    def spawn(self, name: str) -> FakeProcess:
        process = FakeProcess(100 + len(self.spawned))
        self.spawned.append((name, process))
        return process

    def on_gone(self, name: str, process: FakeProcess) -> None:
        self.gone.append((name, process.pid))

    def die(self, name: str, code: int = -9) -> None:
        self.supervisor.live()[name].exitcode = code
        self.supervisor.exited(name)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.supervisor.restart_due()


def test_every_worker_starts() -> None:
    h = Harness()
    h.supervisor.start()
    assert sorted(h.supervisor.live()) == ["agi-1", "agi-2", "web"]
    assert h.supervisor.next_restart() is None


def test_a_dead_worker_is_cleaned_up_then_started_again_after_the_backoff() -> None:
    h = Harness()
    h.supervisor.start()
    old = h.supervisor.live()["agi-2"].pid
    h.advance(5)
    h.die("agi-2")
    assert h.gone == [("agi-2", old)]
    assert "agi-2" not in h.supervisor.live()
    assert h.supervisor.next_restart() == pytest.approx(1.0)
    h.advance(0.5)
    assert "agi-2" not in h.supervisor.live()
    h.advance(0.5)
    assert h.supervisor.live()["agi-2"].pid != old
    assert h.supervisor.next_restart() is None


def test_a_crash_loop_backs_off_doubling_up_to_the_most_and_a_stable_run_resets() -> None:
    h = Harness(("agi-1",))
    h.supervisor.start()
    delays = []
    for _ in range(6):
        h.advance(0.1)  # dies at once, each time
        h.die("agi-1", code=1)
        delay = h.supervisor.next_restart()
        assert delay is not None
        delays.append(delay)
        h.advance(delay)
    assert delays == pytest.approx([1.0, 2.0, 4.0, 8.0, 8.0, 8.0])
    h.advance(61)  # this one ran a minute: no crash loop
    h.die("agi-1")
    assert h.supervisor.next_restart() == pytest.approx(1.0)


def test_sighup_goes_to_every_worker() -> None:
    h = Harness()
    h.supervisor.start()
    h.supervisor.signal(signal.SIGHUP)
    assert all(p.signals == [signal.SIGHUP] for _, p in h.spawned)
    assert not h.supervisor.stopping


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_stops_every_worker_and_restarts_none(signum: int) -> None:
    h = Harness()
    h.supervisor.start()
    h.advance(5)
    h.die("agi-1")  # a restart is planned ...
    h.supervisor.signal(signum)
    assert h.supervisor.next_restart() is None  # ... and dropped
    assert all(p.signals == [signal.SIGTERM] for name, p in h.spawned if name != "agi-1")
    assert not h.supervisor.finished  # the others finish their calls first
    for name in ("web", "agi-2"):
        h.die(name, code=0)
    h.advance(10)
    assert h.supervisor.live() == {}
    assert h.supervisor.finished
    assert [name for name, _ in h.spawned] == ["web", "agi-1", "agi-2"]
    assert sorted(name for name, _ in h.gone) == ["agi-1", "agi-2", "web"]


def test_a_worker_that_cannot_be_forked_is_tried_again_later() -> None:
    h = Harness(("agi-1",))
    fail = [True]

    def spawn(name: str) -> FakeProcess:
        if fail.pop():
            raise OSError("Resource temporarily unavailable")
        return h.spawn(name)

    supervisor = Supervisor(["agi-1"], spawn, h.on_gone, clock=h.clock)
    fail.append(False)
    fail.append(True)
    supervisor.start()
    assert supervisor.live() == {}
    assert supervisor.next_restart() == pytest.approx(1.0)
    h.now += 1.0
    supervisor.restart_due()
    assert list(supervisor.live()) == ["agi-1"]


def test_how_a_worker_ended_reads() -> None:
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(None) == "is gone"


def test_only_the_dead_worker_s_calls_are_closed(tmp_path: Path) -> None:
    """Calls of another live worker, of another host and the dead worker's own ended
    calls stay as they are; a host starting closes its earlier processes' and the
    untagged calls of before, not another host's."""
    db = tmp_path / "calls.sqlite3"
    CallStore(db).close()  # every migration
    conn = connect(db)
    rows = [  # (id, worker, ended)
        ("dead-open", "ivr1:100", None),
        ("dead-ended", "ivr1:100", "2026-12-05T08:30:00.000+00:00"),
        ("live-open", "ivr1:101", None),
        ("other-host", "ivr2:100", None),
        ("untagged", "", None),
    ]
    for call_id, worker, ended in rows:
        conn.execute(
            "INSERT INTO calls (id, flow, caller, started_at, ended_at, worker)"
            " VALUES (?, 'main', '081234567890', '2026-12-05T08:00:00.000+00:00', ?, ?)",
            (call_id, ended, worker),
        )
    at = "2026-12-05T09:00:00.000+00:00"
    assert close_interrupted(conn, at, worker="ivr1:100") == ["dead-open"]
    summary = read_summary(conn, "dead-open")
    assert summary is not None and summary.outcome == "queued" and summary.screenpop is not None
    still_open = {"live-open", "other-host", "untagged"}
    assert {r[0] for r in conn.execute("SELECT id FROM calls WHERE ended_at IS NULL")} == still_open
    # ivr1 restarted (its processes all gone): its own and the untagged, not ivr2's.
    assert sorted(close_interrupted(conn, at, host="ivr1")) == ["live-open", "untagged"]
    assert close_interrupted(conn, at, host="ivr") == []  # a prefix of a name is no host
    conn.close()


async def test_a_call_store_tags_its_calls_with_its_worker(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "calls.sqlite3", worker="ivr1:4242")
    await store.start_call("c1", "main", "081234567890", "PJSIP/x", "1.1")
    assert store.connection.execute("SELECT worker FROM calls").fetchone() == ("ivr1:4242",)
    store.close()


async def test_a_call_back_stored_by_a_call_worker_reaches_the_open_pages(
    tmp_path: Path,
) -> None:
    """The pages' process sees a request another process stored, once."""
    db = tmp_path / "calls.sqlite3"
    store = PopStore(db)
    hub = PopHub(store, {}, "Asia/Jakarta")
    told: list[str] = []
    hub.callbacks_changed = lambda: told.append("callbacks")  # type: ignore[method-assign]
    insert_callback(store.connection, "before", "before", "081234567890", "umum")
    poll = CallbackPoll(hub, interval=3600)
    poll.start()
    try:
        assert not poll.check()  # what was stored before the start is no news
        worker = connect(db)
        insert_callback(worker, "c1", "c1", "081234567890", "periksa")
        worker.close()
        assert poll.check()
        assert not poll.check()
        assert told == ["callbacks"]
    finally:
        await poll.close()
        store.close()


def test_the_runtime_folder_is_private_and_removed_with_its_sockets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path))
    with runtime_folder() as folder:
        assert folder.parent == tmp_path and folder.stat().st_mode & 0o777 == 0o700
        socket_path(folder, "agi-1").write_text("left by a dead worker")
    assert not folder.exists()
