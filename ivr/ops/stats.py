"""The numbers ops read: outcomes, containment, CSO reasons, time in the IVR, and the
waterfall of every node, for the calls that started in a range.

Read from the call store alone (``calls``, ``journeys`` and ``queue_calls``), so
``pln123 stats``, the ops page and a test all count the same way. The definitions are
in :mod:`ivr.engine.journey` and in the README's "What the numbers mean":

- ``calls``: calls that started in ``[since, until)``; ``open``: those with no outcome
  yet (in progress, or cut off by a crash before their end was recorded).
- ``containment_rate``: contained / calls with an outcome.
- ``true_containment_rate``: contained calls whose caller did not call again within
  24 hours (same phone number, or same IDPEL), / calls with an outcome. A call less
  than 24 hours old counts on what is known so far.
- ``abandon_rate``: abandoned / calls with an outcome.
- ``aht_seconds``: time in the IVR (from the AGI request to the outcome) of calls with
  an outcome, nearest-rank percentiles.
- ``outages``: each outage announcement in force during the range or heard by one of
  its calls, with what those calls did after hearing it (``heard``, then exactly one
  of ``attached``, ``cso``, ``hung_up`` for each call that ended; see
  :func:`ivr.domain.outages.call_events`).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.domain.callerid import parse_caller_id
from ivr.domain.outages import EVENTS
from ivr.engine.journey import CallResult, Exit
from ivr.store.control import list_outages, outage_counts
from ivr.store.dbapi import Connection
from ivr.store.queue_calls import percentile, queue_stats

#: A later call within this time makes a contained call not truly contained.
REPEAT_WINDOW = timedelta(hours=24)
#: Node exits of the calls that started in a range are read from the exits stamped
#: from its start (less a minute of clock slack) to this long after its end: no call
#: lasts a day, and the bound keeps the scan on the journeys' time index.
CALL_SPAN_LIMIT = timedelta(days=1)
CLOCK_SLACK = timedelta(minutes=1)
#: Hours the per-hour series fills in (empty hours included) before it lists only the
#: hours that had calls: a range of two months at most.
MAX_FILLED_HOURS = 24 * 62
#: Every exit, in the order tables show them.
EXITS = tuple(exit.value for exit in Exit)


def stamp(moment: datetime) -> str:
    """``moment`` as the call store writes times (UTC, milliseconds), for comparing."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass
class _Node:
    entered: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        self.seconds.sort()
        return {
            "entered": self.entered,
            "exits": dict(sorted(self.exits.items())),
            "targets": dict(sorted(self.targets.items())),
            "seconds_p50": _rounded(percentile(self.seconds, 0.5)),
        }


def compute_stats(
    conn: Connection,
    since: datetime,
    until: datetime,
    *,
    flow: str | None = None,
    tz: str = "Asia/Jakarta",
) -> dict[str, Any]:
    """The statistics of the calls that started in ``[since, until)`` (aware times),
    of every flow or of calls that began in ``flow``; hours are local to ``tz``."""
    if until <= since:
        raise ValueError("the end of the range must be after its start")
    zone = ZoneInfo(tz)
    first, last = stamp(since), stamp(until)
    where = "started_at >= ? AND started_at < ?"
    params: tuple[str, ...] = (first, last)
    if flow is not None:
        where += " AND flow = ?"
        params += (flow,)
    rows = conn.execute(
        f"SELECT id, caller, idpel, started_at, result, cso_reason, seconds FROM calls"
        f" WHERE {where}",
        params,
    ).fetchall()
    results = Counter(row[4] for row in rows)
    ended = len(rows) - results[None]
    contained = [row for row in rows if row[4] == CallResult.CONTAINED]
    repeats = _Repeats(conn, first, stamp(until + REPEAT_WINDOW))
    truly = sum(1 for row in contained if not repeats.called_again(row[1], row[2], row[3]))
    aht = sorted(row[6] for row in rows if row[4] is not None and row[6] is not None)
    reasons = Counter(row[5] or "flow" for row in rows if row[4] == CallResult.CSO)
    return {
        "since": since.astimezone(zone).isoformat(),
        "until": until.astimezone(zone).isoformat(),
        "flow": flow,
        "calls": len(rows),
        "contained": results[CallResult.CONTAINED],
        "cso": results[CallResult.CSO],
        "abandoned": results[CallResult.ABANDONED],
        "open": results[None],
        "true_contained": truly,
        "containment_rate": _rate(results[CallResult.CONTAINED], ended),
        "true_containment_rate": _rate(truly, ended),
        "abandon_rate": _rate(results[CallResult.ABANDONED], ended),
        "cso_by_reason": dict(sorted(reasons.items())),
        "aht_seconds": {
            "p50": _rounded(percentile(aht, 0.5)),
            "p90": _rounded(percentile(aht, 0.9)),
        },
        "calls_by_hour": _by_hour(rows, since, until, zone),
        "flows": _flows(conn, where, params, since, until),
        "queues": queue_stats(conn, since.timestamp(), until.timestamp()),
        "outages": _outages(conn, where, params, since, until, zone),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def repeat_keys(caller: str, idpel: str) -> Iterator[str]:
    """The keys a call is known by for repeat calls: its national phone number, and the
    IDPEL it was about."""
    number = parse_caller_id(caller).national if caller else ""
    if number:
        yield "tel:" + number
    if idpel:
        yield "idpel:" + idpel


class _Repeats:
    """When each caller (by national phone number) and each IDPEL called, for telling
    whether a call was followed by another within :data:`REPEAT_WINDOW`."""

    def __init__(self, conn: Connection, first: str, last: str) -> None:
        self._times: dict[str, list[datetime]] = defaultdict(list)
        for caller, idpel, started in conn.execute(
            "SELECT caller, idpel, started_at FROM calls WHERE started_at >= ?"
            " AND started_at < ? ORDER BY started_at",
            (first, last),
        ):
            moment = datetime.fromisoformat(started)
            for key in repeat_keys(caller, idpel):
                self._times[key].append(moment)

    def called_again(self, caller: str, idpel: str, started: str) -> bool:
        """Did this caller, or someone about this IDPEL, call within the window after?"""
        moment = datetime.fromisoformat(started)
        for key in repeat_keys(caller, idpel):
            times = self._times[key]
            later = bisect.bisect_right(times, moment)
            if later < len(times) and times[later] - moment <= REPEAT_WINDOW:
                return True
        return False


def _outages(
    conn: Connection,
    where: str,
    params: tuple[str, ...],
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
) -> list[dict[str, Any]]:
    """Outages in force at some moment of ``[since, until)``, or heard by a call that
    started in it (and began in the flow asked for), oldest first, with the events of
    those calls only."""
    first, last = since.timestamp(), until.timestamp()
    heard = {
        outage_id
        for (outage_id,) in conn.execute(
            "SELECT DISTINCT outage_id FROM outage_events"
            f" WHERE call_id IN (SELECT id FROM calls WHERE {where})",
            params,
        )
    }
    outages = [
        outage
        for outage in sorted(list_outages(conn), key=lambda o: o.id)
        if outage.id in heard
        or (
            outage.starts_at < last
            and min(outage.until, outage.ended_at if outage.ended_at is not None else outage.until)
            > first
        )
    ]
    counts = outage_counts(
        conn, [outage.id for outage in outages], calls_where=where, calls_params=params
    )
    return [
        {
            "id": outage.id,
            "units": list(outage.units),
            "area_codes": list(outage.area_codes),
            "message": outage.message,
            "report_number": outage.report_number,
            "starts_at": datetime.fromtimestamp(outage.starts_at, zone).isoformat(),
            "until": datetime.fromtimestamp(outage.until, zone).isoformat(),
            "ended_at": (
                None
                if outage.ended_at is None
                else datetime.fromtimestamp(outage.ended_at, zone).isoformat()
            ),
            **{event: counts[outage.id][event] for event in EVENTS},
        }
        for outage in outages
    ]


def _hour_key(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(minute=0, second=0, microsecond=0)


def _by_hour(
    rows: Sequence[Sequence[Any]], since: datetime, until: datetime, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """Calls per local hour, with their outcomes; the range's empty hours filled in
    when it is short enough to draw."""
    counts: dict[datetime, Counter[str]] = defaultdict(Counter)
    for row in rows:
        hour = _hour_key(datetime.fromisoformat(row[3]), zone)
        counts[hour]["calls"] += 1
        if row[4] is not None:
            counts[hour][row[4]] += 1
    hours: Iterable[datetime] = sorted(counts)
    start, end = _hour_key(since, zone), until.astimezone(zone)
    if (end - start) <= timedelta(hours=MAX_FILLED_HOURS):
        filled, hour = [], start
        while hour < end:
            filled.append(hour)
            # Step in UTC: a local day may have no 02:00 or two of them.
            hour = _hour_key(hour.astimezone(UTC) + timedelta(hours=1), zone)
        hours = filled
    return [
        {
            "hour": hour.isoformat(),
            "calls": counts[hour]["calls"],
            "contained": counts[hour][CallResult.CONTAINED],
            "cso": counts[hour][CallResult.CSO],
            "abandoned": counts[hour][CallResult.ABANDONED],
        }
        for hour in hours
    ]


def _flows(
    conn: Connection,
    where: str,
    params: tuple[str, ...],
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    """flow -> node -> entered, exits by kind, exits by target, median seconds."""
    nodes: dict[str, dict[str, _Node]] = defaultdict(dict)
    window = ((since - CLOCK_SLACK).timestamp(), (until + CALL_SPAN_LIMIT).timestamp())
    for flow, node_id, exit, target, seconds in conn.execute(
        "SELECT j.flow, j.node, j.exit, j.target, j.seconds FROM journeys j"
        " WHERE j.at >= ? AND j.at < ?"
        f" AND j.call_id IN (SELECT id FROM calls WHERE {where})",
        (*window, *params),
    ):
        node = nodes[flow].get(node_id)
        if node is None:
            node = nodes[flow][node_id] = _Node()
        node.entered += 1
        node.exits[exit] += 1
        if target:
            node.targets[target] += 1
        node.seconds.append(seconds)
    return {
        flow: {"nodes": {node_id: node.as_json() for node_id, node in sorted(by_id.items())}}
        for flow, by_id in sorted(nodes.items())
    }


#: The waterfall's columns, and the exits each one adds up: a call that ended at a
#: node (``end``) went on as far as it could.
WATERFALL = {
    "next": ("next", "end"),
    "noinput": ("noinput",),
    "nomatch": ("nomatch",),
    "hangup": ("hangup",),
    "cso": ("cso",),
    "error": ("error",),
}


def waterfall(node: dict[str, Any]) -> dict[str, float | None]:
    """A node's exits as shares of its entries, in percent with one decimal, by the
    columns of :data:`WATERFALL`."""
    entered = node["entered"]
    exits = node["exits"]
    return {
        column: (round(100 * sum(exits.get(e, 0) for e in kinds) / entered, 1) if entered else None)
        for column, kinds in WATERFALL.items()
    }
