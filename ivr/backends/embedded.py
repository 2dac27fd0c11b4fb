"""The embedded backends: CRM, customer data and APKT in the IVR's own SQLite file.

They share the file (and :func:`ivr.store.calls.connect`'s pragmas) with the call
store, so a report's ``call_id`` joins the call that made it and the scenario runner
reads the report from the ``reports`` table. Like the call store, every method runs its
query directly on the event loop's thread: the queries are local, indexed and take
microseconds, and a hand-off to a thread would cost more than the work.

A site that has the real CRM, customer database or APKT replaces one or more of these
classes with its own implementation of the same port (:mod:`ivr.backends.ports`).

What these classes share with the embedded AP2T and ITSM (the connection, the
transaction, the clock, phone numbers) is in :mod:`ivr.backends.sqlite_base`;
:class:`EmbeddedDatabase` puts all of them together over one connection.

Report numbers are ``G`` + local WIB date ``YYMMDD`` + a 7-digit daily sequence. The
number is picked and the row inserted in one ``BEGIN IMMEDIATE`` transaction, so two
calls (or two processes on the same file) never get the same number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ivr.backends.announcements import EmbeddedAnnouncements
from ivr.backends.ap2t import EmbeddedAp2t
from ivr.backends.hours import EmbeddedHours
from ivr.backends.itsm import EmbeddedItsm
from ivr.backends.outages import EmbeddedOutages
from ivr.backends.ports import (
    BackendError,
    Backends,
    CallerInfo,
    ClosedIssue,
    Customer,
    Report,
    ReportRequest,
)
from ivr.backends.sqlite_base import (
    WIB,
    SqliteBackend,
    digits_only,
    immediate,
    iso_time,
    normalize_phone,
    open_database,
    utc_now,
)
from ivr.domain.customer_ids import METER, customer_id_kind
from ivr.domain.reports import MAX_SEQUENCE, SEQUENCE_DIGITS, format_report_number
from ivr.store.announcements import AnnouncementBoard
from ivr.store.control import OutageBoard
from ivr.store.dbapi import Connection, Location, is_postgres
from ivr.store.hours import HoursBoard
from ivr.store.pops import insert_callback

#: The status APKT gives a new report.
STATUS_LAPOR = "LAPOR"
#: Statuses of reports that are done with; any other status counts as open.
FINISHED_STATUSES: frozenset[str] = frozenset({"SELESAI", "BATAL", "NYALA"})

_REPORT_COLUMNS = (
    "number, status, wo_type, problem_text, idpel, caller_number, created_at,"
    " ctt_token, detail_status"
)
_CUSTOMER_COLUMNS = (
    "idpel, meter_number, name, street, area, unit, posko, tariff, power_va, region, timezone"
)


def normalize_report_number(number: str) -> str:
    """``g 99 2502...`` as ``G992502...``: no spaces or dashes, upper case."""
    return re.sub(r"[\s\-]", "", number or "").upper()


# -- CRM ------------------------------------------------------------------------------


class EmbeddedCrm(SqliteBackend):
    """Callers the contact centre has spoken to, by phone number (``crm_callers``)."""

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    _what = "embedded CRM"

    async def caller(self, phone: str) -> CallerInfo | None:
        """What the CRM knows of a number given in any form (``+62``, ``62``, ``0``)."""
        key = normalize_phone(phone)
        if not key:
            return None

        def work(conn: Connection) -> CallerInfo | None:
            row = conn.execute(
                "SELECT phone, name, salutation, past_contacts FROM crm_callers WHERE phone = ?",
                (key,),
            ).fetchone()
            return CallerInfo(*row) if row else None

        return self._run("caller lookup", work)


def upsert_caller(conn: Connection, caller: CallerInfo) -> None:
    """Insert or replace a CRM caller (its phone stored in national form)."""
    conn.execute(
        "INSERT INTO crm_callers (phone, name, salutation, past_contacts) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(phone) DO UPDATE SET name = excluded.name,"
        " salutation = excluded.salutation, past_contacts = excluded.past_contacts",
        (normalize_phone(caller.phone), caller.name, caller.salutation, caller.past_contacts),
    )


# -- customers ------------------------------------------------------------------------


def _customer(row: Any) -> Customer:
    values = list(row)
    values[1] = values[1] or ""  # no meter number (postpaid) is NULL in the table
    return Customer(*values)


class EmbeddedCustomers(SqliteBackend):
    """Customer master data (``customers``)."""

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    _what = "embedded customer data"

    async def find(self, idpel_or_meter: str) -> Customer | None:
        """By a 12-digit IDPEL or an 11-digit meter number; None for other lengths."""
        key = digits_only(idpel_or_meter)
        kind = customer_id_kind(key)
        if kind is None:
            return None
        column = "meter_number" if kind == METER else "idpel"

        def work(conn: Connection) -> Customer | None:
            row = conn.execute(
                f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE {column} = ?", (key,)
            ).fetchone()
            return _customer(row) if row else None

        return self._run("customer lookup", work)


def upsert_customer(conn: Connection, customer: Customer) -> None:
    """Insert or replace a customer, keyed by IDPEL (an empty meter number is NULL)."""
    conn.execute(
        f"INSERT INTO customers ({_CUSTOMER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(idpel) DO UPDATE SET meter_number = excluded.meter_number,"
        " name = excluded.name, street = excluded.street, area = excluded.area,"
        " unit = excluded.unit, posko = excluded.posko, tariff = excluded.tariff,"
        " power_va = excluded.power_va, region = excluded.region,"
        " timezone = excluded.timezone",
        (
            customer.idpel,
            customer.meter_number or None,
            customer.name,
            customer.street,
            customer.area,
            customer.unit,
            customer.posko,
            customer.tariff,
            customer.power_va,
            customer.region,
            customer.timezone,
        ),
    )


# -- APKT -----------------------------------------------------------------------------


class EmbeddedCallbacks:
    """Call-back tasks in the same file; a page shows them when it next opens. (The
    IVR's screen-pop service replaces this with one that tells open pages at once.)"""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def request(self, call_id: str, pop_id: str, number: str, queue: str) -> None:
        insert_callback(self._conn, call_id, pop_id, number, queue)


class EmbeddedApkt(SqliteBackend):
    """Gangguan reports in the ``reports`` table the call store created.

    ``now`` gives the current time (an aware datetime); tests pass a fixed clock.
    """

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    _what = "embedded APKT"

    async def create_report(self, request: ReportRequest) -> Report:
        """File a report with status LAPOR; every form field is kept in ``fields``."""
        moment = self._now()
        day = moment.astimezone(WIB).date()
        prefix = format_report_number("G", 1, day)[:-SEQUENCE_DIGITS]
        created_at = iso_time(moment)
        fields = json.dumps(asdict(request), ensure_ascii=False)
        idpel = digits_only(request.idpel)
        caller = normalize_phone(request.caller_number)
        mobile = normalize_phone(request.mobile_number)

        def work(conn: Connection) -> Report:
            with immediate(conn):
                (last,) = conn.execute(
                    "SELECT MAX(number) FROM reports WHERE number BETWEEN ? AND ?"
                    " AND length(number) = ?",
                    (
                        prefix + "0" * SEQUENCE_DIGITS,
                        prefix + "9" * SEQUENCE_DIGITS,
                        len(prefix) + SEQUENCE_DIGITS,
                    ),
                ).fetchone()
                sequence = int(last[len(prefix) :]) + 1 if last else 1
                if sequence > MAX_SEQUENCE:
                    raise BackendError(f"embedded APKT: no report numbers left for {prefix}")
                number = format_report_number("G", sequence, day)
                # The call's row joins the report when the call store recorded it; the
                # id stays in ``fields`` either way.
                conn.execute(
                    "INSERT INTO reports (number, call_id, wo_type, problem_text, fields,"
                    " created_at, status, idpel, caller_number, mobile_number)"
                    " VALUES (?, (SELECT id FROM calls WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        number,
                        request.call_id,
                        request.wo_type,
                        request.problem_text,
                        fields,
                        created_at,
                        STATUS_LAPOR,
                        idpel,
                        caller,
                        mobile,
                    ),
                )
            return Report(
                number=number,
                status=STATUS_LAPOR,
                wo_type=request.wo_type,
                problem_text=request.problem_text,
                idpel=idpel,
                caller_number=caller,
                created_at=created_at,
            )

        return self._run("create report", work)

    async def close_issue(self, issue: ClosedIssue) -> str:
        """Insert an ``apkt_issues`` row; its id is the record's number."""
        created_at = iso_time(self._now())

        def work(conn: Connection) -> str:
            cursor = conn.execute(
                "INSERT INTO apkt_issues (call_id, issue_type, sub_issue_type, description,"
                " caller_number, idpel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    issue.call_id,
                    issue.issue_type,
                    issue.sub_issue_type,
                    issue.description,
                    normalize_phone(issue.caller_number),
                    digits_only(issue.idpel),
                    created_at,
                ),
            )
            return str(cursor.fetchone()[0])

        return self._run("close issue", work)

    async def open_reports(
        self, *, idpel: str = "", number: str = "", phone: str = ""
    ) -> list[Report]:
        """Unfinished reports matching any key given, newest first.

        ``phone`` matches the caller ID or the mobile number of a report, in any form;
        ``number`` matches the report number, or the keluhan number (``K...``) a report
        was mutated from.
        """
        conditions: list[str] = []
        params: list[str] = []
        if key := digits_only(idpel):
            conditions.append("idpel = ?")
            params.append(key)
        if key := normalize_report_number(number):
            conditions += ["number = ?", "mutated_from = ?"]
            params += [key, key]
        if key := normalize_phone(phone):
            conditions += ["caller_number = ?", "mobile_number = ?"]
            params += [key, key]
        if not conditions:
            return []
        finished = sorted(FINISHED_STATUSES)
        sql = (
            f"SELECT {_REPORT_COLUMNS} FROM reports WHERE ({' OR '.join(conditions)})"
            f" AND upper(status) NOT IN ({', '.join('?' * len(finished))})"
            " ORDER BY created_at DESC, number DESC"
        )

        def work(conn: Connection) -> list[Report]:
            return [Report(*row) for row in conn.execute(sql, (*params, *finished))]

        return self._run("open reports lookup", work)

    async def report(self, number: str) -> Report | None:
        """By number; a keluhan moved to gangguan gives the gangguan report (the mutation
        link), whatever the statuses."""
        key = normalize_report_number(number)
        if not key:
            return None
        sql = (
            f"SELECT {_REPORT_COLUMNS} FROM reports WHERE number = ? OR mutated_from = ?"
            " ORDER BY (mutated_from = ?) DESC, created_at DESC LIMIT 1"
        )

        def work(conn: Connection) -> Report | None:
            row = conn.execute(sql, (key, key, key)).fetchone()
            return Report(*row) if row else None

        return self._run("report lookup", work)

    async def set_status(self, number: str, status: str) -> bool:
        """Move a report to ``status`` (as the unit does in APKT); False if unknown."""
        key = normalize_report_number(number)

        def work(conn: Connection) -> bool:
            cursor = conn.execute(
                "UPDATE reports SET status = ? WHERE number = ?", (status.upper(), key)
            )
            return cursor.rowcount > 0

        return self._run("set status", work)


def upsert_report(
    conn: Connection,
    report: Report,
    fields: dict[str, object] | None = None,
    *,
    mobile_number: str = "",
    mutated_from: str = "",
) -> None:
    """Insert or replace a report as APKT holds it (for demo and test data)."""
    conn.execute(
        "INSERT INTO reports (number, call_id, wo_type, problem_text, fields, created_at,"
        " status, idpel, caller_number, mobile_number, mutated_from, ctt_token,"
        " detail_status)"
        " VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(number) DO UPDATE SET wo_type = excluded.wo_type,"
        " problem_text = excluded.problem_text, fields = excluded.fields,"
        " created_at = excluded.created_at, status = excluded.status,"
        " idpel = excluded.idpel, caller_number = excluded.caller_number,"
        " mobile_number = excluded.mobile_number, mutated_from = excluded.mutated_from,"
        " ctt_token = excluded.ctt_token, detail_status = excluded.detail_status",
        (
            normalize_report_number(report.number),
            report.wo_type,
            report.problem_text,
            json.dumps(fields or {}, ensure_ascii=False),
            report.created_at,
            report.status.upper(),
            digits_only(report.idpel),
            normalize_phone(report.caller_number),
            normalize_phone(mobile_number),
            normalize_report_number(mutated_from),
            report.ctt_token,
            report.detail_status,
        ),
    )


# -- wiring ---------------------------------------------------------------------------


class EmbeddedDatabase:
    """One connection to the SQLite file and the backends over it.

    ``conn`` shares a connection opened elsewhere: ``pln123 serve`` gives the call
    store's, because SQLite drops a connection's page cache whenever another connection
    has committed, and the call store commits on every answer; on a connection of its
    own every CRM lookup would read its pages afresh. Both run on the event loop's
    thread, one statement or transaction at a time.

    The outage, announcement and hours boards read on connections of their own (they poll
    ``control_version`` at most every ``outage_poll_seconds``; the simulator and the
    scenario runner pass 0, so an outage a scenario declares is in force for its very
    next call).
    """

    def __init__(
        self,
        path: Location,
        now: Callable[[], datetime] = utc_now,
        conn: Connection | None = None,
        *,
        outage_poll_seconds: float = 2.0,
    ) -> None:
        self.path: Location = path if is_postgres(path) else Path(path)
        self._owned = conn is None
        self.conn = open_database(self.path) if conn is None else conn
        self._now = now
        self.outage_board = OutageBoard(self.path, poll_seconds=outage_poll_seconds)
        self.announcement_board = AnnouncementBoard(self.path, poll_seconds=outage_poll_seconds)
        self.hours_board = HoursBoard(self.path, poll_seconds=outage_poll_seconds)

    def backends(self) -> Backends:
        """CRM, customer data, APKT, AP2T, ITSM, outages, the announcement and ops'
        hours changes, sharing this connection."""
        return Backends(
            crm=EmbeddedCrm(self.conn),
            customers=EmbeddedCustomers(self.conn),
            apkt=EmbeddedApkt(self.conn, now=self._now),
            callbacks=EmbeddedCallbacks(self.conn),
            ap2t=EmbeddedAp2t(self.conn, now=self._now),
            itsm=EmbeddedItsm(self.conn, now=self._now),
            outages=EmbeddedOutages(self.outage_board, self.conn),
            announcements=EmbeddedAnnouncements(self.announcement_board),
            hours=EmbeddedHours(self.hours_board),
        )

    def close(self) -> None:
        """Close the connection if it is this object's own (the backends stop working),
        and the boards'."""
        self.outage_board.close()
        self.announcement_board.close()
        self.hours_board.close()
        if self._owned:
            self.conn.close()
