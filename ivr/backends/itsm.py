"""The embedded ITSM: service-desk tickets and their notes in the IVR's SQLite file.

``itsm_tickets`` holds each ticket (the whole form in ``fields``); ``itsm_activity`` is
each ticket's history in order, as ITSM's "Activity History" shows it: made (``baru``)
and the "NEW NOTES" added (``catatan``), each with the call that did it. A site with the
real ITSM (``itsm.pln.co.id``) replaces :class:`EmbeddedItsm` with its own
:class:`~ivr.backends.ports.ItsmPort`.

Ticket numbers are digits like ITSM's Incident IDs (``733905`` in the SOP): the next
number after the largest in the table, and never below :data:`FIRST_NUMBER`. The number
is picked and the row inserted in one ``BEGIN IMMEDIATE`` transaction, so two calls (or
two processes on the same file) never get the same number.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from ivr.backends.ports import BackendError, ItsmTicket, TicketRequest
from ivr.backends.sqlite_base import (
    SqliteBackend,
    digits_only,
    immediate,
    iso_time,
    normalize_phone,
)
from ivr.domain.pln_mobile import STATUS_LOGGED, is_ticket_number
from ivr.store.dbapi import Connection

#: The first number this ITSM gives (above the demo tickets), and the last one (8 digits).
FIRST_NUMBER = 800001
LAST_NUMBER = 99_999_999

_COLUMNS = "number, status, summary, description, caller_number, created_at, cites_ticket"
#: ``itsm_activity.event`` of a ticket made and of a note added.
EVENT_MADE = "baru"
EVENT_NOTE = "catatan"


class EmbeddedItsm(SqliteBackend):
    """ITSM over the shared SQLite connection; ``now`` is the clock (tests fix it)."""

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    _what = "embedded ITSM"

    async def create_ticket(self, request: TicketRequest) -> ItsmTicket:
        """Save a ticket with status Logged under the next free number."""
        created_at = iso_time(self._now())
        caller = normalize_phone(request.caller_number)
        cites = digits_only(request.cites_ticket)
        fields = json.dumps(asdict(request), ensure_ascii=False)

        def work(conn: Connection) -> ItsmTicket:
            with immediate(conn):
                (last,) = conn.execute("SELECT MAX(number) FROM itsm_tickets").fetchone()
                number = max(int(last or 0) + 1, FIRST_NUMBER)
                if number > LAST_NUMBER:
                    raise BackendError("embedded ITSM: no ticket numbers left")
                conn.execute(
                    "INSERT INTO itsm_tickets (number, call_id, status, summary, description,"
                    " caller_number, cites_ticket, fields, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        number,
                        request.call_id,
                        STATUS_LOGGED,
                        request.summary,
                        request.description,
                        caller,
                        cites,
                        fields,
                        created_at,
                    ),
                )
                conn.execute(
                    "INSERT INTO itsm_activity (ticket, call_id, event, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (number, request.call_id, EVENT_MADE, created_at),
                )
            return ItsmTicket(
                number=str(number),
                status=STATUS_LOGGED,
                summary=request.summary,
                description=request.description,
                caller_number=caller,
                created_at=created_at,
                cites_ticket=cites,
            )

        return self._run("create ticket", work)

    async def ticket(self, number: str) -> ItsmTicket | None:
        """By number (spaces and dashes ignored); None for no such ticket."""
        key = digits_only(number)
        if not is_ticket_number(key):
            return None

        def work(conn: Connection) -> ItsmTicket | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM itsm_tickets WHERE number = ?", (int(key),)
            ).fetchone()
            if row is None:
                return None
            notes = tuple(
                note
                for (note,) in conn.execute(
                    "SELECT note FROM itsm_activity WHERE ticket = ? AND event = ? ORDER BY id",
                    (int(key), EVENT_NOTE),
                )
            )
            ticket_number, status, summary, description, caller, created_at, cites = row
            return ItsmTicket(
                str(ticket_number), status, summary, description, caller, created_at, cites, notes
            )

        return self._run("ticket lookup", work)

    async def add_note(self, number: str, note: str, call_id: str = "") -> bool:
        """Add a note to the ticket; False when there is no such ticket."""
        key = digits_only(number)
        if not is_ticket_number(key):
            return False
        created_at = iso_time(self._now())

        def work(conn: Connection) -> bool:
            cursor = conn.execute(
                "INSERT INTO itsm_activity (ticket, call_id, event, note, created_at)"
                " SELECT number, ?, ?, ?, ? FROM itsm_tickets WHERE number = ?",
                (call_id, EVENT_NOTE, note, created_at, int(key)),
            )
            return cursor.rowcount > 0

        return self._run("add note", work)


def upsert_ticket(conn: Connection, ticket: ItsmTicket) -> None:
    """Insert or replace a ticket as ITSM holds it; its activity history becomes the
    ticket's notes alone (demo and test data)."""
    number = int(digits_only(ticket.number))
    conn.execute(
        f"INSERT INTO itsm_tickets ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(number) DO UPDATE SET status = excluded.status,"
        " summary = excluded.summary, description = excluded.description,"
        " caller_number = excluded.caller_number, created_at = excluded.created_at,"
        " cites_ticket = excluded.cites_ticket",
        (
            number,
            ticket.status,
            ticket.summary,
            ticket.description,
            normalize_phone(ticket.caller_number),
            ticket.created_at,
            digits_only(ticket.cites_ticket),
        ),
    )
    conn.execute("DELETE FROM itsm_activity WHERE ticket = ?", (number,))
    for note in ticket.notes:
        conn.execute(
            "INSERT INTO itsm_activity (ticket, call_id, event, note, created_at)"
            " VALUES (?, '', ?, ?, ?)",
            (number, EVENT_NOTE, note, ticket.created_at),
        )


# -- demo data ----------------------------------------------------------------------------

#: Budi Santoso's ticket, still being worked on (reported again: a note, no new ticket).
DEMO_ACTIVE_TICKET = "733905"
#: Siti Aminah's ticket, resolved (reported again: a new ticket citing it).
DEMO_RESOLVED_TICKET = "748975"

DEMO_TICKETS: tuple[ItsmTicket, ...] = (
    ItsmTicket(
        number=DEMO_ACTIVE_TICKET,
        status="Active",
        summary="Pelanggan tidak dapat login",
        description=(
            "Mohon bantuannya aplikasi PLN Mobile Pelanggan tidak bisa login.\n"
            "Nama pelanggan : Bapak Budi Santoso\n"
            "Email : budi.santoso@example.com\n"
            "No. Telp. : 081234567890\n"
            "CC.54.DESI"
        ),
        caller_number="081234567890",
        created_at="2025-05-12T03:10:00.000+00:00",
    ),
    ItsmTicket(
        number=DEMO_RESOLVED_TICKET,
        status="Resolved",
        summary="Pembayaran token melalui GoPay belum masuk ke riwayat transaksi",
        description=(
            "Mohon bantuannya, pembelian token melalui GoPay berhasil dibayar namun tidak"
            " tampil pada menu Riwayat aplikasi PLN Mobile.\n"
            "Nama pelanggan : Ibu Siti Aminah\n"
            "Email : siti.aminah@example.com\n"
            "No. Telp. : 0215551234\n"
            "CC.54.DESI"
        ),
        caller_number="0215551234",
        created_at="2025-04-28T07:45:00.000+00:00",
    ),
)


def seed_demo_tickets(conn: Connection) -> int:
    """Put the demo tickets back as :data:`DEMO_TICKETS` describes them (status, no notes,
    no activity);
    returns how many. Runs inside the caller's transaction (:func:`ivr.backends.demo.seed`)."""
    for ticket in DEMO_TICKETS:
        upsert_ticket(conn, ticket)
    return len(DEMO_TICKETS)
