"""The screen-pop: what a CSO's page shows for a call the IVR hands over.

The transfer step fills a :class:`ScreenPop` from the call and stores
:meth:`ScreenPop.to_stored`; the screen-pop service reads it back with
:meth:`ScreenPop.from_stored` and renders it. The stored JSON keeps the shape the IVR
has always written (caller fields flat at the top, the APKT form as its field names),
so pops stored before this record existed read the same.

Reading is lenient: a key that is missing is empty and a value of an odd type becomes
text, because an odd stored pop must still reach the CSO rather than break the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ivr.backends.ports import ReportRequest

#: The stored form of a pop: JSON-ready, as the store keeps it.
StoredPop = dict[str, Any]


def _text(value: Any) -> str:
    """A stored value as text (None as empty)."""
    return "" if value is None else str(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _records(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a stored list; anything else in it is skipped."""
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(_text(item) for item in value)


@dataclass(frozen=True)
class Caller:
    """Who calls: stored flat at the pop's top level (``caller``, ``caller_class``,
    ``caller_name``, ``salutation``)."""

    #: The number as the caller ID gave it.
    number: str = ""
    #: ``mobile``, ``pstn`` or "" (the caller ID class).
    line: str = ""
    #: The caller's name when the CRM knows the number.
    name: str = ""
    salutation: str = ""


@dataclass(frozen=True, kw_only=True)
class Customer:
    """The customer the call identified; or, with ``found`` False, only the number the
    caller keyed (IDPEL or meter number), which the lookup did not find."""

    keyed: str
    found: bool = False
    idpel: str = ""
    meter_number: str = ""
    name: str = ""
    street: str = ""
    area: str = ""
    #: Whether the caller confirmed the address; None when not asked.
    address_confirmed: bool | None = None
    unit: str = ""
    posko: str = ""
    tariff: str = ""
    power_va: str = ""

    def to_stored(self) -> StoredPop:
        """The stored form: just the keyed number when nobody was found."""
        if not self.found:
            return {"keyed": self.keyed, "found": False}
        return {
            "found": True,
            "keyed": self.keyed,
            "idpel": self.idpel,
            "meter_number": self.meter_number,
            "name": self.name,
            "street": self.street,
            "area": self.area,
            "address_confirmed": self.address_confirmed,
            "unit": self.unit,
            "posko": self.posko,
            "tariff": self.tariff,
            "power_va": self.power_va,
        }

    @classmethod
    def from_stored(cls, data: Any) -> Customer | None:
        """The customer of a stored pop; None for none (or an empty entry)."""
        if not data or not isinstance(data, Mapping):
            return None
        keyed = _text(data.get("keyed"))
        if not data.get("found"):
            return cls(keyed=keyed)
        confirmed = data.get("address_confirmed")
        return cls(
            keyed=keyed,
            found=True,
            idpel=_text(data.get("idpel")),
            meter_number=_text(data.get("meter_number")),
            name=_text(data.get("name")),
            street=_text(data.get("street")),
            area=_text(data.get("area")),
            address_confirmed=None if confirmed is None else bool(confirmed),
            unit=_text(data.get("unit")),
            posko=_text(data.get("posko")),
            tariff=_text(data.get("tariff")),
            power_va=_text(data.get("power_va")),
        )


@dataclass(frozen=True)
class Answer:
    """One answer, in the order given: the question's ``ask:`` tag and the value."""

    ask: str
    value: str

    def to_stored(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Note:
    """One of the flow's own ``pop:`` lines, filled from the call."""

    label: str
    value: str

    def to_stored(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class OpenReport:
    """The caller's earlier report, when the flow found one (lapor ulang)."""

    number: str
    status: str = ""

    def to_stored(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class OutageNotice:
    """The outage announcement (*gangguan meluas*) the caller heard before reaching the
    CSO: which one, what it said, when power is expected back in the caller's zone,
    and the master APKT report the caller's report belongs to."""

    id: str
    message: str
    #: The restoration time as the caller heard it (``16:00 WITA``).
    until: str = ""
    report_number: str = ""
    units: tuple[str, ...] = ()

    def to_stored(self) -> StoredPop:
        return {
            "id": self.id,
            "message": self.message,
            "until": self.until,
            "report_number": self.report_number,
            "units": list(self.units),
        }

    @classmethod
    def from_stored(cls, data: Any) -> OutageNotice | None:
        """The outage of a stored pop; None for none (or one without an id)."""
        record = _mapping(data)
        if not record.get("id"):
            return None
        return cls(
            id=_text(record.get("id")),
            message=_text(record.get("message")),
            until=_text(record.get("until")),
            report_number=_text(record.get("report_number")),
            units=_texts(record.get("units")),
        )


def _form_from_stored(data: Any) -> ReportRequest | None:
    """The APKT form of a stored pop; a field it lacks is empty."""
    if not data or not isinstance(data, Mapping):
        return None
    values: dict[str, Any] = {}
    for f in fields(ReportRequest):
        if f.name == "self_diagnosis":
            readings = _mapping(data.get(f.name))
            values[f.name] = {_text(code): _text(value) for code, value in readings.items()}
        else:
            values[f.name] = _text(data.get(f.name))
    return ReportRequest(**values)


@dataclass(frozen=True, kw_only=True)
class ScreenPop:
    """What the CSO's screen shows for one call: who calls, the customer, every answer
    in the order given, the path, the APKT form as far as the call filled it, and the
    flow's own lines, so nobody asks twice."""

    call_id: str
    flow: str
    queue: str
    caller: Caller = field(default_factory=Caller)
    customer: Customer | None = None
    #: ``padam``, ``menyala`` or "".
    power_state: str = ""
    #: The self-diagnosis values as the caller gave them, by code ("08" ... "47").
    self_diagnosis: Mapping[str, str] = field(default_factory=dict)
    answers: tuple[Answer, ...] = ()
    asks: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    #: The APKT gangguan form, on a call that set one up.
    apkt: ReportRequest | None = None
    report_number: str = ""
    notes: tuple[Note, ...] = ()
    open_report: OpenReport | None = None
    #: The outage announcement the caller heard, if any.
    outage: OutageNotice | None = None

    def to_stored(self) -> StoredPop:
        """The JSON-ready form the store keeps (the shape the IVR has always written;
        ``outage`` only on a pop that has one)."""
        stored: StoredPop = {
            "call_id": self.call_id,
            "flow": self.flow,
            "queue": self.queue,
            "caller": self.caller.number,
            "caller_class": self.caller.line,
            "caller_name": self.caller.name,
            "salutation": self.caller.salutation,
            "customer": self.customer.to_stored() if self.customer else None,
            "power_state": self.power_state,
            "self_diagnosis": dict(self.self_diagnosis),
            "answers": [answer.to_stored() for answer in self.answers],
            "asks": list(self.asks),
            "path": list(self.path),
            "apkt": asdict(self.apkt) if self.apkt else None,
            "report_number": self.report_number,
            "notes": [note.to_stored() for note in self.notes],
            "open_report": self.open_report.to_stored() if self.open_report else None,
        }
        if self.outage is not None:
            stored["outage"] = self.outage.to_stored()
        return stored

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> ScreenPop:
        """A stored pop, as written by :meth:`to_stored` or by earlier versions."""
        open_report = _mapping(data.get("open_report"))
        return cls(
            call_id=_text(data.get("call_id")),
            flow=_text(data.get("flow")),
            queue=_text(data.get("queue")),
            caller=Caller(
                number=_text(data.get("caller")),
                line=_text(data.get("caller_class")),
                name=_text(data.get("caller_name")),
                salutation=_text(data.get("salutation")),
            ),
            customer=Customer.from_stored(data.get("customer")),
            power_state=_text(data.get("power_state")),
            self_diagnosis={
                _text(code): _text(value)
                for code, value in _mapping(data.get("self_diagnosis")).items()
            },
            answers=tuple(
                Answer(_text(a.get("ask")), _text(a.get("value")))
                for a in _records(data.get("answers"))
            ),
            asks=_texts(data.get("asks")),
            path=_texts(data.get("path")),
            apkt=_form_from_stored(data.get("apkt")),
            report_number=_text(data.get("report_number")),
            notes=tuple(
                Note(_text(n.get("label")), _text(n.get("value")))
                for n in _records(data.get("notes"))
            ),
            open_report=(
                OpenReport(_text(open_report.get("number")), _text(open_report.get("status")))
                if open_report.get("number")
                else None
            ),
            outage=OutageNotice.from_stored(data.get("outage")),
        )
