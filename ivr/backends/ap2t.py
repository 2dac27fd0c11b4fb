"""The embedded AP2T: power-change checks and registrations in the IVR's SQLite file.

``ap2t_accounts`` holds what AP2T would say of a customer (arrears, a notice that the
request must go to a unit, what the network needs); a customer without a row owes
nothing and may change power with a service line of up to 30 m. ``ap2t_registrations``
keeps every request saved, with the whole form in ``fields``.

Registration numbers are the local WIB date ``YYMMDD`` and a 6-digit daily sequence
(12 digits, read to the caller in groups of four), picked and inserted in one
``BEGIN IMMEDIATE`` transaction so two calls never get the same number. A site with the
real AP2T replaces this class with its own :class:`~ivr.backends.ports.Ap2tPort`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta

from ivr.backends.ports import (
    BackendError,
    PowerChangeCheck,
    PowerChangeRegistration,
    PowerChangeRequest,
)
from ivr.backends.sqlite_base import (
    WIB,
    SqliteBackend,
    digits_only,
    immediate,
    iso_time,
    normalize_phone,
)
from ivr.store.dbapi import Connection

#: Days a registration number can be paid with (SOP tambah daya, step 15).
VALID_DAYS = 30
SEQUENCE_DIGITS = 6
NETWORK_WORK = ("sr", "jtr", "jtm")


class EmbeddedAp2t(SqliteBackend):
    """AP2T over the shared SQLite connection; ``now`` is the clock (tests fix it)."""

    #: Answers without awaiting: the guard arms no timer (see :mod:`ivr.backends.guarded`).
    runs_on_loop = True

    _what = "embedded AP2T"

    async def arrears(self, idpel: str) -> int:
        """Rupiah owed by the customer (0 without an ``ap2t_accounts`` row)."""

        def work(conn: Connection) -> int:
            row = conn.execute(
                "SELECT arrears_rp FROM ap2t_accounts WHERE idpel = ?", (digits_only(idpel),)
            ).fetchone()
            return int(row[0]) if row else 0

        return self._run("arrears lookup", work)

    async def check_power_change(self, idpel: str, target_power_va: int) -> PowerChangeCheck:
        """The account's notice and network work (the same for every target here)."""

        def work(conn: Connection) -> PowerChangeCheck:
            row = conn.execute(
                "SELECT refusal, network_work FROM ap2t_accounts WHERE idpel = ?",
                (digits_only(idpel),),
            ).fetchone()
            return PowerChangeCheck(row[0], row[1]) if row else PowerChangeCheck()

        return self._run("power change check", work)

    async def register_power_change(self, request: PowerChangeRequest) -> PowerChangeRegistration:
        """Save the request; its number and the last day it can be paid with."""
        moment = self._now()
        local = moment.astimezone(WIB)
        prefix = local.strftime("%y%m%d")
        valid_until = (local.date() + timedelta(days=VALID_DAYS)).isoformat()
        fields = asdict(request) | {
            "mobile_number": normalize_phone(request.mobile_number),
            "caller_number": normalize_phone(request.caller_number),
        }

        def work(conn: Connection) -> PowerChangeRegistration:
            with immediate(conn):
                (last,) = conn.execute(
                    "SELECT MAX(number) FROM ap2t_registrations WHERE number LIKE ?",
                    (prefix + "_" * SEQUENCE_DIGITS,),
                ).fetchone()
                sequence = int(last[len(prefix) :]) + 1 if last else 1
                if sequence >= 10**SEQUENCE_DIGITS:
                    raise BackendError(f"embedded AP2T: no registration numbers left for {prefix}")
                number = f"{prefix}{sequence:0{SEQUENCE_DIGITS}d}"
                conn.execute(
                    "INSERT INTO ap2t_registrations (number, call_id, idpel, target_power_va,"
                    " fields, created_at, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        number,
                        request.call_id,
                        digits_only(request.idpel),
                        request.target_power_va,
                        json.dumps(fields, ensure_ascii=False),
                        iso_time(moment),
                        valid_until,
                    ),
                )
            return PowerChangeRegistration(number, valid_until)

        return self._run("power change registration", work)


def upsert_account(
    conn: Connection,
    idpel: str,
    *,
    arrears_rp: int = 0,
    refusal: str = "",
    network_work: str = "sr",
) -> None:
    """Insert or replace what AP2T says of a customer (demo data, tests)."""
    if network_work not in NETWORK_WORK:
        raise ValueError(f"network_work must be one of {NETWORK_WORK}, not {network_work!r}")
    conn.execute(
        "INSERT INTO ap2t_accounts (idpel, arrears_rp, refusal, network_work)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(idpel) DO UPDATE SET"
        " arrears_rp = excluded.arrears_rp, refusal = excluded.refusal,"
        " network_work = excluded.network_work",
        (digits_only(idpel), arrears_rp, refusal, network_work),
    )
