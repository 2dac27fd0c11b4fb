"""The PLN Mobile help line (SOP CSO PLN 123 "Informasi dan Permasalahan New PLN Mobile
Melalui CC PLN 123 (Rev-3)", 16 Des 2020): its topics, the ITSM ticket statuses and what
they mean to a caller, the texts recorded in APKT and ITSM, and the admin-fee table.

Section A of the SOP lists what PLN 123 answers itself; each such call is recorded in APKT
as "Issue Closed", Issue Type Lain-lain, Keterangan "New PLN Mobile - (topik)". A problem
the answer does not solve goes to the service desk as one ITSM ticket per problem (B). A
caller who calls again about a ticket (C) gets a note on that ticket while it is not
finished, or a new ticket citing the old one once it is (Resolved, Closed).

The admin fees are data (``flows/data/biaya_admin_pln_mobile.yaml``, validated by
:class:`AdminFeeTable`), so ops change a fee without touching Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

#: The admin-fee table's name under ``flows/data``.
TABLE = "biaya_admin_pln_mobile"

#: ITSM's Service Family of every ticket this line makes (SOP E).
SERVICE_FAMILY = "NEW PLN MOBILE"
#: Who writes the ITSM notes and tickets (a CSO writes its own id, "CC.54.DESI").
AUTHOR = "IVR PLN 123"

# --- topics (SOP A) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """A topic of the help line: the value of ``ask: mobile_topic``."""

    code: str
    #: The "(topik)" of the APKT Keterangan ("New PLN Mobile - Lupa password").
    label: str
    #: The ITSM ticket's Summary when the answer did not solve the problem; read back
    #: to a caller who calls again about the ticket.
    summary: str
    #: ITSM's Service Group and Service Type for it (SOP E, the technical service catalogue).
    service_group: str
    service_type: str


_BUSINESS = ("PROSES BISNIS", "Pertanyaan terkait Proses Bisnis Aplikasi")
_PAYMENT = "MODUL PEMBAYARAN DAN PEMBELIAN"

TOPICS: Mapping[str, Topic] = MappingProxyType(
    {
        topic.code: topic
        for topic in (
            Topic(
                "download",
                "Download dan instal aplikasi",
                "Tidak dapat mendownload atau menginstal aplikasi PLN Mobile",
                "INSTALASI",
                "Instalasi Aplikasi",
            ),
            Topic(
                "pendaftaran",
                "Pendaftaran akun",
                "Tidak dapat melakukan pendaftaran akun PLN Mobile",
                "MANAJEMEN USER",
                "Pendaftaran User",
            ),
            Topic(
                "lupa_password",
                "Lupa password",
                "Tidak dapat login karena lupa password PLN Mobile",
                "MANAJEMEN USER",
                "Reset Password User",
            ),
            Topic(
                "idpel_akun",
                "ID pelanggan pada akun",
                "Kendala ID pelanggan atau nomor meter pada akun PLN Mobile",
                "MANAJEMEN USER",
                "Penambahan ID Pel/Nomor Meter",
            ),
            Topic(
                "verifikasi",
                "Verifikasi akun",
                "Kendala verifikasi akun PLN Mobile dari Basic ke Full Service",
                "MANAJEMEN USER",
                "Upgrade User",
            ),
            Topic(
                "riwayat",
                "Riwayat penggunaan dan pembelian",
                "Kendala riwayat penggunaan atau pembelian pada PLN Mobile",
                "MODUL RIWAYAT PENGGUNAAN DAN PEMBELIAN",
                "Permintaan Layanan History atau Riwayat Transaksi",
            ),
            Topic(
                "metode_pembayaran",
                "Metode pembayaran",
                "Kendala metode pembayaran pada PLN Mobile",
                _PAYMENT,
                "Permintaan Layanan Penambahan Metode Pembayaran",
            ),
            Topic(
                "biaya_admin",
                "Biaya admin pembayaran",
                "Pertanyaan biaya admin pembayaran pada PLN Mobile",
                *_BUSINESS,
            ),
            Topic(
                "refund",
                "Refund pembayaran gagal",
                "Refund pembayaran PLN Mobile yang gagal belum diterima",
                *_BUSINESS,
            ),
            Topic(
                "pengaduan_rating",
                "Pengaduan dan rating petugas",
                "Kendala pengaduan atau rating petugas pada PLN Mobile",
                "MODUL PENGADUAN",
                "Permintaan Layanan Rating dan Feedback Petugas",
            ),
            Topic(
                "lainnya",
                "Lain-lain",
                "Kendala lain aplikasi PLN Mobile",
                *_BUSINESS,
            ),
        )
    }
)


def topic(code: str) -> Topic:
    """The topic ``code`` names; :class:`LookupError` for a value the flow should not
    give (the action fails, and the caller goes to a CSO)."""
    found = TOPICS.get(code)
    if found is None:
        raise LookupError(f"unknown PLN Mobile topic {code!r}; known: {', '.join(TOPICS)}")
    return found


# --- APKT "Issue Closed" Keterangan (SOP A and B.5, C.1.e, C.2) ------------------------
# Templates the flow passes to ``apkt.issue_closed`` (call variables in braces).

#: A question the IVR answered and the caller confirmed.
APKT_ANSWERED = "New PLN Mobile - {topik}"
#: A problem sent to the service desk as a new ITSM ticket.
APKT_ESCALATED = "New PLN Mobile - {topik} - eskalasi ITSM"
#: A caller who reported a ticket that is not finished yet, again.
APKT_REPORTED_AGAIN = (
    "New PLN Mobile - {itsm_ringkasan} - Pelanggan melaporkan kembali No. Tiket ITSM {itsm_ticket}"
)
#: A finished ticket reported again: a new ticket; the old and the new number.
APKT_REOPENED = (
    "New PLN Mobile - {itsm_ringkasan} - eskalasi ITSM - No. Tiket ITSM lama {itsm_ticket},"
    " baru {itsm_tiket_baru}"
)

# --- ITSM tickets (SOP B, C) ------------------------------------------------------------

#: An ITSM Incident ID: digits, 6 in the SOP's examples (733905), up to 8.
TICKET_NUMBER = re.compile(r"[1-9]\d{5,7}")
#: The status ITSM gives a new ticket.
STATUS_LOGGED = "Logged"

#: Each status of the progress bar (SOP B, "Keterangan Progress Bar") and what it means,
#: said to the caller after "artinya, tiket ".
STATUSES: Mapping[str, str] = MappingProxyType(
    {
        STATUS_LOGGED: "sudah tercatat dan belum ditindaklanjuti oleh petugas Service Desk",
        "Active": "sedang dikerjakan oleh petugas Service Desk atau tim pendukung",
        "Waiting for Customer": (
            "membutuhkan informasi tambahan dari Anda. Apabila status tiket tidak berubah"
            " dalam waktu 5 hari, tiket akan ditutup secara otomatis"
        ),
        "Waiting for 3rd Party": "membutuhkan penyelesaian oleh pihak ketiga",
        "Waiting for Approval": "membutuhkan persetujuan dari pihak yang terkait",
        "Resolved": (
            "sudah diselesaikan oleh tim pendukung dan membutuhkan konfirmasi penyelesaian"
            " dari Anda"
        ),
        "Closed": "sudah ditutup dan tidak dapat diubah lagi",
    }
)
#: "Status bar sudah selesai" (SOP C.2): a new ticket, not a note.
FINISHED: frozenset[str] = frozenset({"Resolved", "Closed"})
#: For a status this table does not know (a site's ITSM may have more).
STATUS_UNKNOWN = "masih dalam proses tindak lanjut"


def _status_key(status: str) -> str:
    return re.sub(r"[^a-z0-9]", "", status.lower())


_BY_KEY = {_status_key(name): name for name in STATUSES}


def status_name(status: str) -> str:
    """The SOP's spelling of an ITSM status ("waiting for 3 rd party" is "Waiting for 3rd
    Party"); an unknown status as given, spaces tidied."""
    return _BY_KEY.get(_status_key(status), " ".join(status.split()))


def explain_status(status: str) -> str:
    """What the status means, in Indonesian, to follow "artinya, tiket "."""
    return STATUSES.get(status_name(status), STATUS_UNKNOWN)


def is_finished(status: str) -> bool:
    """Whether the ticket is done with (Resolved or Closed): a caller who still has the
    problem gets a new ticket. Any other status, known or not, is still in progress."""
    return status_name(status) in FINISHED


def is_ticket_number(text: str) -> bool:
    """Whether ``text`` is an ITSM ticket number (6 to 8 digits, no leading zero)."""
    return TICKET_NUMBER.fullmatch(text or "") is not None


def reported_again_note(email_received: bool) -> str:
    """The "NEW NOTES" text for a ticket reported again while not finished (SOP C.1.e.2),
    signed like a CSO's."""
    if email_received:
        text = (
            "Pelanggan melaporkan kembali, Pelanggan sudah menerima email namun permasalahan"
            " belum selesai."
        )
    else:
        text = (
            "Pelanggan melaporkan kembali belum ada tindaklanjut, Pelanggan belum mendapatkan"
            " balasan email."
        )
    return f"{text} {AUTHOR}."


def ticket_description(chosen: Topic, caller_number: str) -> str:
    """The Description of a new ticket for a problem the SOP's answer did not solve
    (SOP B.3.g: the problem, the caller's name and number, and the e-mail address, which
    the CSO who takes the call adds)."""
    return (
        f"Mohon bantuannya, kendala aplikasi PLN Mobile: {chosen.label}. Penjelasan sesuai"
        " SOP sudah disampaikan melalui IVR PLN 123, namun Pelanggan menyatakan kendalanya"
        " belum terselesaikan.\n"
        f"No. Telp.: {caller_number or '-'}\n"
        "Email: (WAJIB DIISI, dicatat CSO PLN 123)\n"
        f"{AUTHOR}."
    )


def reopened_description(
    old_number: str, old_status: str, email_received: bool, caller_number: str
) -> str:
    """The Description of a new ticket for a finished ticket reported again (SOP C.2:
    "Pada ITSM: keterangan No. Tiket yang lama")."""
    email = "sudah menerima" if email_received else "belum menerima"
    return (
        f"Pelanggan melaporkan kembali No. Tiket ITSM {old_number} (status"
        f" {status_name(old_status)}); Pelanggan {email} email jawaban dan permasalahan"
        " belum terselesaikan.\n"
        f"No. Telp.: {caller_number or '-'}\n"
        "Email: (WAJIB DIISI, dicatat CSO PLN 123)\n"
        f"{AUTHOR}."
    )


# --- admin fees (SOP A.6.e) -------------------------------------------------------------

Category = Literal["Virtual Account", "Dompet Digital", "Kartu Kredit", "Kartu Debit Instan"]

#: Results of :func:`fee_kind`, the flow's way to say the fee.
FEE_FREE = "gratis"
FEE_SAME = "sama"
FEE_DIFFERENT = "beda"
FEE_ONE_FREE = "sebagian"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdminFee(_Strict):
    """One payment method's admin fee in rupiah."""

    #: The value the flow's ``payment_method`` menu gives.
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: The method as the SOP's table writes it ("MANDIRI-VA").
    sop_code: str = Field(min_length=1)
    #: The method as the IVR says it ("Mandiri Virtual Account").
    name: str = Field(min_length=1)
    category: Category
    #: Buying a prepaid token.
    prepaid: NonNegativeInt
    #: Paying a postpaid bill.
    postpaid: NonNegativeInt


class AdminFeeTable(_Strict):
    """``flows/data/biaya_admin_pln_mobile.yaml``."""

    #: Where the figures come from (the SOP and its date).
    source: str = Field(min_length=1)
    methods: list[AdminFee] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> AdminFeeTable:
        for field in ("code", "sop_code"):
            values = [getattr(method, field) for method in self.methods]
            doubled = sorted({value for value in values if values.count(value) > 1})
            if doubled:
                raise ValueError(f"methods: {field} given twice: {', '.join(doubled)}")
        return self

    def method(self, code: str) -> AdminFee | None:
        """The method with this ``code``, or None."""
        return next((method for method in self.methods if method.code == code), None)


def fee_kind(fee: AdminFee) -> str:
    """How to say the fee: ``gratis`` (no fee either way), ``sama`` (one fee for both),
    ``beda`` (two fees) or ``sebagian`` (one of the two is free)."""
    if fee.prepaid == fee.postpaid:
        return FEE_FREE if fee.prepaid == 0 else FEE_SAME
    return FEE_ONE_FREE if 0 in (fee.prepaid, fee.postpaid) else FEE_DIFFERENT
