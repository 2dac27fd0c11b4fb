"""``pln123 outage add|list|end``: outage announcements (gangguan meluas) in the store.

Writes the call store the serving IVR reads (``db_path``); workers see a change within
seconds (:class:`ivr.store.control.OutageBoard`). Every bad input is one line on
stderr and exit status 2, with nothing stored. Times shown are WIB.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from pydantic import ValidationError

from ivr.cli.store_access import cli_store
from ivr.config import load_settings
from ivr.domain.outages import (
    ACTIVE,
    SCHEDULED,
    Outage,
    OutageInvalid,
    format_time,
)
from ivr.store.control import (
    ControlError,
    declare_outage,
    end_outage,
    list_outages,
    outage_counts,
)
from ivr.store.dbapi import Connection, DatabaseError, describe
from ivr.store.schema import migrate

#: The clock (tests set it).
_now = time.time

BY_HELP = "Who makes the change, for the audit log. [cli:<login name>]"


def default_actor() -> str:
    """``cli:<login name>``, the audit log's actor when ``--by`` is not given."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without a user entry)
        return "cli:unknown"


def actor_name(by: str | None) -> str:
    """The audit log's actor of a command: ``--by`` stripped (a blank one is refused),
    else :func:`default_actor`."""
    if by is None:
        return default_actor()
    if not by.strip():
        raise click.BadParameter("give a name, or leave --by out", param_hint="--by")
    return by.strip()


@contextmanager
def control_store() -> Iterator[Connection]:
    """The call store named by the settings, brought up to date (the control tables
    arrived in migration 11); a ClickException when there is none."""
    try:
        settings = load_settings()
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    with cli_store(settings) as conn:
        try:
            migrate(conn)
        except DatabaseError as exc:
            raise click.ClickException(f"{describe(settings.store_location)}: {exc}") from exc
        yield conn


def _units_text(outage: Outage) -> str:
    text = ", ".join(outage.units)
    return text + (f" (area {', '.join(outage.area_codes)})" if outage.area_codes else "")


def summary(outage: Outage) -> str:
    """One line: what an outage covers and until when."""
    report = f", report {outage.report_number}" if outage.report_number else ""
    return f"{_units_text(outage)} until {format_time(outage.until)}{report}: {outage.message}"


@click.group()
def outage() -> None:
    """Outage announcements (gangguan meluas) callers of the units hit hear."""


@outage.command("add")
@click.option(
    "--unit",
    "units",
    multiple=True,
    help="A unit (UP3) or posko (ULP) as the customer records name it; repeat for more.",
)
@click.option(
    "--area-code",
    "area_codes",
    multiple=True,
    help="Fixed-line callers of this area code (021, 0361) hear it too; repeat for more.",
)
@click.option("--message", required=True, help="What callers hear (up to 500 characters).")
@click.option(
    "--until",
    required=True,
    help="When power is expected back: ISO 8601 with an offset, YYYY-MM-DD HH:MM, or"
    " HH:MM (the next such time), in --tz.",
)
@click.option(
    "--tz",
    "zone",
    type=click.Choice(["WIB", "WITA", "WIT"], case_sensitive=False),
    default="WIB",
    show_default=True,
    help="Zone of an --until without an offset.",
)
@click.option("--report", "report_number", default="", help="The master APKT report number.")
@click.option("--by", help=BY_HELP)
def outage_add(
    units: tuple[str, ...],
    area_codes: tuple[str, ...],
    message: str,
    until: str,
    zone: str,
    report_number: str,
    by: str | None,
) -> None:
    """Announce an outage from now until --until to callers of the units named."""
    actor = actor_name(by)
    with control_store() as conn:
        now = _now()
        try:
            added = declare_outage(
                conn,
                units=units,
                area_codes=area_codes,
                message=message,
                until=until,
                zone=zone,
                report_number=report_number,
                actor=actor,
                now=now,
            )
        except OutageInvalid as exc:
            raise click.BadParameter(str(exc), param_hint=exc.option) from exc
    click.echo(f"outage {added.id}: {summary(added)}")


@outage.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "show_all", is_flag=True, help="Ended and expired outages too.")
def outage_list(as_json: bool, show_all: bool) -> None:
    """Outages in force (with --all: every outage), newest first, with what callers did."""
    now = _now()
    with control_store() as conn:
        outages = [
            o
            for o in list_outages(conn, include_ended=show_all)
            if show_all or o.status(now) in (ACTIVE, SCHEDULED)
        ]
        counts = outage_counts(conn, [o.id for o in outages])
    if as_json:
        rows = [
            {
                **o.as_json(),
                "status": o.status(now),
                "until_wib": format_time(o.until),
                "counts": counts[o.id],
            }
            for o in outages
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        click.echo(render_table(outages, counts, now))


HEADINGS = ("id", "units", "until", "status", "heard", "attached", "cso", "hung up")


def render_table(outages: Sequence[Outage], counts: dict[int, dict[str, int]], now: float) -> str:
    """The terminal table of ``outage list``: until in WIB."""
    if not outages:
        return "no outages"
    rows: list[tuple[str, ...]] = [HEADINGS]
    for o in outages:
        c = counts[o.id]
        rows.append(
            (
                str(o.id),
                _units_text(o),
                format_time(o.until),
                o.status(now),
                *(str(c[event]) for event in ("heard", "attached", "cso", "hung_up")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADINGS))]
    lines = []
    for row in rows:
        cells: list[Any] = [
            cell.rjust(width) if i == 0 or i > 3 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


@outage.command("end")
@click.argument("outage_id", metavar="ID", type=int)
@click.option("--by", help=BY_HELP)
def outage_end(outage_id: int, by: str | None) -> None:
    """End outage ID now: callers no longer hear it."""
    actor = actor_name(by)
    with control_store() as conn:
        now = _now()
        try:
            ended = end_outage(conn, outage_id, actor, now)
        except ControlError as exc:
            raise click.BadParameter(str(exc), param_hint="ID") from exc
    assert ended.ended_at is not None
    click.echo(f"outage {outage_id} ended at {format_time(ended.ended_at)}: {summary(ended)}")
