"""Indonesian labels the CSO's page shows: queues, pop states, questions, APKT fields.

Ops may edit the wording here; the keys are the ids the flows and the store use.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ivr.domain import self_diagnosis
from ivr.store import pops

QUEUES: Mapping[str, str] = MappingProxyType(
    {
        "periksa": "PERIKSA & gangguan",
        "status": "Status laporan & CTT",
        "tambah_daya": "Tambah daya",
        "pln_mobile": "PLN Mobile",
        "umum": "Umum",
    }
)

STATES: Mapping[str, str] = MappingProxyType(
    {
        pops.RINGING: "Berdering",
        pops.CONNECTED: "Tersambung",
        pops.ABANDONED: "Penelepon menutup",
        pops.TAKEN: "Diangkat CSO lain",
        pops.MISSED: "Tidak diangkat",
        pops.DONE: "Selesai",
    }
)

LINES: Mapping[str, str] = MappingProxyType({"mobile": "Seluler", "pstn": "PSTN"})

POWER_STATES: Mapping[str, str] = MappingProxyType({"padam": "Padam", "menyala": "Menyala"})

#: The heading of the block showing the outage announcement the caller heard
#: (``ScreenPop.outage``), at the top of the pop.
OUTAGE_TITLE = "Gangguan meluas diketahui"

#: That block's rows, in order (the message is shown apart, large). The master report's
#: label is also its line in the APKT block.
OUTAGE: Mapping[str, str] = MappingProxyType(
    {
        "units": "Wilayah gangguan",
        "until": "Perkiraan menyala",
        "report_number": "Laporan induk APKT",
        "declared_at": "Diumumkan",
    }
)

#: What each ``ask:`` tag asked, as a CSO reads it.
ASKS: Mapping[str, str] = MappingProxyType(
    {
        "menu": "Menu utama",
        "power_state": "Listrik padam atau menyala",
        "display_state": "Layar kWh meter",
        "mcb_on": "MCB sudah dinaikkan",
        "reported_before": "Sudah pernah lapor",
        "idpel": "IDPEL / no. meter",
        "address_correct": "Alamat sesuai data IDPEL",
        "willing_guided": "Bersedia dipandu",
        "confirmation_wanted": "Minta konfirmasi sebelum petugas datang",
        "confirmation_time": "Waktu konfirmasi",
        "near_meter": "Berada di dekat kWh meter",
        "contact_reachable": "Dapat dihubungi di nomor ini",
        "mobile_number": "No. HP yang dapat dihubungi",
        "contact_channels": "Dapat dihubungi via",
        "repeat_report_number": "Minta no. laporan diulang",
        "understood": "Sudah paham",
        "anything_else": "Ada yang lain",
        "other_help": "Bantuan lain",
        "callback_choice": "Pilihan telepon balik",
        "callback_number": "Nomor telepon balik",
        "itsm_followup": "Menghubungi kembali terkait tiket ITSM",
        "itsm_ticket": "No. tiket ITSM",
        "itsm_email_received": "Sudah menerima email jawaban",
        "mobile_topic": "Topik PLN Mobile",
        "payment_category": "Jenis metode pembayaran",
        "payment_method": "Metode pembayaran",
        "mobile_solved": "Penjelasan menyelesaikan kendala",
        "mobile_more": "Ada kendala PLN Mobile lain",
        "outage_choice": "Pilihan setelah info gangguan",
        **{
            f"{self_diagnosis.ASK_PREFIX}{code}": f"Kode {code} ({meaning})"
            for code, meaning in self_diagnosis.MEANINGS.items()
        },
    }
)

#: The APKT form's fields in the order the form lists them (self diagnosis apart).
APKT_FIELDS: tuple[tuple[str, str], ...] = (
    ("reporter_name", "Nama pelapor"),
    ("caller_number", "No. telepon"),
    ("mobile_number", "No. HP"),
    ("idpel", "IDPEL"),
    ("address", "Alamat"),
    ("location", "Lokasi gangguan"),
    ("padam_at", "Waktu padam"),
    ("unit", "Unit"),
    ("posko", "Posko"),
    ("wo_type", "Jenis WO"),
    ("problem_text", "Keterangan gangguan"),
    ("confirmation_at", "Konfirmasi sebelum datang"),
    ("contact_note", "Catatan kontak"),
)


def ask_label(ask: str) -> str:
    """The label of a question, or its tag when it has none."""
    return ASKS.get(ask, ask)
