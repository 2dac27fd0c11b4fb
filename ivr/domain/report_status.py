"""What an APKT report's status means for a caller who asks about it (SOP of the CTT
for "Display APP Tertera Periksa", seed 003; mutation of keluhan, seed 004).

Two statuses have their own handling: a CTT with an officer's visit, and a CTT token
given to the customer. Every other status is told in plain Indonesian. A report moved
from keluhan to gangguan is told as the gangguan report it became, without a word
about the change of number or type.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CTT_VISIT = "SUDAH TERBIT CTT DENGAN DIDATANGI PETUGAS"
CTT_TOKEN = "SUDAH TERBIT CTT DIBERIKAN KE PELANGGAN"

#: The flow's result for each kind of status.
KIND_CTT_VISIT = "ctt_petugas"
KIND_CTT_TOKEN = "ctt_token"
KIND_OTHER = "lainnya"

#: Status -> the rest of "Laporan Anda ..." (statuses as APKT writes them, upper case).
PLAIN: Mapping[str, str] = MappingProxyType(
    {
        "LAPOR": "sudah kami terima dan akan segera ditangani oleh petugas kami",
        "PENGUSUTAN REGU": "sedang ditangani oleh regu petugas kami",
        "DALAM PERJALANAN": "sedang ditangani, petugas kami dalam perjalanan ke lokasi Anda",
        "DIKERJAKAN": "sedang dikerjakan oleh petugas kami di lokasi",
        "NYALA": "sudah selesai ditangani dan listrik sudah menyala kembali",
        "SELESAI": "sudah selesai ditangani",
        "BATAL": "sudah ditutup",
    }
)
#: For a status with no wording of its own.
PLAIN_DEFAULT = "sedang dalam proses penanganan"


def status_kind(status: str) -> str:
    """``ctt_petugas``, ``ctt_token`` or ``lainnya`` for an APKT status text."""
    text = " ".join(status.upper().split())
    if text.startswith(CTT_VISIT):
        return KIND_CTT_VISIT
    if text.startswith(CTT_TOKEN):
        return KIND_CTT_TOKEN
    return KIND_OTHER


def plain_status(status: str) -> str:
    """The status in plain Indonesian, to follow "Laporan Anda "."""
    return PLAIN.get(" ".join(status.upper().split()), PLAIN_DEFAULT)
