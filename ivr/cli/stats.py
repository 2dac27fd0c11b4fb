"""``pln123 stats``: how the calls of a range went, as a table, JSON or CSV.

Reads the call store read-only, so it can run beside a serving IVR. Times without a
zone are in the configured ``default_timezone`` (WIB by default).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from pydantic import ValidationError

from ivr.cli.store_access import cli_store
from ivr.config import load_settings
from ivr.domain.outages import EVENTS
from ivr.engine.library import flow_files
from ivr.ops.stats import EXITS, WATERFALL, compute_stats, waterfall
from ivr.store.dbapi import Connection, DatabaseError, describe

#: The columns of ``--csv``: one row per node of every flow.
CSV_COLUMNS = ("flow", "node", "entered", *EXITS, "seconds_p50")
#: The columns of ``--csv --csv-table outages``: one row per outage.
OUTAGE_CSV_COLUMNS = (
    "id",
    "units",
    "area_codes",
    "report_number",
    "starts_at",
    "until",
    "ended_at",
    *EVENTS,
    "message",
)
OUTAGE_HEADINGS = ("outage", "units", "until", "heard", "attached", "cso", "hung up")
WATERFALL_HEADINGS = tuple("to CSO" if column == "cso" else column for column in WATERFALL)
_FORMATS = "YYYY-MM-DD, YYYY-MM-DDTHH:MM, today, yesterday or now"


class When(click.ParamType[datetime]):
    """A moment: an ISO date or date-time (local when it has no zone), ``today``,
    ``yesterday`` or ``now``. A date alone is its midnight; as an ``--until`` it means
    the end of that day."""

    name = "time"

    def __init__(self, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip().lower()
        zone = _zone()
        today = datetime.now(zone).date()
        day = {"today": today, "yesterday": today - timedelta(days=1)}.get(text)
        if text == "now":
            return datetime.now(zone)
        if day is None:
            try:
                moment = datetime.fromisoformat(text.upper())
            except ValueError:
                self.fail(f"{value!r} is not a time; use {_FORMATS}", param, ctx)
            if len(text) > 10:  # a date-time, not a date alone
                return moment if moment.tzinfo else moment.replace(tzinfo=zone)
            day = moment.date()
        start = datetime.combine(day, time(), zone)
        return start + timedelta(days=1) if self.end_of_day else start


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(load_settings().default_timezone)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


@click.command()
@click.option("--since", type=When(), help=f"Start of the range ({_FORMATS}). [today]")
@click.option(
    "--until",
    type=When(end_of_day=True),
    help="End of the range, not included; a date alone includes that day. [end of today]",
)
@click.option("--flow", help="Only calls that began in this flow.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print each node's exits as CSV.")
@click.option(
    "--csv-table",
    type=click.Choice(["nodes", "outages"]),
    default="nodes",
    show_default=True,
    help="What --csv prints: each node's exits, or each outage announcement's counts.",
)
def stats(
    since: datetime | None,
    until: datetime | None,
    flow: str | None,
    as_json: bool,
    as_csv: bool,
    csv_table: str,
) -> None:
    """How the calls that started in a range went: outcomes, containment, CSO reasons,
    time in the IVR, every node's exits, and what callers did after an outage
    announcement."""
    try:
        settings = load_settings()
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    zone = ZoneInfo(settings.default_timezone)
    since = since or datetime.combine(datetime.now(zone).date(), time(), zone)
    until = until or since + timedelta(days=1)
    if until <= since:
        raise click.BadParameter(
            f"{until.isoformat()} is not after --since {since.isoformat()}", param_hint="--until"
        )
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    with cli_store(settings, read_only=True) as conn:
        if flow is not None and flow not in _known_flows(conn, settings.flows_dir):
            raise click.BadParameter(f"no flow named {flow!r}", param_hint="--flow")
        try:
            figures = compute_stats(conn, since, until, flow=flow, tz=settings.default_timezone)
        except DatabaseError as exc:
            raise click.ClickException(
                f"{describe(settings.store_location)}: {exc}; the store may be older than"
                " this IVR (see `pln123 db status`)"
            ) from exc
    if as_json:
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    elif as_csv and csv_table == "outages":
        _write_outage_csv(figures)
    elif as_csv:
        _write_csv(figures)
    else:
        click.echo(render_table(figures))


def _known_flows(conn: Connection, flows_dir: Path) -> set[str]:
    """Flows in the flow folder and flows calls have run (a flow since removed)."""
    names = {path.stem for path in flow_files(flows_dir)} if flows_dir.is_dir() else set()
    names.update(name for (name,) in conn.execute("SELECT DISTINCT flow FROM calls"))
    return names


def _write_csv(figures: dict[str, Any]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for flow, data in figures["flows"].items():
        for node_id, node in data["nodes"].items():
            exits = node["exits"]
            writer.writerow(
                [
                    flow,
                    node_id,
                    node["entered"],
                    *(exits.get(exit, 0) for exit in EXITS),
                    "" if node["seconds_p50"] is None else node["seconds_p50"],
                ]
            )


def _write_outage_csv(figures: dict[str, Any]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(OUTAGE_CSV_COLUMNS)
    for outage in figures["outages"]:
        writer.writerow([_csv_cell(outage[column]) for column in OUTAGE_CSV_COLUMNS])


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(value)
    return "" if value is None else value


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def _cell(value: float | None, suffix: str = "%") -> str:
    return "-" if value is None else f"{value:.1f}{suffix}"


def _local(iso: str) -> str:
    """An ISO time of the figures as ``2026-03-01 16:00 WIB`` (the offset when it is
    none of Indonesia's three zones)."""
    moment = datetime.fromisoformat(iso)
    offset = moment.utcoffset()
    hours = None if offset is None else offset.total_seconds() / 3600
    zone = {7: "WIB", 8: "WITA", 9: "WIT"}.get(int(hours)) if hours in (7, 8, 9) else None
    return moment.strftime("%Y-%m-%d %H:%M ") + (zone or moment.strftime("%z"))


def _outage_lines(outages: list[dict[str, Any]]) -> list[str]:
    """The outage table: each announcement and what the range's callers did after it."""
    if not outages:
        return []
    rows: list[tuple[str, ...]] = [OUTAGE_HEADINGS]
    for outage in outages:
        rows.append(
            (
                str(outage["id"]),
                ", ".join(outage["units"] + outage["area_codes"]),
                _local(outage["until"]),
                *(str(outage[event]) for event in EVENTS),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(OUTAGE_HEADINGS))]
    lines = ["", "Outage announcements (gangguan meluas)"]
    for row in rows:
        cells = [
            cell.rjust(width) if i == 0 or i > 2 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def render_table(figures: dict[str, Any]) -> str:
    """The terminal table of :func:`ivr.ops.stats.compute_stats`' figures."""
    aht = figures["aht_seconds"]
    lines = [
        f"Calls from {figures['since']} to {figures['until']}"
        + (f", flow {figures['flow']}" if figures["flow"] else ""),
        "",
        f"  calls      {figures['calls']:>8}"
        + (f"   ({figures['open']} open)" * bool(figures["open"])),
        f"  contained  {figures['contained']:>8}"
        f"   containment {_percent(figures['containment_rate'])}"
        f", true containment {_percent(figures['true_containment_rate'])}",
        f"  to a CSO   {figures['cso']:>8}",
        f"  abandoned  {figures['abandoned']:>8}   {_percent(figures['abandon_rate'])}",
        f"  time in the IVR: p50 {_cell(aht['p50'], ' s')}, p90 {_cell(aht['p90'], ' s')}",
    ]
    if figures["cso_by_reason"]:
        reasons = ", ".join(
            f"{reason} {count}" for reason, count in figures["cso_by_reason"].items()
        )
        lines.append(f"  why a CSO: {reasons}")
    for queue, q in figures["queues"].items():
        lines.append(
            f"  queue {queue}: joined {q['joined']}, answered {q['answered']},"
            f" abandoned {q['abandoned']}, wait p50 {_cell(q['wait_p50'], ' s')}"
            f" p90 {_cell(q['wait_p90'], ' s')}"
        )
    lines += _outage_lines(figures["outages"])
    header = ("node", "entered", *WATERFALL_HEADINGS, "median s")
    for flow, data in figures["flows"].items():
        rows = [header]
        for node_id, node in data["nodes"].items():
            shares = waterfall(node)
            rows.append(
                (
                    node_id,
                    str(node["entered"]),
                    *(_cell(share) for share in shares.values()),
                    _cell(node["seconds_p50"], ""),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines += ["", f"Flow {flow}"]
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
            ]
            lines.append("  " + "  ".join(cells))
    return "\n".join(lines)
