"""``pln123 audit``: the control changes ops made (outages, announcements, opening hours
and holidays), newest first, as a list or JSON. Times are WIB."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from ivr.cli.outage import control_store
from ivr.cli.stats import When
from ivr.domain.outages import format_time
from ivr.store.control import AuditEntry, audit_changes, read_audit, readable


@click.command()
@click.option("--since", type=When(), help="Only changes from then on (like `stats --since`).")
@click.option(
    "--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit(since: datetime | None, limit: int, as_json: bool) -> None:
    """Who changed what, when: every control change with the record before and after."""
    with control_store() as conn:
        entries = read_audit(conn, None if since is None else since.timestamp(), limit)
    if as_json:
        click.echo(json.dumps([e.as_json() for e in entries], indent=2, ensure_ascii=False))
    elif not entries:
        click.echo("no changes")
    else:
        click.echo("\n".join(render_entry(entry) for entry in entries))


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        value = {key: readable(key, item) for key, item in value.items()}
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def render_entry(entry: AuditEntry) -> str:
    """One line: when, who, what, on what, and what changed (the fields that differ
    when there is a before and an after, else the whole record)."""
    head = f"{format_time(entry.at)}  {entry.actor}  {entry.action}  {entry.subject}"
    before, after = entry.before, entry.after
    if isinstance(before, dict) and isinstance(after, dict):
        changed = [
            f"{key}: {_compact(old)} -> {_compact(new)}"
            for key, old, new in audit_changes(before, after)
        ]
        return f"{head}  {'; '.join(changed) or 'no change'}"
    if after is not None:
        return f"{head}  {_compact(after)}"
    return f"{head}  was {_compact(before)}"
