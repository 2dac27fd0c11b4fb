"""``pln123 privacy export|erase``: one person's data in the call store, on their
request under UU 27/2022 (see :mod:`ivr.privacy.person` for what is found and what an
erase leaves). A person is named by ``--phone`` (any form: ``0812-3456-7890``,
``+62 812 3456 7890``, ``62812...``) or ``--idpel``. Bad input is one line on stderr
and exit status 2, with nothing read or changed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ivr.cli.outage import BY_HELP, actor_name, control_store
from ivr.privacy.person import (
    MASTER_DATA_NOTE,
    Person,
    SelectorError,
    erase_person,
    export_person,
    has_personal_data,
)

#: The clock (tests set it).
_now = time.time


def _person(phone: str | None, idpel: str | None) -> Person:
    try:
        return Person.of(phone, idpel)
    except SelectorError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group()
def privacy() -> None:
    """One person's personal data: export it, or erase it (UU 27/2022)."""


@privacy.command("export")
@click.option("--phone", help="The person's phone number, in any form.")
@click.option("--idpel", help="The customer's IDPEL.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the JSON to this file (else print it).",
)
def privacy_export(phone: str | None, idpel: str | None, output: Path | None) -> None:
    """Everything stored about one person, as JSON: their calls with answers, pops,
    call-backs, reports and tickets, mentions in other calls, and master data."""
    person = _person(phone, idpel)
    with control_store() as conn:
        data = export_person(conn, person, _now())
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    output.chmod(0o600)
    click.echo(
        f"wrote {output}: {len(data['calls'])} calls, "
        f"{sum(len(rows) for rows in data['mentions'].values())} mentions in other calls",
        err=True,
    )


@privacy.command("erase")
@click.option("--phone", help="The person's phone number, in any form.")
@click.option("--idpel", help="The customer's IDPEL.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--by", help=BY_HELP)
def privacy_erase(phone: str | None, idpel: str | None, yes: bool, by: str | None) -> None:
    """Erase one person's calls and their mentions in other calls (master data stays);
    logged to the audit log."""
    person = _person(phone, idpel)
    actor = actor_name(by)
    with control_store() as conn:
        found = export_person(conn, person, _now())
        if not has_personal_data(found):
            click.echo(f"nothing stored about {person.subject} in call records")
            return
        mentions = sum(len(rows) for rows in found["mentions"].values())
        if not yes:
            click.confirm(
                f"erase {len(found['calls'])} calls and {mentions} mentions of "
                f"{person.subject}? This cannot be undone",
                abort=True,
                err=True,
            )
        counts = erase_person(conn, person, actor=actor, now=_now())
    erased = ", ".join(f"{table} {count}" for table, count in counts.items() if count)
    click.echo(f"erased {person.subject}: {erased or 'nothing'}")
    click.echo(f"kept: {MASTER_DATA_NOTE}")
