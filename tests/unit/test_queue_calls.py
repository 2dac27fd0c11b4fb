"""The queue statistics from AMI events: rows in ``queue_calls``, the waiting gauge and
the per-queue figures, fed with events shaped as Asterisk sends them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ivr import metrics
from ivr.agi import variables as var
from ivr.asterisk.ami import AmiEvent
from ivr.store.calls import connect
from ivr.store.dbapi import Location
from ivr.store.queue_calls import POP_ID_VARIABLE, QueueLog, percentile, queue_stats

T0 = 1_700_000_000.0


def ami(name: str, uniqueid: str, queue: str, at: float, **headers: str) -> AmiEvent:
    """An AMI event as panoramisk hands it over (then read by ``AmiEvent``)."""
    message: dict[str, str | list[str]] = {
        "Event": name,
        "Queue": queue,
        "Uniqueid": uniqueid,
        "Timestamp": f"{at:.6f}",
        **headers,
    }
    return AmiEvent.from_message(message)


def join(uniqueid: str, queue: str, at: float, pop_id: str = "") -> AmiEvent:
    extra: dict[str, str] = {}
    if pop_id:
        extra["ChanVariable"] = f"PLN123_POP_ID={pop_id}"
    return ami("QueueCallerJoin", uniqueid, queue, at, Position="1", Count="1", **extra)


def connect_(uniqueid: str, queue: str, at: float, hold: int) -> AmiEvent:
    return ami(
        "AgentConnect",
        uniqueid,
        queue,
        at,
        MemberName="cso1",
        Interface="Local/cso1@pln123-test-agents/n",
        HoldTime=str(hold),
        RingTime="1",
    )


def abandon(uniqueid: str, queue: str, at: float, hold: int) -> AmiEvent:
    return ami("QueueCallerAbandon", uniqueid, queue, at, HoldTime=str(hold), Position="1")


def leave(uniqueid: str, queue: str, at: float) -> AmiEvent:
    return ami("QueueCallerLeave", uniqueid, queue, at, Position="1", Count="0")


def gauge(queue: str) -> float:
    value = metrics.METRICS.registry.get_sample_value("pln123_queue_waiting", {"queue": queue})
    assert value is not None, f"no gauge for queue {queue}"
    return value


@pytest.fixture(autouse=True)
def fresh_metrics() -> None:
    metrics.fresh_registry()


@pytest.fixture
def db_path(store_location: Location) -> Location:
    """Each store in turn: the queue side is counted the same on both."""
    return store_location


@pytest.fixture
def queue_log(db_path: Location) -> Iterator[QueueLog]:
    log = QueueLog(db_path)
    try:
        yield log
    finally:
        log.close()


def stats(
    db_path: Location, since: float = T0 - 3600, until: float = T0 + 3600
) -> dict[str, dict[str, Any]]:
    conn = connect(db_path)
    try:
        return queue_stats(conn, since, until)
    finally:
        conn.close()


def rows(db_path: Location) -> dict[str, tuple[object, ...]]:
    conn = connect(db_path)
    try:
        found = conn.execute(
            "SELECT uniqueid, queue, pop_id, joined_at, answered_at, abandoned_at, wait_seconds"
            " FROM queue_calls"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: row[1:] for row in found}


# -- percentile ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([4.0], 0.5, 4.0),
        ([4.0], 0.9, 4.0),
        ([1.0, 2.0], 0.5, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.5, 3.0),
        ([float(n) for n in range(1, 11)], 0.9, 9.0),
        # 0.07 * 100 is 7.000000000000001 in floating point: still rank 7
        ([float(n) for n in range(1, 101)], 0.07, 7.0),
        ([float(n) for n in range(1, 21)], 0.9, 18.0),
        ([1.0, 2.0, 3.0], 0.0, 1.0),
        ([1.0, 2.0, 3.0], 1.0, 3.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_percentile_refuses_a_fraction_outside_0_1() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 90)


def test_the_pop_id_variable_is_the_one_the_ivr_sets() -> None:
    assert POP_ID_VARIABLE == var.POP_ID


# -- the log ---------------------------------------------------------------------------


def test_an_answered_caller(queue_log: QueueLog, db_path: Location) -> None:
    queue_log.handle(join("u1", "periksa", T0, pop_id="call-1"))
    assert gauge("periksa") == 1
    queue_log.handle(connect_("u1", "periksa", T0 + 12.5, hold=12))
    assert gauge("periksa") == 0
    # Asterisk says QueueCallerLeave for an answered caller too: no second decrement.
    queue_log.handle(leave("u1", "periksa", T0 + 12.5))
    assert gauge("periksa") == 0
    assert rows(db_path) == {"u1": ("periksa", "call-1", T0, T0 + 12.5, None, 12.5)}
    assert stats(db_path) == {
        "periksa": {"joined": 1, "answered": 1, "abandoned": 0, "wait_p50": 12.5, "wait_p90": 12.5}
    }


def test_leave_before_connect_counts_once(queue_log: QueueLog, db_path: Location) -> None:
    """app_queue takes the caller out of the queue before it publishes AgentConnect."""
    queue_log.handle(join("u1", "periksa", T0))
    queue_log.handle(join("u2", "periksa", T0 + 1))
    assert gauge("periksa") == 2
    queue_log.handle(leave("u1", "periksa", T0 + 5))
    assert gauge("periksa") == 1
    queue_log.handle(connect_("u1", "periksa", T0 + 5, hold=5))
    assert gauge("periksa") == 1
    assert stats(db_path)["periksa"]["answered"] == 1


def test_an_abandoned_caller_is_kept_out_of_the_waits(
    queue_log: QueueLog, db_path: Location
) -> None:
    queue_log.handle(join("u1", "pln_mobile", T0))
    queue_log.handle(join("u2", "pln_mobile", T0 + 1))
    queue_log.handle(abandon("u1", "pln_mobile", T0 + 30, hold=30))
    queue_log.handle(leave("u1", "pln_mobile", T0 + 30))
    assert gauge("pln_mobile") == 1
    queue_log.handle(connect_("u2", "pln_mobile", T0 + 4, hold=3))
    assert gauge("pln_mobile") == 0
    assert rows(db_path)["u1"] == ("pln_mobile", "", T0, None, T0 + 30, 30.0)
    assert stats(db_path) == {
        "pln_mobile": {"joined": 2, "answered": 1, "abandoned": 1, "wait_p50": 3.0, "wait_p90": 3.0}
    }


def test_events_seen_twice_count_once(queue_log: QueueLog, db_path: Location) -> None:
    """After an AMI reconnect the same event may come again: nothing changes."""
    for _ in range(2):
        queue_log.handle(join("u1", "periksa", T0))
    assert gauge("periksa") == 1
    for _ in range(2):
        queue_log.handle(connect_("u1", "periksa", T0 + 8, hold=8))
        queue_log.handle(leave("u1", "periksa", T0 + 8))
    queue_log.handle(join("u1", "periksa", T0))  # a stale join of an answered caller
    assert gauge("periksa") == 0
    for _ in range(2):
        queue_log.handle(join("u2", "periksa", T0 + 1))
        queue_log.handle(abandon("u2", "periksa", T0 + 21, hold=20))
    # an answer reported later keeps the first outcome, and vice versa
    queue_log.handle(connect_("u2", "periksa", T0 + 25, hold=24))
    queue_log.handle(abandon("u1", "periksa", T0 + 30, hold=30))
    assert gauge("periksa") == 0
    assert rows(db_path) == {
        "u1": ("periksa", "", T0, T0 + 8, None, 8.0),
        "u2": ("periksa", "", T0 + 1, None, T0 + 21, 20.0),
    }
    assert stats(db_path) == {
        "periksa": {"joined": 2, "answered": 1, "abandoned": 1, "wait_p50": 8.0, "wait_p90": 8.0}
    }


def test_a_caller_who_rejoins_after_the_call_back_offer_is_one_caller(
    queue_log: QueueLog, db_path: Location
) -> None:
    """queue_max_wait ran out (leave), the caller chose to wait on (join again): one
    caller, whose wait runs from the first join; HoldTime would count from the second."""
    queue_log.handle(join("u1", "tambah_daya", T0))
    queue_log.handle(leave("u1", "tambah_daya", T0 + 5))
    assert gauge("tambah_daya") == 0
    queue_log.handle(join("u1", "tambah_daya", T0 + 20))
    assert gauge("tambah_daya") == 1
    queue_log.handle(connect_("u1", "tambah_daya", T0 + 26, hold=6))
    assert gauge("tambah_daya") == 0
    assert rows(db_path)["u1"] == ("tambah_daya", "", T0, T0 + 26, None, 26.0)
    assert stats(db_path)["tambah_daya"]["joined"] == 1


def test_a_caller_who_left_without_answer_or_abandon(
    queue_log: QueueLog, db_path: Location
) -> None:
    queue_log.handle(join("u1", "tambah_daya", T0))
    queue_log.handle(leave("u1", "tambah_daya", T0 + 5))
    assert gauge("tambah_daya") == 0
    assert stats(db_path) == {
        "tambah_daya": {
            "joined": 1,
            "answered": 0,
            "abandoned": 0,
            "wait_p50": None,
            "wait_p90": None,
        }
    }


def test_an_answer_whose_join_was_not_seen(queue_log: QueueLog, db_path: Location) -> None:
    """The IVR started while the caller waited: the join is put back by HoldTime."""
    queue_log.handle(connect_("u1", "umum", T0 + 40, hold=40))
    assert rows(db_path) == {"u1": ("umum", "", T0, T0 + 40, None, 40.0)}
    assert stats(db_path)["umum"]["wait_p50"] == 40.0


def test_stats_window_and_percentiles(queue_log: QueueLog, db_path: Location) -> None:
    waits = [5, 1, 9, 3, 7, 2, 8, 4, 10, 6]
    for index, wait in enumerate(waits):
        uniqueid = f"p{index}"
        queue_log.handle(join(uniqueid, "periksa", T0 + index))
        queue_log.handle(connect_(uniqueid, "periksa", T0 + index + wait, hold=wait))
    queue_log.handle(join("s1", "status", T0 + 100))
    queue_log.handle(abandon("s1", "status", T0 + 190, hold=90))
    queue_log.handle(join("s2", "status", T0 + 101))
    assert gauge("periksa") == 0
    assert gauge("status") == 1
    assert stats(db_path) == {
        "periksa": {
            "joined": 10,
            "answered": 10,
            "abandoned": 0,
            "wait_p50": 5.0,
            "wait_p90": 9.0,
        },
        "status": {
            "joined": 2,
            "answered": 0,
            "abandoned": 1,
            "wait_p50": None,
            "wait_p90": None,
        },
    }
    # [since, until): by join time; the end is left out
    window = stats(db_path, since=T0 + 5, until=T0 + 100)
    assert window == {
        "periksa": {"joined": 5, "answered": 5, "abandoned": 0, "wait_p50": 6.0, "wait_p90": 10.0}
    }
    assert stats(db_path, since=T0 + 100, until=T0 + 101)["status"]["joined"] == 1
    assert stats(db_path, since=T0 + 1000, until=T0 + 2000) == {}


def test_other_events_and_events_without_a_caller_are_ignored(
    queue_log: QueueLog, db_path: Location
) -> None:
    queue_log.handle(AmiEvent.from_message({"Event": "Newchannel", "Uniqueid": "u1"}))
    queue_log.handle(AmiEvent.from_message({"Event": "QueueCallerJoin", "Queue": "umum"}))
    assert rows(db_path) == {}


def test_resync_replaces_the_waiting_callers_with_asterisks_list(queue_log: QueueLog) -> None:
    queue_log.handle(join("u1", "periksa", T0))
    queue_log.handle(join("u2", "periksa", T0))
    queue_log.handle(join("u3", "status", T0))
    assert (gauge("periksa"), gauge("status")) == (2, 1)
    # Asterisk restarted: the connection is back, Asterisk's list is asked for ...
    queue_log.begin_resync()
    # ... and, before it arrives, one new caller joins and one listed caller goes.
    queue_log.handle(join("u4", "umum", T0 + 60))
    queue_log.handle(leave("u5", "umum", T0 + 61))
    queue_log.resync([("periksa", "u2"), ("umum", "u5")])
    assert (gauge("periksa"), gauge("status"), gauge("umum")) == (1, 0, 1)
    assert queue_log.waiting("umum") == 1
    # events count as before afterwards
    queue_log.handle(leave("u2", "periksa", T0 + 70))
    assert gauge("periksa") == 0


def test_a_failed_resync_keeps_counting_from_events(queue_log: QueueLog) -> None:
    queue_log.handle(join("u1", "periksa", T0))
    queue_log.begin_resync()
    queue_log.cancel_resync()
    queue_log.handle(join("u2", "periksa", T0 + 1))
    assert gauge("periksa") == 2
