"""The login throttle's buckets and the session store, on a clock of the test's own
(the server-level attacks are in ``tests/web/test_login_attacks.py``)."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from ivr.config import AgentSettings
from ivr.web import auth
from ivr.web.security import MIN_TOKEN_LENGTH, token_problems

AGENTS = {"cso1": AgentSettings(name="Dewi", token=SecretStr("rahasia-cso1-0001"))}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_gives_its_burst_then_one_per_interval() -> None:
    buckets = auth.TokenBuckets(burst=3, per_minute=6.0)  # one back every 10 s
    assert [buckets.fail("a", 0.0) for _ in range(3)] == [False, False, True]
    assert buckets.wait("a", 0.0) == pytest.approx(10.0)
    assert buckets.wait("b", 0.0) == 0.0  # another key is not held up
    assert buckets.wait("a", 9.0) == pytest.approx(1.0)
    assert buckets.wait("a", 10.0) == 0.0
    assert buckets.fail("a", 10.0) is False  # still the same lockout: no new log line
    assert buckets.wait("a", 10.0) == pytest.approx(10.0)
    # Full again after 30 s of quiet: the next run of failures is a new lockout.
    assert [buckets.fail("a", 40.0 + i) for i in range(3)] == [False, False, True]


def test_buckets_forget_quiet_keys_when_too_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.TokenBuckets, "MAX_KEYS", 3)
    buckets = auth.TokenBuckets(burst=2, per_minute=6.0)
    buckets.fail("k0", 0.0)
    buckets.fail("k1", 0.0)
    buckets.fail("busy", 5.0)
    buckets.fail("busy", 5.0)
    buckets.fail("new", 20.0)  # k0 and k1 are full again by then: forgotten
    assert set(buckets._buckets) == {"busy", "new"}
    assert buckets._buckets["busy"].tokens == pytest.approx(1.5)  # kept: not full yet


def test_the_throttle_logs_once_per_lockout(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    throttle = auth.LoginThrottle(2, 6.0, 100, 60.0, clock)
    caplog.set_level(logging.WARNING, "ivr.web.auth")
    for _ in range(20):
        if throttle.retry_after(auth.AGENT, "192.0.2.1", "cso1") == 0:
            throttle.failed(auth.AGENT, "192.0.2.1", "cso1")
        clock.now += 1.0
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "192.0.2.1" in lines[0] and "locked out" in lines[0]


def test_an_ipv6_client_counts_by_its_64() -> None:
    throttle = auth.LoginThrottle(2, 1.0, 100, 60.0, Clock())
    throttle.failed(auth.AGENT, "2001:db8:1:2::1", "a")
    throttle.failed(auth.AGENT, "2001:db8:1:2:ffff::9", "b")
    assert throttle.retry_after(auth.AGENT, "2001:db8:1:2::77", "c") == 60
    assert throttle.retry_after(auth.AGENT, "2001:db8:1:3::1", "c") == 0
    assert auth.LoginThrottle.address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert auth.LoginThrottle.address_key("?") == "?"


def test_sessions_end_at_max_age_idle_and_logout() -> None:
    clock = Clock()
    store = auth.SessionStore(max_age=100.0, idle_timeout=30.0, clock=clock)
    one = store.create(auth.AGENT, AGENTS, "cso1")
    two = store.create(auth.AGENT, AGENTS, "cso1")
    assert one != two and len(one) == 43
    clock.now += 29.0
    assert store.user_of(auth.AGENT, AGENTS, one) == "cso1"
    assert store.user_of(auth.AGENT, AGENTS, two, touch=False) == "cso1"
    clock.now += 29.0
    assert store.user_of(auth.AGENT, AGENTS, one) == "cso1"
    assert store.user_of(auth.AGENT, AGENTS, two) is None  # idle 58 s
    for _ in range(2):
        clock.now += 20.0
        assert store.user_of(auth.AGENT, AGENTS, one) == "cso1"
    clock.now += 2.0  # 100 s since the login
    assert store.user_of(auth.AGENT, AGENTS, one) is None
    three = store.create(auth.AGENT, AGENTS, "cso1")
    assert store.revoke(three) and not store.revoke(three)
    assert store.user_of(auth.AGENT, AGENTS, three) is None
    assert len(store) == 0


def test_short_tokens_are_named() -> None:
    users = {
        "ok": AgentSettings(name="a", token=SecretStr("x" * MIN_TOKEN_LENGTH)),
        "short": AgentSettings(name="b", token=SecretStr("x" * (MIN_TOKEN_LENGTH - 1))),
        "empty": AgentSettings(name="c", token=SecretStr("")),
    }
    assert token_problems(users, {}) == [
        "[agents.short] token is 15 characters; at least 16 are needed",
        "[agents.empty] token is 0 characters; at least 16 are needed",
    ]
