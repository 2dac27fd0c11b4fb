"""One person's data in the call store: found by phone number or IDPEL, exported as
JSON, or erased (``pln123 privacy export|erase``).

What belongs to the person:

- their *calls*: calls from their phone number (in any form: ``0812...``,
  ``+62812...``, ``62812...``, with spaces or dashes), or about their IDPEL (the IDPEL
  the call settled on). A call comes whole: its record, answers, screen-pop, pop
  deliveries, call-back tasks and what the IVR filed for it (reports, APKT issues, ITSM
  tickets and notes, AP2T power-change requests).
- *mentions* in other calls: an answer that is their number or IDPEL (a call-back
  number, a mobile number for a report), a call-back task to their number, a pop
  delivery from it, a report, issue, ticket or AP2T request naming it, a screen-pop
  holding it. Only those rows, not the other caller's call.
- *master data*: the CRM's record of their phone number (``crm_callers``), the customer
  record and AP2T account of their IDPEL (``customers``, ``ap2t_accounts``). These are
  the utility's own records, which it keeps under its contracts and the law whatever
  the IVR does: an export shows them, an erase leaves them (and says so). So are the
  reports, issues, tickets and AP2T requests naming the person that no IVR call filed
  (the embedded APKT, ITSM and AP2T's own records).

An erase on request goes out of time order: a contained call of someone else that
this person's erased call had repeated counts as truly contained from then on (the
retention sweep, oldest first, keeps true containment exact; see
:func:`ivr.privacy.retention._link`).

Erasing overwrites the same fields :mod:`ivr.privacy.retention` erases, and logs one
``privacy.erase`` row to the audit log with the counts and the masked selector.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ivr.backends.sqlite_base import immediate
from ivr.domain.callerid import mask, national
from ivr.privacy.retention import (
    BATCH_PAUSE,
    ERASED,
    TABLES,
    Expiring,
    RepeatWindow,
    erase_calls,
)
from ivr.store.control import record_audit
from ivr.store.dbapi import Connection

#: Calls erased in one transaction.
BATCH_CALLS = 100
#: Columns holding JSON, shown parsed in an export.
JSON_COLUMNS = frozenset({"variables", "data", "fields", "path", "asks"})
#: What an export and an erase say of master data.
MASTER_DATA_NOTE = (
    "master data (crm_callers, customers, ap2t_accounts, and reports, issues, tickets"
    " and AP2T requests no IVR call filed) is the utility's own record, kept under its"
    " contracts: `pln123 privacy erase` leaves it; correct or delete it in the CRM,"
    " APKT, ITSM or AP2T"
)


class SelectorError(ValueError):
    """A person selector that cannot be used (no digits, or none or both given)."""


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def phone_key(text: str | None) -> str:
    """A phone number as the store is searched by: its national form (``0812...``) when
    it is an Indonesian number in any form, else its digits; "" without digits."""
    if not text:
        return ""
    return national(text) or _digits(text)


@dataclass(frozen=True)
class Person:
    """Whom to look for: a phone number (national form) or an IDPEL (digits)."""

    phone: str = ""
    idpel: str = ""

    @classmethod
    def of(cls, phone: str | None, idpel: str | None) -> Person:
        """From the command line's ``--phone`` / ``--idpel``; exactly one must be given
        and hold digits, else :class:`SelectorError`."""
        if (phone is None) == (idpel is None):
            raise SelectorError("give exactly one of --phone or --idpel")
        if phone is not None:
            key = phone_key(phone)
            if len(_digits(phone)) < 5 or not key:
                raise SelectorError(f"--phone {phone!r} is no phone number")
            return cls(phone=key)
        assert idpel is not None
        digits = _digits(idpel)
        if not digits or digits != idpel.strip().replace(" ", "").replace("-", ""):
            raise SelectorError(f"--idpel {idpel!r} is no IDPEL (digits only)")
        return cls(idpel=digits)

    @property
    def subject(self) -> str:
        """The audit log's subject: the selector, masked."""
        return f"phone:{mask(self.phone)}" if self.phone else f"idpel:{mask(self.idpel)}"

    @property
    def selector(self) -> dict[str, str]:
        return {"phone": self.phone} if self.phone else {"idpel": self.idpel}


def _spread(digits: str) -> str:
    """A LIKE pattern every text holding ``digits`` in order matches, whatever lies
    between them (``+62 812-3456``, ``0812 3456``): the store narrows the rows down,
    and :func:`phone_key` or :func:`_digits` in Python decides, the same on SQLite and
    PostgreSQL."""
    return "%" + "%".join(digits) + "%"


#: Keeps the rows that really name the person, among those a LIKE pattern found.
RowTest = Callable[[dict[str, Any]], bool]


def _phone_test(columns: Sequence[str], phone: str) -> RowTest:
    return lambda row: any(row[c] and phone_key(row[c]) == phone for c in columns)


def _digits_test(column: str, digits: str) -> RowTest:
    return lambda row: _digits(row[column] or "") == digits


def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        for name in JSON_COLUMNS & row.keys():
            with contextlib.suppress(TypeError, ValueError):
                row[name] = json.loads(row[name]) if row[name] else row[name]
        rows.append(row)
    return rows


def _in(ids: Sequence[Any]) -> str:
    return ", ".join("?" * len(ids))


def own_call_ids(conn: Connection, person: Person) -> list[str]:
    """The person's calls (from their number, or about their IDPEL), oldest first."""
    if person.phone:
        found = _rows(
            conn,
            "SELECT id, caller FROM calls WHERE caller LIKE ? ORDER BY started_at",
            (_spread(person.phone.lstrip("0")),),
        )
        keep = _phone_test(["caller"], person.phone)
        return [row["id"] for row in found if keep(row)]
    else:
        rows = conn.execute(
            "SELECT id FROM calls WHERE idpel = ? ORDER BY started_at", (person.idpel,)
        )
    return [call_id for (call_id,) in rows]


#: Per table of mentions: the columns that may hold the person's phone number, and
#: those that may hold their IDPEL.
_MENTION_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "answers": (("value",), ("value",)),
    "callbacks": (("number",), ()),
    "pop_deliveries": (("caller",), ()),
    "reports": (("caller_number", "mobile_number"), ("idpel",)),
    "apkt_issues": (("caller_number",), ("idpel",)),
    "itsm_tickets": (("caller_number",), ()),
    "ap2t_registrations": ((), ("idpel",)),
}
#: Tables of the embedded backends whose rows without a call are the backend's own.
_BACKEND_TABLES = frozenset({"reports", "apkt_issues", "itsm_tickets", "ap2t_registrations"})
#: Each mention table's column naming the call it belongs to.
_CALL_COLUMN = {"pop_deliveries": "pop_id"}


def _mention_where(table: str, person: Person) -> tuple[str, list[str], RowTest] | None:
    """How to find the rows of ``table`` naming ``person``: a WHERE clause with its
    parameters, and the test the rows it returns must pass."""
    phones, idpels = _MENTION_COLUMNS[table]
    if person.phone and phones:
        where = " OR ".join(f"{c} LIKE ?" for c in phones)
        pattern = _spread(person.phone.lstrip("0"))
        return where, [pattern] * len(phones), _phone_test(phones, person.phone)
    if person.idpel and table == "answers":
        return "value LIKE ?", [_spread(person.idpel)], _digits_test("value", person.idpel)
    if person.idpel and idpels:
        return f"{idpels[0]} = ?", [person.idpel], lambda row: True
    return None


def _screenpop_needle(person: Person) -> str:
    """What a screen-pop's JSON holds when it names the person: the IDPEL, or the
    number without its leading 0 (found in ``0812...``, ``+62812...``, ``62812...``)."""
    return person.idpel or person.phone.lstrip("0")


def _mentions(conn: Connection, person: Person, own: set[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for table in _MENTION_COLUMNS:
        match = _mention_where(table, person)
        if match is None:
            continue
        where, params, keep = match
        call_column = _CALL_COLUMN.get(table, "call_id")
        rows = _rows(conn, f"SELECT rowid AS _rowid, * FROM {table} WHERE {where}", params)
        found[table] = [row for row in rows if keep(row) and row.get(call_column) not in own]
    for table in _BACKEND_TABLES & found.keys():
        found[table] = [row for row in found[table] if row.get("call_id")]
    needle = _screenpop_needle(person)
    found["screenpops"] = [
        row
        for row in _rows(
            conn,
            "SELECT rowid AS _rowid, * FROM screenpops WHERE data LIKE ?",
            (f"%{needle}%",),
        )
        if row["call_id"] not in own
    ]
    return found


def _backend_records(conn: Connection, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Reports, issues, tickets and AP2T requests naming the person that no IVR call
    filed: the backends' own records (the embedded APKT, ITSM, AP2T), kept like master
    data."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in sorted(_BACKEND_TABLES):
        match = _mention_where(table, person)
        if match is not None:
            where, params, keep = match
            rows = _rows(
                conn,
                f"SELECT * FROM {table} WHERE ({where}) AND (call_id IS NULL OR call_id = '')",
                params,
            )
            rows = [row for row in rows if keep(row)]
            if rows:
                found[table] = rows
    return found


def _master_data(conn: Connection, person: Person) -> dict[str, list[dict[str, Any]]]:
    if person.phone:
        return {
            "crm_callers": [
                row
                for row in _rows(
                    conn,
                    "SELECT * FROM crm_callers WHERE phone LIKE ?",
                    (_spread(person.phone.lstrip("0")),),
                )
                if _phone_test(["phone"], person.phone)(row)
            ],
            **_backend_records(conn, person),
        }
    return {
        **_backend_records(conn, person),
        "customers": _rows(conn, "SELECT * FROM customers WHERE idpel = ?", (person.idpel,)),
        "ap2t_accounts": _rows(
            conn, "SELECT * FROM ap2t_accounts WHERE idpel = ?", (person.idpel,)
        ),
    }


def _call_records(conn: Connection, call_ids: Sequence[str]) -> list[dict[str, Any]]:
    calls = []
    for call_id in call_ids:
        (call,) = _rows(conn, "SELECT * FROM calls WHERE id = ?", (call_id,))
        one = (call_id,)
        call["answers"] = _rows(
            conn,
            "SELECT seq, node, ask, value, via, at FROM answers WHERE call_id = ? ORDER BY seq",
            one,
        )
        call["screenpops"] = _rows(conn, "SELECT * FROM screenpops WHERE id = ?", one)
        call["pop_deliveries"] = _rows(conn, "SELECT * FROM pop_deliveries WHERE pop_id = ?", one)
        for table in ("callbacks", "reports", "apkt_issues", "ap2t_registrations"):
            call[table] = _rows(conn, f"SELECT * FROM {table} WHERE call_id = ?", one)
        call["itsm_tickets"] = _rows(conn, "SELECT * FROM itsm_tickets WHERE call_id = ?", one)
        call["itsm_activity"] = _rows(conn, "SELECT * FROM itsm_activity WHERE call_id = ?", one)
        calls.append(call)
    return calls


def export_person(conn: Connection, person: Person, now: float) -> dict[str, Any]:
    """Everything the store holds about ``person``, as JSON-ready data: ``calls`` (each
    with what the IVR stored for it), ``mentions`` in other calls, ``master_data``."""
    own = own_call_ids(conn, person)
    mentions = _mentions(conn, person, set(own))
    for rows in mentions.values():
        for row in rows:
            row.pop("_rowid", None)
    return {
        "selector": person.selector,
        "exported_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "calls": _call_records(conn, own),
        "mentions": {table: rows for table, rows in mentions.items() if rows},
        "master_data": _master_data(conn, person),
        "note": MASTER_DATA_NOTE,
    }


def has_personal_data(export: dict[str, Any]) -> bool:
    """Does an export hold any call record or mention (master data aside)?"""
    return bool(export["calls"]) or any(export["mentions"].values())


#: Per mention table: what an erase writes over a matching row.
_ERASE_MENTION = {
    "answers": f"value = '{ERASED}'",
    "callbacks": "number = '', erased_at = :now",
    "pop_deliveries": "caller = '', erased_at = :now",
    "reports": "idpel = '', caller_number = '', mobile_number = '', fields = '{}',"
    f" problem_text = '{ERASED}', erased_at = :now",
    "apkt_issues": f"description = '{ERASED}', caller_number = '', idpel = '', erased_at = :now",
    "itsm_tickets": f"description = '{ERASED}', caller_number = '', fields = '{{}}',"
    " erased_at = :now",
    "ap2t_registrations": "idpel = '', fields = '{}', erased_at = :now",
    "screenpops": "data = '{}', erased_at = :now",
}


def _expiring(conn: Connection, call_ids: Iterable[str]) -> list[Expiring]:
    """Each call with its 24-hour repeat worked out, before erasure."""
    calls = []
    for call_id in call_ids:
        row = conn.execute(
            "SELECT caller, idpel, started_at, result FROM calls WHERE id = ?", (call_id,)
        ).fetchone()
        calls.append(RepeatWindow(conn).expiring(call_id, *row))
    return calls


def erase_person(conn: Connection, person: Person, *, actor: str, now: float) -> dict[str, int]:
    """Erase ``person``'s calls whole and their mentions in other calls; master data is
    left. Logs ``privacy.erase`` to the audit log; returns rows touched per table."""
    own = own_call_ids(conn, person)
    mentions = _mentions(conn, person, set(own))
    totals: Counter[str] = Counter({table: 0 for table in TABLES})
    calls = _expiring(conn, own)
    for start in range(0, len(calls), BATCH_CALLS):
        if start:
            time.sleep(BATCH_PAUSE)  # let a serving IVR's writes in between batches
        totals.update(erase_calls(conn, calls[start : start + BATCH_CALLS], now))
    with immediate(conn):
        for table, rows in mentions.items():
            for row in rows:
                touched = conn.execute(
                    f"UPDATE {table} SET {_ERASE_MENTION[table]} WHERE rowid = :rowid",
                    {"now": now, "rowid": row["_rowid"]},
                ).rowcount
                totals[table] += touched
        counts = {table: count for table, count in totals.items() if count}
        record_audit(
            conn,
            actor,
            "privacy.erase",
            person.subject,
            None,
            {"erased": counts, "master_data": "kept"},
            now,
        )
    return dict(totals)
