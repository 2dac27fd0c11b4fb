"""``pln123 hours show|set|close|open|reset`` and ``pln123 holiday list|add|remove``:
ops' live changes to the CSO queues' opening hours and the holidays.

``flows/data/jam_layanan.yaml`` and ``hari_libur.yaml`` stay the defaults; a change is
stored in the call store the serving IVR reads (``db_path``), audited, and seen by
every worker within seconds (:class:`ivr.store.hours.HoursBoard`). Every bad input is
one line on stderr and exit status 2, with nothing stored. Times shown are WIB.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click
from pydantic import ValidationError

from ivr.cli.outage import BY_HELP, actor_name, control_store
from ivr.config import load_settings
from ivr.domain import holidays, hours
from ivr.domain.hours_overrides import (
    CLOSED,
    OPENED,
    ClosureState,
    LiveHours,
    check_closure,
    check_new_holiday,
    check_queue,
    check_removal,
    live_hours,
    new_schedule,
    parse_day,
    queue_view,
)
from ivr.domain.outages import OutageInvalid, format_time
from ivr.engine.library import DATA_FOLDER
from ivr.engine.loader import FlowError, load_data_file
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

#: The clock (tests set it).
_now = time.time

ZONES = click.Choice(["WIB", "WITA", "WIT"], case_sensitive=False)


def file_defaults() -> hours.QueueHours:
    """The two data files of ``flows_dir``, as the serving IVR loads them."""
    try:
        settings = load_settings()
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    data = settings.flows_dir / DATA_FOLDER
    tables: dict[str, object] = {}
    for name, model in (
        (hours.TABLE, hours.ServiceHoursTable),
        (holidays.TABLE, holidays.HolidayCalendar),
    ):
        file = data / f"{name}.yaml"
        if not file.is_file():
            continue
        try:
            tables[name] = load_data_file(file, model)
        except FlowError as exc:
            raise click.ClickException(f"{file}: {exc.problems[0]}") from exc
    return hours.QueueHours.from_tables(tables)


def _live(conn: Connection, defaults: hours.QueueHours) -> LiveHours:
    return live_hours(defaults, read_overrides(conn))


def _bad(exc: OutageInvalid) -> click.BadParameter:
    return click.BadParameter(str(exc), param_hint=exc.option)


def _lines(item: dict[str, Any]) -> list[str]:
    record = item["record"]
    days = ", ".join(f"{day} {record[day]}" for day in hours.DAY_KEYS)
    source = "jam_layanan.yaml"
    if item["schedule_set_by"]:
        source = f"ops: {item['schedule_set_by']} {format_time(item['schedule_set_at'])}"
    holiday = "open on holidays"
    if record["closed_on_holidays"]:
        holiday = "closed on " + ", ".join(record["holiday_kinds"])
    offer = f"callback {'yes' if record['callback'] else 'no'}"
    offer += f", alternative {record['alternative_queue'] or '-'}"
    return [
        f"{item['queue']}: {item['status']}",
        f"  hours ({source}): {record['zone']} " + ("24/7" if record["always_open"] else days),
        f"  {holiday}; out of hours: {offer}",
    ]


@click.group("hours")
def hours_group() -> None:
    """Opening hours of the CSO queues, changed live over jam_layanan.yaml."""


@hours_group.command("show")
@click.argument("queue", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def hours_show(queue: str | None, as_json: bool) -> None:
    """Each queue (or QUEUE) now: open or closed and why, the next opening, its hours
    and where they come from (the file or ops)."""
    defaults = file_defaults()
    with control_store() as conn:
        live = _live(conn, defaults)
    now = _now()
    try:
        names = [check_queue(live, queue)] if queue else sorted(live.schedule.queues)
    except OutageInvalid as exc:
        raise _bad(exc) from exc
    items = [queue_view(live, name, now) for name in names]
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for item in items:
        click.echo("\n".join(_lines(item)))


def _bool(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


@hours_group.command("set")
@click.argument("queue")
@click.option(
    "--day",
    "days",
    multiple=True,
    help="DAY=HH:MM-HH:MM[,HH:MM-HH:MM] (DAY senin..minggu); DAY=tutup closes that day.",
)
@click.option("--zone", type=ZONES, help="Zone the hours are written in.")
@click.option("--always-open", type=click.Choice(["yes", "no"]), help="24 hours, 7 days.")
@click.option("--closed-on-holidays", type=click.Choice(["yes", "no"]), help="Closed on holidays.")
@click.option("--holiday-kinds", help="libur_nasional and/or cuti_bersama, comma-separated.")
@click.option("--callback", type=click.Choice(["yes", "no"]), help="Offer a call-back.")
@click.option("--alternative", help="A queue to offer out of hours ('none': no queue).")
@click.option("--by", help=BY_HELP)
def hours_set(
    queue: str,
    days: tuple[str, ...],
    zone: str | None,
    always_open: str | None,
    closed_on_holidays: str | None,
    holiday_kinds: str | None,
    callback: str | None,
    alternative: str | None,
    by: str | None,
) -> None:
    """Change QUEUE's hours; what is not given stays as it is now."""
    actor = actor_name(by)
    defaults = file_defaults()
    with control_store() as conn:
        now = _now()
        live = _live(conn, defaults)
        try:
            changed = dict(parse_day(text) for text in days)
            schedule = new_schedule(
                live,
                queue,
                zone=zone,
                days=changed,
                always_open=_bool(always_open),
                closed_on_holidays=_bool(closed_on_holidays),
                holiday_kinds=(
                    None
                    if holiday_kinds is None
                    else [k.strip() for k in holiday_kinds.split(",") if k.strip()]
                ),
                callback=_bool(callback),
                alternative_queue=None if alternative in (None, "none") else alternative,
                clear_alternative=alternative == "none",
            )
        except OutageInvalid as exc:
            raise _bad(exc) from exc
        set_schedule(conn, queue.strip(), schedule, defaults=defaults, actor=actor, now=now)
        item = queue_view(_live(conn, defaults), queue.strip(), now)
    click.echo("\n".join(_lines(item)))


def _temporary(
    state: ClosureState, queue: str, until: str, zone: str, reason: str, by: str | None
) -> None:
    actor = actor_name(by)
    defaults = file_defaults()
    with control_store() as conn:
        now = _now()
        live = _live(conn, defaults)
        try:
            name, end, text = check_closure(
                live, queue, state=state, until=until, zone=zone, reason=reason, now=now
            )
        except OutageInvalid as exc:
            raise _bad(exc) from exc
        try:
            set_closure(
                conn,
                name,
                state=state,
                until=end,
                reason=text,
                defaults=defaults,
                actor=actor,
                now=now,
            )
        except ControlError as exc:
            raise click.UsageError(str(exc)) from exc
        item = queue_view(_live(conn, defaults), name, now)
    click.echo(f"{name}: {item['status']}")


UNTIL_HELP = "ISO 8601 with an offset, YYYY-MM-DD HH:MM, or HH:MM (the next such time), in --tz."


@hours_group.command("close")
@click.argument("queue")
@click.option("--until", required=True, help=UNTIL_HELP)
@click.option("--tz", "zone", type=ZONES, default="WIB", show_default=True)
@click.option("--reason", default="", help="Why (for ops; e.g. 'rapat').")
@click.option("--by", help=BY_HELP)
def hours_close(queue: str, until: str, zone: str, reason: str, by: str | None) -> None:
    """Close QUEUE from now until --until, whatever its hours say."""
    _temporary(CLOSED, queue, until, zone, reason, by)


@hours_group.command("open")
@click.argument("queue")
@click.option("--until", required=True, help=UNTIL_HELP)
@click.option("--tz", "zone", type=ZONES, default="WIB", show_default=True)
@click.option("--reason", default="", help="Why (for ops; e.g. 'banjir, layanan diperpanjang').")
@click.option("--by", help=BY_HELP)
def hours_open(queue: str, until: str, zone: str, reason: str, by: str | None) -> None:
    """Open QUEUE from now until --until, whatever its hours say."""
    _temporary(OPENED, queue, until, zone, reason, by)


@hours_group.command("reset")
@click.argument("queue")
@click.option("--by", help=BY_HELP)
def hours_reset(queue: str, by: str | None) -> None:
    """Back to jam_layanan.yaml: drop QUEUE's changed hours and its close or open."""
    actor = actor_name(by)
    defaults = file_defaults()
    with control_store() as conn:
        now = _now()
        try:
            name = check_queue(_live(conn, defaults), queue)
        except OutageInvalid as exc:
            raise _bad(exc) from exc
        try:
            reset_queue(conn, name, defaults=defaults, actor=actor, now=now)
        except ControlError as exc:
            raise click.UsageError(str(exc)) from exc
        item = queue_view(_live(conn, defaults), name, now)
    click.echo(f"{name}: back to jam_layanan.yaml; {item['status']}")


# --- holidays ---------------------------------------------------------------------------


@click.group("holiday")
def holiday_group() -> None:
    """Holidays (hari libur, cuti bersama), changed live over hari_libur.yaml."""


@holiday_group.command("list")
@click.option("--year", type=int, help="Only this year.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def holiday_list(year: int | None, as_json: bool) -> None:
    """The holidays in force, marking those ops added; then the file's dates ops removed."""
    defaults = file_defaults()
    with control_store() as conn:
        live = _live(conn, defaults)
    shown = [h for h in live.calendar.holidays if year is None or h.date.year == year]
    removed = [
        change
        for change in live.overrides.holidays.values()
        if change.action == "remove" and (year is None or change.date.year == year)
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "holidays": [
                        {**h.model_dump(mode="json"), "source": live.holiday_source(h.date)}
                        for h in shown
                    ],
                    "removed": [
                        {"date": c.date.isoformat(), "name": c.name, "by": c.set_by}
                        for c in sorted(removed, key=lambda c: c.date)
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    for h in shown:
        mark = "  (ops)" if live.holiday_source(h.date) == "ops" else ""
        click.echo(f"{h.date.isoformat()}  {h.kind:<14}  {h.name}{mark}")
    for change in sorted(removed, key=lambda c: c.date):
        click.echo(f"{change.date.isoformat()}  removed by {change.set_by}  (was {change.name})")
    if not shown and not removed:
        click.echo("no holidays")


@holiday_group.command("add")
@click.argument("date")
@click.option("--name", required=True, help="As the SKB writes it.")
@click.option("--kind", required=True, type=click.Choice(list(holidays.HOLIDAY_KINDS)))
@click.option("--by", help=BY_HELP)
def holiday_add(date: str, name: str, kind: str, by: str | None) -> None:
    """Make DATE (YYYY-MM-DD) a holiday."""
    actor = actor_name(by)
    defaults = file_defaults()
    with control_store() as conn:
        now = _now()
        try:
            holiday = check_new_holiday(
                _live(conn, defaults), date=date, name=name, kind=kind, now=now
            )
        except OutageInvalid as exc:
            raise _bad(exc) from exc
        try:
            add_holiday(conn, holiday, defaults=defaults, actor=actor, now=now)
        except ControlError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(f"{holiday.date.isoformat()}  {holiday.kind}  {holiday.name}: added")


@holiday_group.command("remove")
@click.argument("date")
@click.option("--by", help=BY_HELP)
def holiday_remove(date: str, by: str | None) -> None:
    """Make DATE (YYYY-MM-DD) a working day again."""
    actor = actor_name(by)
    defaults = file_defaults()
    with control_store() as conn:
        now = _now()
        try:
            holiday = check_removal(_live(conn, defaults), date)
        except OutageInvalid as exc:
            raise _bad(exc) from exc
        try:
            remove_holiday(conn, holiday.date, defaults=defaults, actor=actor, now=now)
        except ControlError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(f"{holiday.date.isoformat()}  {holiday.name}: removed")
