"""The ops page's control APIs: outage announcements (gangguan meluas) and the audit log.

``GET /ops/api/units`` (the unit and posko names a new outage may name),
``GET /ops/api/outages`` (every outage, newest first, with its status and what callers
did after hearing it), ``POST /ops/api/outages`` (declare one), ``POST
/ops/api/outages/{id}/end`` (end one now) and ``GET /ops/api/audit?limit=`` (the latest
control changes). Ops users only; the audit log's actor is ``ops:<login id>``.

A new outage passes exactly the checks of ``pln123 outage add``
(:func:`ivr.domain.outages.check_new_outage`, against the customer records' units); a
bad one is a 400 ``{"error", "field"}`` naming the JSON field to fix, with nothing
stored. Each request opens the call store (``db_path``) in a worker thread and writes
in one short transaction (:mod:`ivr.store.control`), as the command line does, so the
serving IVR's workers see the change within seconds.

POSTs are refused (403) unless they carry JSON and, when the browser says where they
come from (``Origin``), come from this site: with the ``SameSite=Strict`` session
cookie, another site's page cannot declare or end an outage in an ops user's name.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from aiohttp import web

from ivr.domain.outages import Outage, OutageInvalid, format_time
from ivr.store.calls import connect
from ivr.store.control import (
    AuditEntry,
    ControlError,
    audit_changes,
    declare_outage,
    end_outage,
    get_outage,
    known_units,
    list_outages,
    outage_counts,
    read_audit,
    readable,
)
from ivr.store.dbapi import Connection, DatabaseError, store_exists
from ivr.store.schema import migrate
from ivr.web import auth

if TYPE_CHECKING:
    from ivr.web.server import OpsSite

log = logging.getLogger(__name__)

T = TypeVar("T")

NO_STORE = {"Cache-Control": "no-store"}
#: Audit rows ``/ops/api/audit`` gives without ``limit=``, and at most.
AUDIT_DEFAULT = 50
AUDIT_MAX = 500
#: The JSON field of a new outage that each command-line option of the checks names.
FIELD_OF_OPTION = {
    "--unit": "units",
    "--area-code": "area_codes",
    "--message": "message",
    "--until": "until",
    "--tz": "tz",
    "--report": "report",
}


def json_error(kind: type[web.HTTPException], message: str, **extra: str) -> NoReturn:
    raise kind(
        text=json.dumps({"error": message, **extra}, ensure_ascii=False),
        content_type="application/json",
    )


def invalid(field: str, message: str) -> NoReturn:
    json_error(web.HTTPBadRequest, message, field=field)


def outage_json(outage: Outage, counts: Mapping[str, int], now: float) -> dict[str, Any]:
    """An outage as the page shows it: the record (epoch times), its status at ``now``,
    its times in WIB, and the calls per event."""
    ended = outage.ended_at
    return {
        **outage.as_json(),
        "status": outage.status(now),
        "starts_at_wib": format_time(outage.starts_at),
        "until_wib": format_time(outage.until),
        "ended_at_wib": None if ended is None else format_time(ended),
        "counts": dict(counts),
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    """An audit row: when (epoch and WIB), who, what, on what, the records before and
    after, the fields that changed, and the record as people read it (``record``: the
    one there is, for an addition or a removal)."""
    record = entry.after if entry.after is not None else entry.before
    return {
        **entry.as_json(),
        "at_wib": format_time(entry.at),
        "changes": [
            {"field": key, "before": old, "after": new}
            for key, old, new in audit_changes(entry.before, entry.after)
        ],
        "record": (
            {key: readable(key, value) for key, value in record.items()}
            if isinstance(record, dict)
            else record
        ),
    }


def _strings(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        invalid(name, f"{name} must be a list of strings")
    return value


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 with ``field`` "" when it is none."""
    try:
        body = await request.json()
    except ValueError:
        invalid("", "the body is not JSON")
    if not isinstance(body, dict):
        invalid("", "the body must be a JSON object")
    return body


def string_field(body: Mapping[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        invalid(name, f"{name} must be a string")
    return value


class OpsControl:
    """The handlers, over an ops site (its users, ``db_path`` and clock).

    ``user_of`` is the ops user of an API request, raising 401 without an ops session
    (the server's own check, so every ops API refuses the same way).
    """

    def __init__(self, site: OpsSite, user_of: Callable[[web.Request], str]) -> None:
        self.site = site
        self.user_of = user_of

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the five APIs."""
        router.add_get("/ops/api/units", self.units)
        router.add_get("/ops/api/outages", self.outages)
        router.add_post("/ops/api/outages", self.add)
        router.add_post(r"/ops/api/outages/{id:\d+}/end", self.end)
        router.add_get("/ops/api/audit", self.audit)

    # -- plumbing ------------------------------------------------------------------------

    async def store(self, work: Callable[[Connection], T]) -> T:
        """``work`` on a fresh connection to the call store, in a worker thread."""
        db_path = self.site.db_path
        if db_path is None or not store_exists(db_path):
            json_error(web.HTTPServiceUnavailable, "no call store yet")

        def run() -> T:
            conn = connect(db_path)
            try:
                migrate(conn)  # a no-op on the serving IVR's store; the CLI does the same
                return work(conn)
            finally:
                conn.close()

        try:
            return await asyncio.get_running_loop().run_in_executor(None, run)
        except DatabaseError as exc:
            log.error("ops page: control store access failed: %s", exc)
            json_error(web.HTTPServiceUnavailable, "the call store cannot be used now")

    def writer(self, request: web.Request) -> str:
        """The audit actor of a POST (``ops:<id>``), after the session and origin checks."""
        user = self.user_of(request)
        if not auth.same_origin(request.headers.get("Origin"), request.host):
            log.warning("ops page: refused a change from origin %r", request.headers["Origin"])
            json_error(web.HTTPForbidden, "changes come from the ops page only")
        if request.content_type != "application/json":
            json_error(web.HTTPForbidden, "send JSON (Content-Type: application/json)")
        return f"ops:{user}"

    # -- handlers ------------------------------------------------------------------------

    async def units(self, request: web.Request) -> web.StreamResponse:
        """``{"units": [...]}``: the unit (UP3) and posko (ULP) names of the customer
        records, for the form's suggestions."""
        self.user_of(request)
        names = await self.store(known_units)
        return web.json_response({"units": names}, headers=NO_STORE)

    async def outages(self, request: web.Request) -> web.StreamResponse:
        """``{"now", "outages": [...]}``: every outage, newest first (:func:`outage_json`)."""
        self.user_of(request)
        now = self.site.clock()

        def work(conn: Connection) -> list[dict[str, Any]]:
            found = list_outages(conn)
            counts = outage_counts(conn, [o.id for o in found])
            return [outage_json(o, counts[o.id], now) for o in found]

        rows = await self.store(work)
        return web.json_response({"now": now, "outages": rows}, headers=NO_STORE)

    async def add(self, request: web.Request) -> web.StreamResponse:
        """Declare an outage from now: 201 with it, or 400 ``{"error", "field"}``.

        The body: ``units`` and ``area_codes`` (lists), ``message``, ``until`` (ISO 8601
        with an offset, ``YYYY-MM-DD HH:MM`` or ``HH:MM``), ``tz`` (of an ``until``
        without an offset: ``WIB``, ``WITA`` or ``WIT``; WIB when left out), ``report``.
        """
        actor = self.writer(request)
        body = await json_body(request)
        units = _strings(body, "units")
        area_codes = _strings(body, "area_codes")
        message = string_field(body, "message")
        until = string_field(body, "until")
        zone = string_field(body, "tz", "WIB")
        report = string_field(body, "report")
        now = self.site.clock()

        def work(conn: Connection) -> dict[str, Any]:
            added = declare_outage(
                conn,
                units=units,
                area_codes=area_codes,
                message=message,
                until=until,
                zone=zone,
                report_number=report,
                actor=actor,
                now=now,
            )
            return outage_json(added, outage_counts(conn, [added.id])[added.id], now)

        try:
            added = await self.store(work)
        except OutageInvalid as exc:
            invalid(FIELD_OF_OPTION.get(exc.option, ""), str(exc))
        except ControlError as exc:
            invalid("", str(exc))
        log.info("ops page: %s declared outage %s", actor, added["id"])
        return web.json_response(added, status=201, headers=NO_STORE)

    async def end(self, request: web.Request) -> web.StreamResponse:
        """End an outage now: 200 with it; 404 for no such outage, 400 when it is over."""
        actor = self.writer(request)
        outage_id = int(request.match_info["id"])
        now = self.site.clock()

        def work(conn: Connection) -> dict[str, Any] | None:
            if get_outage(conn, outage_id) is None:
                return None
            ended = end_outage(conn, outage_id, actor, now)
            return outage_json(ended, outage_counts(conn, [outage_id])[outage_id], now)

        try:
            ended = await self.store(work)
        except ControlError as exc:
            json_error(web.HTTPBadRequest, str(exc))
        if ended is None:
            json_error(web.HTTPNotFound, f"there is no outage {outage_id}")
        log.info("ops page: %s ended outage %s", actor, outage_id)
        return web.json_response(ended, headers=NO_STORE)

    async def audit(self, request: web.Request) -> web.StreamResponse:
        """``{"entries": [...]}``: the latest control changes, newest first
        (:func:`audit_json`), at most ``limit`` (default 50, up to 500)."""
        self.user_of(request)
        text = request.query.get("limit", str(AUDIT_DEFAULT))
        if not text.isdigit() or not 1 <= int(text) <= AUDIT_MAX:
            invalid("limit", f"limit must be a whole number from 1 to {AUDIT_MAX}")
        limit = int(text)

        def work(conn: Connection) -> list[dict[str, Any]]:
            return [audit_json(entry) for entry in read_audit(conn, None, limit)]

        entries = await self.store(work)
        return web.json_response({"entries": entries}, headers=NO_STORE)
