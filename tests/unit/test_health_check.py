"""The health check pln123-health.timer runs (``ivr.workers.health_check``): restart the
IVR when /healthz does not answer, kill a call worker that stopped answering for long
(only one the service's supervisor started), leave a failing store alone. Fakes only:
nothing is restarted or killed."""

from __future__ import annotations

import os
from typing import Any

from ivr.workers import health_check
from ivr.workers.health_check import HUNG_AFTER, Host, check

NOW = 10_000.0
SUPERVISOR = 500


class Fakes:
    def __init__(self, answers: list[dict[str, Any] | None]) -> None:
        self.answers = answers
        self.asked = 0
        self.restarted = 0
        self.killed: list[int] = []
        self.slept: list[float] = []
        #: pid -> parent pid of the processes there are.
        self.parents = {501: SUPERVISOR, 502: SUPERVISOR, 900: 1}

    def host(self) -> Host:
        return Host(
            fetch=self.fetch,
            restart=self.restart,
            main_pid=lambda: SUPERVISOR,
            parent_of=self.parents.get,
            kill=self.killed.append,
            sleep=self.slept.append,
            now=lambda: NOW,
        )

    def fetch(self, url: str, timeout: float) -> dict[str, Any] | None:
        self.asked += 1
        return self.answers.pop(0) if self.answers else None

    def restart(self) -> None:
        self.restarted += 1


def workers(**entries: dict[str, Any]) -> dict[str, Any]:
    return {"status": "degraded", "ami": True, "store": {"ok": True}, "workers": entries}


def down(pid: int, seconds: float) -> dict[str, Any]:
    return {"up": False, "pid": pid, "since": NOW - seconds, "reason": "no answer within 1.5 s"}


UP = {"up": True, "pid": 502, "store": {"ok": True}}


def test_no_answer_after_every_try_restarts_the_service() -> None:
    fakes = Fakes([])
    done = check(health_check.URL, fakes.host())
    assert fakes.asked == health_check.TRIES and fakes.slept == [health_check.DELAY] * 4
    assert fakes.restarted == 1 and done == [
        f"pln123: {health_check.URL} did not answer; restarted pln123.service"
    ]


def test_a_late_answer_and_a_failing_store_are_left_alone() -> None:
    store_fails = {"status": "degraded", "ami": True, "store": {"ok": False, "reason": "x"}}
    fakes = Fakes([None, None, store_fails])
    assert check(health_check.URL, fakes.host()) == []
    assert fakes.restarted == 0 and fakes.killed == []


def test_a_worker_silent_for_long_is_killed_and_only_that_one() -> None:
    fakes = Fakes([workers(**{"agi-1": down(501, HUNG_AFTER + 5), "agi-2": UP})])
    (line,) = check(health_check.URL, fakes.host())
    assert fakes.killed == [501] and fakes.restarted == 0
    assert "call worker agi-1 (pid 501) has not answered for 65 s" in line


def test_a_worker_silent_for_a_moment_or_not_the_supervisor_s_is_not_killed() -> None:
    answer = workers(
        **{
            "agi-1": down(501, HUNG_AFTER - 5),  # may be starting again
            "agi-2": down(777, HUNG_AFTER + 5),  # gone: the supervisor starts it again
            "agi-3": down(900, HUNG_AFTER + 5),  # its pid is another program's now
            "agi-4": {"up": False, "pid": None, "since": NOW - 600},  # never answered
        }
    )
    fakes = Fakes([answer])
    assert check(health_check.URL, fakes.host()) == []
    assert fakes.killed == [] and fakes.restarted == 0


def test_parent_of_reads_proc_and_fetch_takes_no_answer_as_none() -> None:
    assert health_check.parent_of(os.getpid()) == os.getppid()
    assert health_check.parent_of(2**22 + 1) is None
    assert health_check.fetch("http://127.0.0.1:1/healthz", 1.0) is None
