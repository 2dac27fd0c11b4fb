"""The global announcement (*pengumuman*): one text every caller hears after the greeting
and before the main menu, until its end time or until ops end it by hand (a disaster
notice: "Sehubungan dengan banjir di wilayah Jakarta Timur, ...").

Pure rules, no I/O. A new one passes the same message and time checks as a new outage
(:func:`ivr.domain.outages.check_message`, :func:`~ivr.domain.outages.parse_until`), so
ops meet one set of rules and error texts on the command line and the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.domain.outages import (
    ACTIVE,
    check_message,
    parse_until,
    window_status,
)


@dataclass(frozen=True)
class Announcement:
    """One announcement. Times are epoch seconds; ``ended_at`` is set when it was ended
    by hand (or replaced by a newer one) before ``until``."""

    id: int
    message: str
    starts_at: float
    until: float
    created_by: str
    ended_at: float | None = None
    ended_by: str = ""

    def status(self, now: float) -> str:
        """``ended``, ``expired``, ``scheduled`` or ``active`` at ``now``."""
        return window_status(self.starts_at, self.until, self.ended_at, now)

    def is_active(self, now: float) -> bool:
        """Whether callers hear it at ``now``."""
        return window_status(self.starts_at, self.until, self.ended_at, now) == ACTIVE

    def as_json(self) -> dict[str, Any]:
        """The record as the audit log and ``--json`` show it."""
        return {
            "id": self.id,
            "message": self.message,
            "starts_at": self.starts_at,
            "until": self.until,
            "created_by": self.created_by,
            "ended_at": self.ended_at,
            "ended_by": self.ended_by,
        }


@dataclass(frozen=True)
class NewAnnouncement:
    """A new announcement that passed every check: the message stripped, the end time
    in epoch seconds after now."""

    message: str
    until: float


def check_new_announcement(*, message: str, until: str, zone: str, now: float) -> NewAnnouncement:
    """The checks of a new announcement, message first; the first that fails raises
    :class:`~ivr.domain.outages.OutageInvalid` naming the option to fix (``--message``,
    ``--until`` or ``--tz``)."""
    return NewAnnouncement(message=check_message(message), until=parse_until(until, zone, now))


__all__ = ["Announcement", "NewAnnouncement", "check_new_announcement"]
