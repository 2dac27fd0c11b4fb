"""The ops page's announcement APIs: the global announcement every caller hears before
the main menu.

``GET /ops/api/announcement`` (the one in force, or null, and the latest ones),
``POST /ops/api/announcement`` (set one from now: ``message``, ``until``, ``tz``; it
replaces the one in force) and ``POST /ops/api/announcement/end`` (end it now). Ops
users only, with the session, ``Origin`` and JSON rules and the ``{"error", "field"}``
400 of the outage APIs (:class:`~ivr.web.ops_control.OpsControl`, whose store access
these share); the checks are those of ``pln123 announcement set``. Every change is in
the audit log (``announcement.set``, ``announcement.end``) by actor ``ops:<login id>``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ivr.domain.announcements import Announcement, check_new_announcement
from ivr.domain.outages import OutageInvalid, format_time
from ivr.store.announcements import (
    active_announcement,
    end_announcement,
    list_announcements,
    set_announcement,
)
from ivr.store.control import ControlError
from ivr.store.dbapi import Connection
from ivr.web.ops_control import (
    FIELD_OF_OPTION,
    NO_STORE,
    OpsControl,
    invalid,
    json_body,
    string_field,
)

log = logging.getLogger(__name__)

#: Past announcements ``GET /ops/api/announcement`` lists.
RECENT = 10


def announcement_json(announcement: Announcement, now: float) -> dict[str, Any]:
    """An announcement as the page shows it: the record (epoch times), its status at
    ``now`` and its times in WIB."""
    ended = announcement.ended_at
    return {
        **announcement.as_json(),
        "status": announcement.status(now),
        "starts_at_wib": format_time(announcement.starts_at),
        "until_wib": format_time(announcement.until),
        "ended_at_wib": None if ended is None else format_time(ended),
    }


class OpsAnnouncement:
    """The three handlers, over the outage APIs' plumbing (``control``)."""

    def __init__(self, control: OpsControl) -> None:
        self.control = control

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the three APIs."""
        router.add_get("/ops/api/announcement", self.show)
        router.add_post("/ops/api/announcement", self.set)
        router.add_post("/ops/api/announcement/end", self.end)

    async def show(self, request: web.Request) -> web.StreamResponse:
        """``{"now", "active": {...} | null, "recent": [...]}``, newest first."""
        self.control.user_of(request)
        now = self.control.site.clock()

        def work(conn: Connection) -> dict[str, Any]:
            active = active_announcement(conn, now)
            return {
                "now": now,
                "active": None if active is None else announcement_json(active, now),
                "recent": [announcement_json(a, now) for a in list_announcements(conn, RECENT)],
            }

        return web.json_response(await self.control.store(work), headers=NO_STORE)

    async def set(self, request: web.Request) -> web.StreamResponse:
        """Set the announcement from now: 201 with it, or 400 ``{"error", "field"}``.

        The body: ``message``, ``until`` (ISO 8601 with an offset, ``YYYY-MM-DD HH:MM``
        or ``HH:MM``) and ``tz`` (of an ``until`` without an offset; WIB when left out).
        """
        actor = self.control.writer(request)
        body = await json_body(request)
        message = string_field(body, "message")
        until = string_field(body, "until")
        zone = string_field(body, "tz", "WIB")
        now = self.control.site.clock()
        try:
            checked = check_new_announcement(message=message, until=until, zone=zone, now=now)
        except OutageInvalid as exc:
            invalid(FIELD_OF_OPTION.get(exc.option, ""), str(exc))

        def work(conn: Connection) -> dict[str, Any]:
            added = set_announcement(
                conn, message=checked.message, until=checked.until, actor=actor, now=now
            )
            return announcement_json(added, now)

        try:
            added = await self.control.store(work)
        except ControlError as exc:
            invalid("", str(exc))
        log.info("ops page: %s set announcement %s", actor, added["id"])
        return web.json_response(added, status=201, headers=NO_STORE)

    async def end(self, request: web.Request) -> web.StreamResponse:
        """End the announcement in force now: 200 with it; 400 when none is in force."""
        actor = self.control.writer(request)
        now = self.control.site.clock()

        def work(conn: Connection) -> dict[str, Any]:
            return announcement_json(end_announcement(conn, actor, now), now)

        try:
            ended = await self.control.store(work)
        except ControlError as exc:
            invalid("", str(exc))
        log.info("ops page: %s ended announcement %s", actor, ended["id"])
        return web.json_response(ended, headers=NO_STORE)
