"""``pln123 announcement set|show|end``: the global announcement every caller hears after
the greeting and before the main menu.

Writes the call store the serving IVR reads (``db_path``); workers see a change within
seconds (:class:`ivr.store.announcements.AnnouncementBoard`). Every bad input is one line
on stderr and exit status 2, with nothing stored; the time and message rules are those
of ``pln123 outage add``. Times shown are WIB.
"""

from __future__ import annotations

import json
import time

import click

from ivr.cli.outage import BY_HELP, actor_name, control_store
from ivr.domain.announcements import Announcement, check_new_announcement
from ivr.domain.outages import OutageInvalid, format_time
from ivr.store.announcements import active_announcement, end_announcement, set_announcement
from ivr.store.control import ControlError

#: The clock (tests set it).
_now = time.time


def summary(announcement: Announcement) -> str:
    """One line: until when, by whom, and the text."""
    return (
        f"announcement {announcement.id} until {format_time(announcement.until)}"
        f" (by {announcement.created_by}): {announcement.message}"
    )


@click.group()
def announcement() -> None:
    """The global announcement every caller hears before the main menu."""


@announcement.command("set")
@click.option("--message", required=True, help="What callers hear (up to 500 characters).")
@click.option(
    "--until",
    required=True,
    help="When callers stop hearing it: ISO 8601 with an offset, YYYY-MM-DD HH:MM, or"
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
@click.option("--by", help=BY_HELP)
def announcement_set(message: str, until: str, zone: str, by: str | None) -> None:
    """Announce --message to every caller from now until --until; replaces the one in
    force, if any."""
    actor = actor_name(by)
    with control_store() as conn:
        now = _now()
        try:
            checked = check_new_announcement(message=message, until=until, zone=zone, now=now)
        except OutageInvalid as exc:
            raise click.BadParameter(str(exc), param_hint=exc.option) from exc
        replaced = active_announcement(conn, now)
        added = set_announcement(
            conn, message=checked.message, until=checked.until, actor=actor, now=now
        )
    if replaced is not None:
        click.echo(f"announcement {replaced.id} ended: replaced")
    click.echo(summary(added))


@announcement.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (null when none).")
def announcement_show(as_json: bool) -> None:
    """The announcement callers hear now."""
    now = _now()
    with control_store() as conn:
        current = active_announcement(conn, now)
    if as_json:
        record = None
        if current is not None:
            record = {**current.as_json(), "until_wib": format_time(current.until)}
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    elif current is None:
        click.echo("no announcement")
    else:
        click.echo(summary(current))


@announcement.command("end")
@click.option("--by", help=BY_HELP)
def announcement_end(by: str | None) -> None:
    """End the announcement now: callers go straight to the menu again."""
    actor = actor_name(by)
    with control_store() as conn:
        now = _now()
        try:
            ended = end_announcement(conn, actor, now)
        except ControlError as exc:
            raise click.UsageError(str(exc)) from exc
    assert ended.ended_at is not None
    click.echo(f"announcement {ended.id} ended at {format_time(ended.ended_at)}")
