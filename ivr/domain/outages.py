"""Outage announcements (*gangguan meluas*): the record, whom it covers, and the checks
a new one must pass. Pure rules, no I/O: the store (:mod:`ivr.store.control`) keeps the
records and the command line reads what these checks need (the known unit names).

When a wide outage is reported to the master APKT report, every caller of the units it
hits asks the same question; the IVR tells them what is known and when power is
expected back instead of queueing them all to a CSO. An outage covers a customer
through their ``unit`` (UP3) or ``posko`` (ULP) in the customer data, and a fixed-line
caller without a customer number through the area code of their caller ID. Names are
compared case- and space-insensitively: ``"up3  bulungan"`` is ``"UP3 Bulungan"``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.domain.callerid import PSTN, parse_caller_id
from ivr.domain.timezones import WIB, WIT, WITA, ZONE_NAMES
from ivr.language.number_words import clock_words, to_words

#: What a caller did after hearing an outage announcement (one of each per call). The
#: flow records ``heard`` (as the announcement starts) and ``attached``; ``cso`` and
#: ``hung_up`` follow from how the call ended (:func:`call_events`), so every call that
#: heard one and ended is in exactly one of attached, cso and hung_up.
HEARD = "heard"
ATTACHED = "attached"  # the call was attached to the master report
CSO = "cso"  # the caller still reached a CSO (pressed 0, or the menu's attempts ran out)
HUNG_UP = "hung_up"
EVENTS = (HEARD, ATTACHED, CSO, HUNG_UP)

#: A call's ops result (:class:`ivr.engine.journey.CallResult`) as the store keeps it.
RESULT_CSO = "cso"
RESULT_ABANDONED = "abandoned"

ACTIVE = "active"
SCHEDULED = "scheduled"  # starts later (the command line always starts one now)
ENDED = "ended"  # ended by hand before its time
EXPIRED = "expired"  # its restoration time has passed


def window_status(starts_at: float, until: float, ended_at: float | None, now: float) -> str:
    """Where something ops switch on for a time (an outage, the announcement) stands at
    ``now``: ``ended`` (by hand), ``expired``, ``scheduled`` or ``active``."""
    if ended_at is not None:
        return ENDED
    if until <= now:
        return EXPIRED
    if starts_at > now:
        return SCHEDULED
    return ACTIVE


MAX_MESSAGE = 500
MAX_SUGGESTIONS = 10
ZONE_ABBREVIATIONS = {name: zone for zone, name in ZONE_NAMES.items()}

_AREA_CODE = re.compile(r"0[0-9]{1,3}")
_REPORT_NUMBER = re.compile(r"[A-Za-z0-9]{1,30}")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DAY_AND_CLOCK = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{1,2}:[0-9]{2}")


class OutageInvalid(ValueError):
    """A new outage fails a check; ``option`` names the command-line option to fix."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def normalise_name(name: str) -> str:
    """A unit or posko name as compared: lower case, runs of spaces as one."""
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class Outage:
    """One outage announcement. Times are epoch seconds; ``ended_at`` is set when ops
    ended it by hand before ``until``."""

    id: int
    units: tuple[str, ...]
    area_codes: tuple[str, ...]
    message: str
    report_number: str
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

    def covers(self, unit: str, posko: str) -> bool:
        """Whether it covers a customer of ``unit`` (UP3) or ``posko`` (ULP)."""
        names = {normalise_name(name) for name in self.units}
        return any(normalise_name(name) in names for name in (unit, posko) if name.strip())

    def covers_area_code(self, code: str) -> bool:
        """Whether it covers fixed lines of ``code`` (``021``; the ``0`` may be left out)."""
        wanted = normalise_area_code(code)
        return bool(wanted) and wanted in self.area_codes

    def as_json(self) -> dict[str, Any]:
        """The record as the audit log and ``--json`` show it."""
        return {
            "id": self.id,
            "units": list(self.units),
            "area_codes": list(self.area_codes),
            "message": self.message,
            "report_number": self.report_number,
            "starts_at": self.starts_at,
            "until": self.until,
            "created_by": self.created_by,
            "ended_at": self.ended_at,
            "ended_by": self.ended_by,
        }


def normalise_area_code(code: str) -> str:
    """``021``, ``21`` or ``(021)`` as ``021``; "" when it is no area code's shape."""
    digits = re.sub(r"\D", "", code or "")
    if digits and not digits.startswith("0"):
        digits = "0" + digits
    return digits if _AREA_CODE.fullmatch(digits) else ""


def caller_area_code(caller: str) -> str:
    """The area code of a fixed-line caller ID (``021``, ``0361``); "" for a mobile,
    withheld or foreign number, which says nothing about where the caller is."""
    parsed = parse_caller_id(caller)
    return parsed.area_code if parsed.kind == PSTN else ""


# -- times ------------------------------------------------------------------------------


def zone_id(name: str) -> str:
    """``WIB``, ``WITA`` or ``WIT`` (any case), or an IANA zone of the three, as the
    IANA zone; :class:`OutageInvalid` for anything else."""
    text = name.strip()
    zone = ZONE_ABBREVIATIONS.get(text.upper()) or (text if text in ZONE_NAMES else None)
    if zone is None:
        raise OutageInvalid("--tz", f"unknown time zone {name!r}: use WIB, WITA or WIT")
    return zone


def local_time(at: float, zone: str = WIB) -> datetime:
    """``at`` (epoch seconds) as a local time of ``zone`` (``WIB`` or ``Asia/Jakarta``)."""
    return datetime.fromtimestamp(at, ZoneInfo(zone_id(zone)))


def format_time(at: float, zone: str = WIB, *, date: bool = True) -> str:
    """``at`` in ``zone``, exact to the second shown: ``2025-03-01 16:00 WITA``, or
    ``16:00 WITA`` without the date; seconds appear only when they are not zero
    (``15:30:20 WIB``)."""
    moment = local_time(at, zone)
    clock = "%H:%M:%S" if moment.second or moment.microsecond else "%H:%M"
    text = moment.strftime(f"%Y-%m-%d {clock}" if date else clock)
    return f"{text} {ZONE_NAMES[zone_id(zone)]}"


def restoration_time(outage: Outage, zone: str = WIB) -> str:
    """When power is expected back, in the caller's zone: ``16:00 WITA``."""
    return format_time(outage.until, zone, date=False)


#: The zones as said to callers.
ZONE_WORDS = {
    WIB: "Waktu Indonesia Barat",
    WITA: "Waktu Indonesia Tengah",
    WIT: "Waktu Indonesia Timur",
}
_MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def spoken_restoration(outage: Outage, zone: str, now: float) -> str:
    """When power is expected back, in words for run-time speech in the caller's zone:
    "pukul enam belas Waktu Indonesia Tengah", "besok pukul dua Waktu Indonesia Barat"
    past midnight, "tanggal tiga Maret pukul ..." further out."""
    iana = zone_id(zone)
    until, today = local_time(outage.until, iana), local_time(now, iana).date()
    words = f"{clock_words(until.hour, until.minute)} {ZONE_WORDS[iana]}"
    days = (until.date() - today).days
    if days <= 0:
        return words
    if days == 1:
        return f"besok {words}"
    return f"tanggal {to_words(until.day)} {_MONTHS[until.month - 1]} {words}"


def call_events(recorded: Iterable[str], result: str | None) -> tuple[str, ...]:
    """What one call did after an outage announcement, as ops count it, in
    :data:`EVENTS` order: the events the flow recorded, and for a call that heard it
    and did not attach, ``cso`` when it ended queued to a CSO, ``hung_up`` when the
    caller hung up before any outcome (``result`` is the call's ops result; None while
    the call is open). A call is in at most one of attached, cso and hung_up."""
    events = {event for event in recorded if event in EVENTS}
    if HEARD in events and not events & {ATTACHED, CSO, HUNG_UP}:
        if result == RESULT_CSO:
            events.add(CSO)
        elif result == RESULT_ABANDONED:
            events.add(HUNG_UP)
    return tuple(event for event in EVENTS if event in events)


_UNTIL_FORMATS = "ISO 8601 with an offset, YYYY-MM-DD HH:MM or HH:MM"


def parse_until(text: str, zone: str, now: float) -> float:
    """The restoration time ``--until`` names, as epoch seconds after ``now``.

    ISO 8601 with an offset (``2025-03-01T15:00+07:00``) is taken as it is;
    ``YYYY-MM-DD HH:MM`` and ``HH:MM`` are read in ``zone``; ``HH:MM`` alone means the
    next such time (tomorrow when it has passed today).
    """
    tz = ZoneInfo(zone_id(zone))
    value = text.strip()
    clock = _CLOCK.fullmatch(value)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise OutageInvalid("--until", f"{text!r} is not a time of day (HH:MM, 00:00-23:59)")
        today = datetime.fromtimestamp(now, tz)
        moment = today.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment.timestamp() <= now:
            moment = (today + timedelta(days=1)).replace(
                hour=hour, minute=minute, second=0, microsecond=0
            )
        return moment.timestamp()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise OutageInvalid("--until", f"{text!r} is not a time: use {_UNTIL_FORMATS}") from None
    if moment.tzinfo is None:
        if not _DAY_AND_CLOCK.match(value):
            raise OutageInvalid("--until", f"{text!r} has no time of day: use {_UNTIL_FORMATS}")
        moment = moment.replace(tzinfo=tz)
    at = moment.timestamp()
    if at <= now:
        raise OutageInvalid(
            "--until",
            f"{format_time(at, zone)} is not in the future (now {format_time(now, zone)})",
        )
    return at


# -- checks of a new outage -------------------------------------------------------------


@dataclass(frozen=True)
class NewOutage:
    """A new outage that passed every check: units spelled as the customer data spells
    them, area codes with their ``0``, the message stripped."""

    units: tuple[str, ...]
    area_codes: tuple[str, ...]
    message: str
    report_number: str
    until: float


def check_units(units: Sequence[str], known: Iterable[str]) -> tuple[str, ...]:
    """``units`` as the customer data spells them (each once), or :class:`OutageInvalid`
    naming the first unknown one and up to ten known names that look closest."""
    spelled = {normalise_name(name): name for name in known if name.strip()}
    if not units:
        raise OutageInvalid("--unit", "name at least one unit (UP3) or posko (ULP)")
    if not spelled:
        raise OutageInvalid(
            "--unit",
            "the customer records name no unit or posko yet: load the customer data"
            " first (`pln123 demo seed` for the demo)",
        )
    found: list[str] = []
    for unit in units:
        name = spelled.get(normalise_name(unit))
        if name is None:
            closest = difflib.get_close_matches(
                normalise_name(unit), list(spelled), n=MAX_SUGGESTIONS, cutoff=0.0
            )
            raise OutageInvalid(
                "--unit",
                f"no unit or posko named {unit!r} in the customer records; closest known: "
                + ", ".join(spelled[key] for key in closest),
            )
        if name not in found:
            found.append(name)
    return tuple(found)


def check_area_codes(codes: Sequence[str]) -> tuple[str, ...]:
    """Each code as ``0`` and one to three digits (``021``, ``0361``), each once."""
    found: list[str] = []
    for code in codes:
        if not _AREA_CODE.fullmatch(code.strip()):
            raise OutageInvalid(
                "--area-code", f"{code!r} is not an area code: 0 and 1 to 3 digits, like 021"
            )
        if code.strip() not in found:
            found.append(code.strip())
    return tuple(found)


def check_message(message: str) -> str:
    """The message stripped: not empty, at most :data:`MAX_MESSAGE` characters."""
    text = message.strip()
    if not text:
        raise OutageInvalid("--message", "the message is empty: say what callers should hear")
    if len(text) > MAX_MESSAGE:
        raise OutageInvalid(
            "--message", f"the message has {len(text)} characters; shorten it to {MAX_MESSAGE}"
        )
    return text


def check_report_number(number: str) -> str:
    """The master APKT report number, upper case, or "" when none is given."""
    text = number.strip()
    if text and not _REPORT_NUMBER.fullmatch(text):
        raise OutageInvalid(
            "--report", f"{number!r} is not a report number: letters and digits, up to 30"
        )
    return text.upper()


def check_new_outage(
    *,
    units: Sequence[str],
    area_codes: Sequence[str],
    message: str,
    until: str,
    zone: str,
    report_number: str,
    known_units: Iterable[str],
    now: float,
) -> NewOutage:
    """Every check of a new outage, in the order of the command's options; the first
    that fails raises :class:`OutageInvalid`."""
    return NewOutage(
        units=check_units(units, known_units),
        area_codes=check_area_codes(area_codes),
        message=check_message(message),
        report_number=check_report_number(report_number),
        until=parse_until(until, zone, now),
    )


__all__ = [
    "ACTIVE",
    "ATTACHED",
    "CSO",
    "ENDED",
    "EVENTS",
    "EXPIRED",
    "HEARD",
    "HUNG_UP",
    "SCHEDULED",
    "WIB",
    "WIT",
    "WITA",
    "ZONE_WORDS",
    "NewOutage",
    "Outage",
    "OutageInvalid",
    "call_events",
    "caller_area_code",
    "check_area_codes",
    "check_message",
    "check_new_outage",
    "check_report_number",
    "check_units",
    "format_time",
    "local_time",
    "normalise_area_code",
    "normalise_name",
    "parse_until",
    "restoration_time",
    "spoken_restoration",
    "zone_id",
]
