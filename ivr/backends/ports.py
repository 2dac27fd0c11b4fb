"""What the IVR needs from PLN's systems, as Protocols.

The engine's actions speak only to these ports; the embedded SQLite implementation
(:mod:`ivr.backends.embedded`) is the default, and a site plugs in its real CRM,
customer database and APKT behind the same methods. Every method is async and may
raise :class:`BackendError`; the action layer puts a time limit on each call and
sends the caller to a CSO when a backend fails or is slow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ivr.domain.announcements import Announcement
from ivr.domain.hours_overrides import HoursOverrides
from ivr.domain.outages import Outage


class BackendError(Exception):
    """A backend could not answer."""


class BackendTimeout(BackendError):
    """A backend did not answer within its time limit."""


@dataclass(frozen=True)
class CallerInfo:
    """What the CRM knows of a phone number."""

    phone: str
    name: str
    #: "Bapak" or "Ibu" (how the CSO greets), "" when unknown.
    salutation: str
    past_contacts: int


@dataclass(frozen=True)
class Customer:
    """A PLN customer, found by IDPEL (12 digits) or meter number (11 digits)."""

    idpel: str
    meter_number: str
    name: str
    street: str
    area: str
    unit: str
    posko: str
    tariff: str
    power_va: int
    #: PLN distribution region (UID), e.g. "UID Jakarta Raya".
    region: str
    #: Time zone of the customer's address: Asia/Jakarta, Asia/Makassar, Asia/Jayapura.
    timezone: str


@dataclass(frozen=True)
class ReportRequest:
    """An APKT gangguan report, with the form fields of the SOP."""

    reporter_name: str
    caller_number: str
    address: str
    wo_type: str
    problem_text: str
    idpel: str = ""
    mobile_number: str = ""
    #: "YYYY-MM-DD HH:MM" local time the power went out ("" when it did not).
    padam_at: str = ""
    location: str = ""
    unit: str = ""
    posko: str = ""
    #: The caller wants a call before the visit, at this local time
    #: ("YYYY-MM-DD HH:MM", the next such time), or "".
    confirmation_at: str = ""
    #: "Pelanggan dapat dihubungi via Telepon, WA & SMS" and the like.
    contact_note: str = ""
    #: Self-diagnosis values by code ("08" ... "47"); "Null" when the meter showed none.
    self_diagnosis: dict[str, str] = field(default_factory=dict)
    #: Id of the IVR call that made the report.
    call_id: str = ""


@dataclass(frozen=True)
class Report:
    """A report as APKT holds it."""

    number: str
    status: str
    wo_type: str
    problem_text: str
    idpel: str
    caller_number: str
    created_at: str
    #: The 20-digit CTT token APKT gave for the customer to key in ("" if none).
    ctt_token: str = ""
    #: The latest step of the report's detail history ("Dalam Perjalanan"), or "".
    detail_status: str = ""


@dataclass(frozen=True)
class ClosedIssue:
    """A call PLN 123 handled itself, recorded in APKT as "Issue Closed" (information
    given, a request the caller must first prepare for, a PLN Mobile question)."""

    #: APKT's issue type and sub issue type ("Lain-lain", "Lain-lain").
    issue_type: str
    sub_issue_type: str
    #: The "Keterangan" field: "New PLN Mobile - Lupa password".
    description: str
    caller_number: str
    idpel: str = ""
    #: Id of the IVR call.
    call_id: str = ""


class CrmPort(Protocol):
    """The contact centre's CRM."""

    async def caller(self, phone: str) -> CallerInfo | None:
        """What the CRM knows of a caller's number (national form, ``0812...``)."""


class CustomerPort(Protocol):
    """Customer master data."""

    async def find(self, idpel_or_meter: str) -> Customer | None:
        """The customer with this IDPEL (12 digits) or meter number (11 digits)."""


class ApktPort(Protocol):
    """APKT, PLN's complaint and outage system."""

    async def create_report(self, request: ReportRequest) -> Report:
        """File a gangguan report; its number is ``G`` and 13 digits."""

    async def open_reports(
        self, *, idpel: str = "", number: str = "", phone: str = ""
    ) -> list[Report]:
        """Reports not yet finished, by IDPEL, report number or the caller's phone."""

    async def report(self, number: str) -> Report | None:
        """The report with this number, finished or not. A keluhan (``K...``) that was
        moved to gangguan gives the gangguan report it became (``G99...``)."""

    async def close_issue(self, issue: ClosedIssue) -> str:
        """Record a call handled at PLN 123 as an APKT "Issue Closed"; returns its id."""


class CallbackPort(Protocol):
    """Call-back tasks for CSOs: callers who gave up waiting in a queue."""

    async def request(self, call_id: str, pop_id: str, number: str, queue: str) -> None:
        """Store a call-back to ``number`` (national form) for ``queue``'s CSOs."""


@dataclass(frozen=True)
class PowerChangeCheck:
    """What AP2T shows when a power change to a target is entered (SOP tambah daya 7)."""

    #: AP2T's notice that this product cannot be served at PLN 123 ("" when it can).
    refusal: str = ""
    #: What the change needs on PLN's side, which sets the SLA: ``sr`` (service line up
    #: to 30 m), ``jtr`` (low-voltage network) or ``jtm`` (medium voltage, transformer).
    network_work: str = "sr"


@dataclass(frozen=True)
class PowerChangeRequest:
    """A power change the caller agreed to, as the AP2T form holds it."""

    idpel: str
    current_tariff: str
    current_power_va: int
    target_tariff: str
    target_power_va: int
    #: Rupiah of the first token for a prepaid meter (0 for postpaid).
    stroom_awal: int
    #: Cost parts in rupiah by name (biaya_penyambungan, meterai, stroom_awal, ppj, ppn).
    costs: dict[str, int]
    #: The caller owns the building (else acts for the owner with a power of attorney).
    is_owner: bool
    owner_nik: str
    applicant_nik: str
    applicant_name: str
    #: The mobile number to confirm the connection with.
    mobile_number: str
    caller_number: str
    call_id: str = ""


@dataclass(frozen=True)
class PowerChangeRegistration:
    """A saved power-change request: the number the caller pays with."""

    number: str
    #: Last day (local ``YYYY-MM-DD``) the number can be paid with.
    valid_until: str


class Ap2tPort(Protocol):
    """AP2T, PLN's customer service application (new connections, power changes)."""

    async def arrears(self, idpel: str) -> int:
        """Rupiah the customer still owes (bills, instalments); 0 when nothing."""

    async def check_power_change(self, idpel: str, target_power_va: int) -> PowerChangeCheck:
        """What AP2T says of changing this customer's power to ``target_power_va``."""

    async def register_power_change(self, request: PowerChangeRequest) -> PowerChangeRegistration:
        """Save the request (the form's "Simpan"); returns its registration number."""


@dataclass(frozen=True)
class TicketRequest:
    """A problem for the service desk, as the ITSM "New Ticket" form holds it (one
    ticket per problem)."""

    summary: str
    description: str
    #: The caller's number (national form).
    caller_number: str
    #: Id of the IVR call that made the ticket.
    call_id: str = ""
    #: Number of an earlier, finished ticket this one reports again ("" for none).
    cites_ticket: str = ""
    call_type: str = "Incident"
    service_family: str = ""
    service_group: str = ""
    service_type: str = ""


@dataclass(frozen=True)
class ItsmTicket:
    """A ticket as ITSM holds it."""

    #: The Incident ID: digits (``733905``).
    number: str
    #: Logged, Active, Waiting for Customer, ... Resolved, Closed.
    status: str
    summary: str
    description: str
    caller_number: str
    created_at: str
    cites_ticket: str = ""
    #: The "NEW NOTES" added to it, oldest first.
    notes: tuple[str, ...] = ()


class ItsmPort(Protocol):
    """ITSM, the service desk's ticket system (problems PLN 123 cannot solve itself)."""

    async def create_ticket(self, request: TicketRequest) -> ItsmTicket:
        """Save a new ticket (status Logged); returns it with its number."""

    async def ticket(self, number: str) -> ItsmTicket | None:
        """The ticket with this number, finished or not; None when there is none."""

    async def add_note(self, number: str, note: str, call_id: str = "") -> bool:
        """Add a "NEW NOTES" entry to a ticket; False when there is no such ticket."""


class OutagePort(Protocol):
    """Outage announcements (*gangguan meluas*) in force, and what callers did after
    hearing one. Ops declare outages (``pln123 outage add``); every worker sees a new
    one within seconds."""

    async def covering(self, unit: str, posko: str) -> Outage | None:
        """The newest outage in force now that covers a customer of ``unit`` (UP3) or
        ``posko`` (ULP); None when none does."""

    async def covering_area_code(self, code: str) -> Outage | None:
        """The newest outage in force now that covers fixed lines of area ``code``
        (``021``); None when none does."""

    async def record(self, outage_id: int, call_id: str, event: str) -> None:
        """Note that call ``call_id`` did ``event`` (``heard``, ``attached``, ``cso``,
        ``hung_up``) about outage ``outage_id``; each event counts once per call."""


class AnnouncementPort(Protocol):
    """The global announcement every caller hears before the main menu. Ops set it
    (``pln123 announcement set`` or the ops page); every worker sees it within
    seconds."""

    async def current(self) -> Announcement | None:
        """The announcement in force now; None when there is none."""


class HoursPort(Protocol):
    """Ops' live changes to the queues' opening hours and the holidays, over the data
    files' defaults (``pln123 hours``, ``pln123 holiday`` or the ops page); every
    worker sees a change within seconds."""

    async def overrides(self) -> HoursOverrides:
        """Every change in the store now (the caller checks closures' times against the
        call's own clock)."""


@dataclass(frozen=True)
class Backends:
    """The backends one IVR process uses."""

    crm: CrmPort
    customers: CustomerPort
    apkt: ApktPort
    #: The screen-pop's task list (None: call-backs cannot be taken).
    callbacks: CallbackPort | None = None
    #: AP2T for power changes (None: tambah daya goes to a CSO).
    ap2t: Ap2tPort | None = None
    #: ITSM for PLN Mobile problems (None: they go to a CSO).
    itsm: ItsmPort | None = None
    #: Outage announcements (None: callers are never told of one; reports go on as
    #: without an outage).
    outages: OutagePort | None = None
    #: The global announcement (None: callers never hear one).
    announcements: AnnouncementPort | None = None
    #: Ops' changes to opening hours and holidays (None: the data files alone).
    hours: HoursPort | None = None
