"""The ops page's hours and holiday APIs: ops' live changes over the data files.

``GET /ops/api/hours`` (each queue now: open or closed and why, the next opening, its
hours and where they come from; the holidays of this year and next, and the file's
dates ops removed), ``POST /ops/api/hours/{queue}`` (set its hours: ``zone``,
``always_open``, ``hours`` {day: "08:00-17:00,..." or "tutup"}, ``closed_on_holidays``,
``holiday_kinds``, ``callback``, ``alternative_queue``; what is left out stays),
``POST /ops/api/hours/{queue}/close`` and ``.../open`` (``until``, ``tz``, ``reason``),
``POST /ops/api/hours/{queue}/reset``, ``POST /ops/api/holidays`` (``date``, ``name``,
``kind``) and ``POST /ops/api/holidays/{date}/remove``. Ops users only, with the
session, ``Origin``, JSON and ``{"error", "field"}`` rules of the outage APIs
(:class:`~ivr.web.ops_control.OpsControl`); the checks are those of ``pln123 hours``
and ``pln123 holiday``. The defaults are the flows' tables the site serves with.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from aiohttp import web

from ivr.domain.hours import DAY_KEYS, QueueHours
from ivr.domain.hours_overrides import (
    CLOSED,
    OPENED,
    REMOVE,
    ClosureState,
    LiveHours,
    check_closure,
    check_new_holiday,
    check_queue,
    check_removal,
    holiday_record,
    live_hours,
    new_schedule,
    queue_view,
)
from ivr.domain.outages import OutageInvalid
from ivr.store.control import ControlError
from ivr.store.dbapi import Connection
from ivr.store.hours import (
    add_holiday,
    read_overrides,
    remove_holiday,
    reset_queue,
    set_closure,
    set_schedule,
)
from ivr.web.ops_control import NO_STORE, OpsControl, invalid, json_body, string_field

log = logging.getLogger(__name__)

#: The JSON field each command-line option of the checks names.
FIELD_OF_OPTION = {
    "QUEUE": "queue",
    "--day": "hours",
    "--zone": "zone",
    "--always-open": "always_open",
    "--holidays": "closed_on_holidays",
    "--holiday-kinds": "holiday_kinds",
    "--alternative": "alternative_queue",
    "--until": "until",
    "--tz": "tz",
    "--reason": "reason",
    "DATE": "date",
    "--name": "name",
    "--kind": "kind",
}


def _refuse(exc: OutageInvalid) -> NoReturn:
    invalid(FIELD_OF_OPTION.get(exc.option, ""), str(exc))


def _bool_field(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        invalid(name, f"{name} must be true or false")
    return value


class OpsHours:
    """The handlers, over the outage APIs' plumbing (``control``) and the flows'
    tables (``defaults``, read at each request: a SIGHUP reload is seen at once)."""

    def __init__(self, control: OpsControl, defaults: Callable[[], QueueHours]) -> None:
        self.control = control
        self.defaults = defaults

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/ops/api/hours", self.show)
        router.add_post(r"/ops/api/hours/{queue:[a-z][a-z0-9_]*}", self.set)
        router.add_post(r"/ops/api/hours/{queue:[a-z][a-z0-9_]*}/close", self.close)
        router.add_post(r"/ops/api/hours/{queue:[a-z][a-z0-9_]*}/open", self.open)
        router.add_post(r"/ops/api/hours/{queue:[a-z][a-z0-9_]*}/reset", self.reset)
        router.add_post("/ops/api/holidays", self.add_holiday)
        router.add_post(r"/ops/api/holidays/{date:\d{4}-\d{2}-\d{2}}/remove", self.remove_holiday)

    def _view(self, conn: Connection, now: float) -> dict[str, Any]:
        live = live_hours(self.defaults(), read_overrides(conn))
        year = dt.datetime.fromtimestamp(now, dt.UTC).year
        years = (year, year + 1)
        removed = [
            {"date": c.date.isoformat(), "name": c.name, "set_by": c.set_by}
            for c in sorted(live.overrides.holidays.values(), key=lambda c: c.date)
            if c.action == REMOVE and c.date.year in years
        ]
        return {
            "now": now,
            "days": list(DAY_KEYS),
            "queues": [queue_view(live, q, now) for q in sorted(live.schedule.queues)],
            "holidays": [
                holiday_record(live, h) for h in live.calendar.holidays if h.date.year in years
            ],
            "removed": removed,
        }

    async def show(self, request: web.Request) -> web.StreamResponse:
        self.control.user_of(request)
        now = self.control.site.clock()
        view = await self.control.store(lambda conn: self._view(conn, now))
        return web.json_response(view, headers=NO_STORE)

    async def _change(
        self,
        actor: str,
        what: str,
        change: Callable[[Connection, LiveHours, str, float], object],
        status: int = 200,
    ) -> web.StreamResponse:
        """Run ``change(conn, live, actor, now)`` in the store; answer with the view."""
        now = self.control.site.clock()

        def work(conn: Connection) -> dict[str, Any]:
            change(conn, live_hours(self.defaults(), read_overrides(conn)), actor, now)
            return self._view(conn, now)

        try:
            view = await self.control.store(work)
        except OutageInvalid as exc:
            _refuse(exc)
        except ControlError as exc:
            invalid("", str(exc))
        log.info("ops page: %s %s", actor, what)
        return web.json_response(view, status=status, headers=NO_STORE)

    async def set(self, request: web.Request) -> web.StreamResponse:
        """Set a queue's hours: 200 with the view, or 400 ``{"error", "field"}``."""
        actor = self.control.writer(request)
        queue = request.match_info["queue"]
        body = await json_body(request)
        hours = body.get("hours", {})
        if not isinstance(hours, dict) or not all(
            isinstance(v, str) and k in DAY_KEYS for k, v in hours.items()
        ):
            invalid("hours", "hours must map senin..minggu to text like 08:00-17:00")
        kinds = body.get("holiday_kinds")
        if kinds is not None and not (
            isinstance(kinds, list) and all(isinstance(k, str) for k in kinds)
        ):
            invalid("holiday_kinds", "holiday_kinds must be a list of strings")
        zone = body.get("zone")
        if zone is not None and not isinstance(zone, str):
            invalid("zone", "zone must be a string")
        alternative = body.get("alternative_queue", "")
        if alternative is not None and not isinstance(alternative, str):
            invalid("alternative_queue", "alternative_queue must be a string or null")
        flags = {n: _bool_field(body, n) for n in ("always_open", "closed_on_holidays", "callback")}

        def change(conn: Connection, live: LiveHours, actor: str, now: float) -> None:
            schedule = new_schedule(
                live,
                queue,
                zone=zone,
                days=hours,
                always_open=flags["always_open"],
                closed_on_holidays=flags["closed_on_holidays"],
                holiday_kinds=kinds,
                callback=flags["callback"],
                alternative_queue=alternative or None,
                clear_alternative=alternative is None,
            )
            set_schedule(conn, queue, schedule, defaults=self.defaults(), actor=actor, now=now)

        return await self._change(actor, f"set the hours of {queue}", change)

    async def _temporary(self, request: web.Request, state: ClosureState) -> web.StreamResponse:
        actor = self.control.writer(request)
        queue = request.match_info["queue"]
        body = await json_body(request)
        until = string_field(body, "until")
        zone = string_field(body, "tz", "WIB")
        reason = string_field(body, "reason")

        def change(conn: Connection, live: LiveHours, actor: str, now: float) -> None:
            name, end, text = check_closure(
                live, queue, state=state, until=until, zone=zone, reason=reason, now=now
            )
            set_closure(
                conn,
                name,
                state=state,
                until=end,
                reason=text,
                defaults=self.defaults(),
                actor=actor,
                now=now,
            )

        return await self._change(actor, f"{state} {queue}", change)

    async def close(self, request: web.Request) -> web.StreamResponse:
        """Close a queue from now until ``until``: 200 with the view, or 400."""
        return await self._temporary(request, CLOSED)

    async def open(self, request: web.Request) -> web.StreamResponse:
        """Open a queue from now until ``until``: 200 with the view, or 400."""
        return await self._temporary(request, OPENED)

    async def reset(self, request: web.Request) -> web.StreamResponse:
        """Back to jam_layanan.yaml: 200 with the view; 400 when nothing was changed."""
        actor = self.control.writer(request)
        queue = request.match_info["queue"]

        def change(conn: Connection, live: LiveHours, actor: str, now: float) -> None:
            name = check_queue(live, queue)
            reset_queue(conn, name, defaults=self.defaults(), actor=actor, now=now)

        return await self._change(actor, f"reset {queue}", change)

    async def add_holiday(self, request: web.Request) -> web.StreamResponse:
        """Add a holiday: 201 with the view, or 400 ``{"error", "field"}``."""
        actor = self.control.writer(request)
        body = await json_body(request)
        date = string_field(body, "date")
        name = string_field(body, "name")
        kind = string_field(body, "kind")

        def change(conn: Connection, live: LiveHours, actor: str, now: float) -> None:
            holiday = check_new_holiday(live, date=date, name=name, kind=kind, now=now)
            add_holiday(conn, holiday, defaults=self.defaults(), actor=actor, now=now)

        return await self._change(actor, f"added holiday {date}", change, status=201)

    async def remove_holiday(self, request: web.Request) -> web.StreamResponse:
        """Remove a holiday: 200 with the view; 400 when the date is no holiday."""
        actor = self.control.writer(request)
        date = request.match_info["date"]

        def change(conn: Connection, live: LiveHours, actor: str, now: float) -> None:
            holiday = check_removal(live, date)
            remove_holiday(conn, holiday.date, defaults=self.defaults(), actor=actor, now=now)

        return await self._change(actor, f"removed holiday {date}", change)
