"""A time limit, a type check and one error type around every backend call.

:func:`guarded` wraps every port (CRM, customers, APKT, call-backs, AP2T, ITSM, outages,
announcements, hours) so that the flow sees only two outcomes: an answer within ``timeout``
seconds of the type the port declares, or :class:`BackendError` with a message that says
which backend failed and how (then the caller goes to a CSO with everything collected).
An answer of the wrong type (an ``int`` where the port says ``str``) is such a failure:
its message names the port method and the expected and actual type names
(:mod:`ivr.backends.typecheck`; each method's check is built once, when it is wrapped).
A cancelled call (the caller hung up) stays cancelled: :class:`asyncio.CancelledError`
passes through untouched.

Log lines and error messages carry no personal data: the phone number, IDPEL or report
number a call was about shows only its last three digits, and long digit runs in a
backend's own error text are masked the same way.

The limit applies to awaiting: a backend that blocks the event loop (a synchronous
query waiting on a locked file) cannot be interrupted by it. The embedded backends
run sub-millisecond local queries; a site's network backends must be truly async.

Every call that ends is timed in ``pln123_backend_seconds{backend, result}``:
``backend`` is the call's name (``CRM caller lookup``), ``result`` is ``ok``, ``error``
or ``timeout`` (the guard's own limit expired). A cancelled call is not counted: it
says nothing of the backend.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ivr import metrics
from ivr.backends.ports import (
    AnnouncementPort,
    Ap2tPort,
    ApktPort,
    BackendError,
    Backends,
    BackendTimeout,
    CallbackPort,
    CallerInfo,
    ClosedIssue,
    CrmPort,
    Customer,
    CustomerPort,
    HoursPort,
    ItsmPort,
    ItsmTicket,
    OutagePort,
    PowerChangeCheck,
    PowerChangeRegistration,
    PowerChangeRequest,
    Report,
    ReportRequest,
    TicketRequest,
)
from ivr.backends.typecheck import ReturnCheck, port_checks
from ivr.domain.announcements import Announcement
from ivr.domain.callerid import mask
from ivr.domain.hours_overrides import HoursOverrides
from ivr.domain.outages import Outage
from ivr.domain.pln_mobile import is_ticket_number
from ivr.domain.reports import is_report_number
from ivr.logs import LONG_NUMBER

T = TypeVar("T")

log = logging.getLogger(__name__)


def scrub(text: str) -> str:
    """``text`` with every standalone run of 7+ digits masked to its last three."""
    return LONG_NUMBER.sub(lambda match: mask(match.group(0)), text)


def _reason(exc: BaseException) -> str:
    text = scrub(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Guard:
    def __init__(self, timeout: float, inner: object) -> None:
        if not timeout > 0:
            raise ValueError(f"backend timeout must be positive, not {timeout!r}")
        self.timeout = timeout
        #: A backend that answers without awaiting (the embedded SQLite ones) cannot be
        #: interrupted by a timer, so none is armed for it: a timer costs CPU on every
        #: call (``pln123 bench agi``) and could never fire. Only a class that says so
        #: itself (``runs_on_loop``) counts: a subclass that overrides a call with one
        #: that awaits does not inherit the promise, and keeps its time limit.
        self.armed = not type(inner).__dict__.get("runs_on_loop", False)

    async def run(
        self, what: str, about: str, call: Callable[[], Awaitable[T]], expect: ReturnCheck
    ) -> T:
        """``call()`` within the limit; ``what`` names the call, ``about`` (a phone number
        or ID) is masked in any message. The time taken is observed under ``what``. An
        answer ``expect`` refuses (not the port's declared return type) is a failure like
        an exception: logged with the port method and the type names, never the value."""
        started = time.perf_counter()
        limit: asyncio.Timeout | None = None
        try:
            if not self.armed:
                result = await call()
            else:
                async with asyncio.timeout(self.timeout) as limit:
                    result = await call()
        except TimeoutError as exc:
            expired = limit is not None and limit.expired()
            elapsed = _observe(what, "timeout" if expired else "error", started)
            label = _label(what, about)
            if expired:
                message = f"{label}: no answer within {self.timeout:g} s"
            else:
                message = f"{label} failed: {_reason(exc)}"
            log.warning("backend %s after %.0f ms", message, elapsed * 1000)
            if expired:
                raise BackendTimeout(message) from exc
            raise BackendError(message) from exc
        except BackendError as exc:
            _observe(what, "error", started)
            label = _label(what, about)
            message = f"{label} failed: {scrub(str(exc)) or 'backend error'}"
            log.warning("backend %s", message)
            raise BackendError(message) from exc
        except Exception as exc:
            _observe(what, "error", started)
            label = _label(what, about)
            message = f"{label} failed: {_reason(exc)}"
            log.warning("backend %s", message)
            raise BackendError(message) from exc
        if not expect.accepts(result):
            _observe(what, "error", started)
            message = f"{_label(what, about)} failed: {expect.mismatch(result)}"
            log.warning("backend %s", message)
            raise BackendError(message)
        _observe(what, "ok", started)
        return result


def _observe(what: str, result: str, started: float) -> float:
    """Observe a call to ``what`` that began at ``perf_counter()`` ``started``; its seconds."""
    elapsed = time.perf_counter() - started
    metrics.METRICS.backend_seconds.labels(what, result).observe(elapsed)
    return elapsed


def _label(what: str, about: str) -> str:
    """The call's name for a message, with its subject masked (built only on failure)."""
    return f"{what} ({scrub(about)})" if about else what


class GuardedCrm:
    """A CRM whose every call has a time limit and fails only with BackendError."""

    def __init__(self, inner: CrmPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(CrmPort)

    async def caller(self, phone: str) -> CallerInfo | None:
        return await self._guard.run(
            "CRM caller lookup", phone, lambda: self.inner.caller(phone), self._checks["caller"]
        )


class GuardedCustomers:
    """Customer data with a time limit on every call."""

    def __init__(self, inner: CustomerPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(CustomerPort)

    async def find(self, idpel_or_meter: str) -> Customer | None:
        return await self._guard.run(
            "customer lookup",
            idpel_or_meter,
            lambda: self.inner.find(idpel_or_meter),
            self._checks["find"],
        )


class GuardedCallbacks:
    """The call-back task list with a time limit; the number is masked in messages."""

    def __init__(self, inner: CallbackPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(CallbackPort)

    async def request(self, call_id: str, pop_id: str, number: str, queue: str) -> None:
        await self._guard.run(
            "call-back request",
            number,
            lambda: self.inner.request(call_id, pop_id, number, queue),
            self._checks["request"],
        )


class GuardedApkt:
    """APKT with a time limit on every call; a malformed report number is a failure."""

    def __init__(self, inner: ApktPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(ApktPort)

    async def create_report(self, request: ReportRequest) -> Report:
        report = await self._guard.run(
            "APKT create report",
            request.idpel or request.caller_number,
            lambda: self.inner.create_report(request),
            self._checks["create_report"],
        )
        if not (report.number.startswith("G") and is_report_number(report.number)):
            message = f"APKT create report returned a malformed number ({mask(report.number)})"
            log.warning("backend %s", message)
            raise BackendError(message)
        return report

    async def close_issue(self, issue: ClosedIssue) -> str:
        return await self._guard.run(
            "APKT close issue",
            issue.idpel or issue.caller_number,
            lambda: self.inner.close_issue(issue),
            self._checks["close_issue"],
        )

    async def report(self, number: str) -> Report | None:
        return await self._guard.run(
            "APKT report lookup", number, lambda: self.inner.report(number), self._checks["report"]
        )

    async def open_reports(
        self, *, idpel: str = "", number: str = "", phone: str = ""
    ) -> list[Report]:
        about = ", ".join(
            f"{key} {value}"
            for key, value in (("idpel", idpel), ("number", number), ("phone", phone))
            if value
        )
        return await self._guard.run(
            "APKT open reports lookup",
            about,
            lambda: self.inner.open_reports(idpel=idpel, number=number, phone=phone),
            self._checks["open_reports"],
        )


class GuardedAp2t:
    """AP2T with a time limit on every call."""

    def __init__(self, inner: Ap2tPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(Ap2tPort)

    async def arrears(self, idpel: str) -> int:
        return await self._guard.run(
            "AP2T arrears", idpel, lambda: self.inner.arrears(idpel), self._checks["arrears"]
        )

    async def check_power_change(self, idpel: str, target_power_va: int) -> PowerChangeCheck:
        return await self._guard.run(
            "AP2T power change check",
            idpel,
            lambda: self.inner.check_power_change(idpel, target_power_va),
            self._checks["check_power_change"],
        )

    async def register_power_change(self, request: PowerChangeRequest) -> PowerChangeRegistration:
        return await self._guard.run(
            "AP2T power change registration",
            request.idpel,
            lambda: self.inner.register_power_change(request),
            self._checks["register_power_change"],
        )


class GuardedItsm:
    """ITSM with a time limit on every call; a malformed ticket number is a failure.
    Ticket numbers (6 digits) are masked in messages like longer numbers."""

    def __init__(self, inner: ItsmPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(ItsmPort)

    async def create_ticket(self, request: TicketRequest) -> ItsmTicket:
        ticket = await self._guard.run(
            "ITSM create ticket",
            request.caller_number,
            lambda: self.inner.create_ticket(request),
            self._checks["create_ticket"],
        )
        if not is_ticket_number(ticket.number):
            message = f"ITSM create ticket returned a malformed number ({mask(ticket.number)})"
            log.warning("backend %s", message)
            raise BackendError(message)
        return ticket

    async def ticket(self, number: str) -> ItsmTicket | None:
        return await self._guard.run(
            "ITSM ticket lookup",
            mask(number),
            lambda: self.inner.ticket(number),
            self._checks["ticket"],
        )

    async def add_note(self, number: str, note: str, call_id: str = "") -> bool:
        return await self._guard.run(
            "ITSM add note",
            mask(number),
            lambda: self.inner.add_note(number, note, call_id),
            self._checks["add_note"],
        )


class GuardedOutages:
    """Outage lookups and event records with a time limit; names no caller (units and
    area codes are no personal data)."""

    def __init__(self, inner: OutagePort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(OutagePort)

    async def covering(self, unit: str, posko: str) -> Outage | None:
        return await self._guard.run(
            "outage lookup", "", lambda: self.inner.covering(unit, posko), self._checks["covering"]
        )

    async def covering_area_code(self, code: str) -> Outage | None:
        return await self._guard.run(
            "outage lookup by area code",
            code,
            lambda: self.inner.covering_area_code(code),
            self._checks["covering_area_code"],
        )

    async def record(self, outage_id: int, call_id: str, event: str) -> None:
        await self._guard.run(
            "outage event",
            f"outage {outage_id}",
            lambda: self.inner.record(outage_id, call_id, event),
            self._checks["record"],
        )


class GuardedAnnouncements:
    """The announcement lookup with a time limit (it names no caller)."""

    def __init__(self, inner: AnnouncementPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(AnnouncementPort)

    async def current(self) -> Announcement | None:
        return await self._guard.run(
            "announcement lookup", "", self.inner.current, self._checks["current"]
        )


class GuardedHours:
    """The lookup of ops' hours and holiday changes with a time limit (no caller)."""

    def __init__(self, inner: HoursPort, timeout: float) -> None:
        self.inner = inner
        self._guard = _Guard(timeout, inner)
        self._checks = port_checks(HoursPort)

    async def overrides(self) -> HoursOverrides:
        return await self._guard.run(
            "hours lookup", "", self.inner.overrides, self._checks["overrides"]
        )


def guarded(backends: Backends, timeout: float) -> Backends:
    """``backends`` with a ``timeout``-second limit on every call."""
    return Backends(
        crm=GuardedCrm(backends.crm, timeout),
        customers=GuardedCustomers(backends.customers, timeout),
        apkt=GuardedApkt(backends.apkt, timeout),
        callbacks=(
            GuardedCallbacks(backends.callbacks, timeout)
            if backends.callbacks is not None
            else None
        ),
        ap2t=GuardedAp2t(backends.ap2t, timeout) if backends.ap2t is not None else None,
        itsm=GuardedItsm(backends.itsm, timeout) if backends.itsm is not None else None,
        outages=(
            GuardedOutages(backends.outages, timeout) if backends.outages is not None else None
        ),
        announcements=(
            GuardedAnnouncements(backends.announcements, timeout)
            if backends.announcements is not None
            else None
        ),
        hours=GuardedHours(backends.hours, timeout) if backends.hours is not None else None,
    )
