"""Tambah daya (power change up to 197 kVA, SOP 08.PST.PPL.190720.01): which requests
the IVR may take, what they cost, how long they take, who the caller is to them.

The rates and rules are data (``flows/data/tarif_tambah_daya.yaml``, validated by
:class:`TariffTable`), so ops keep them in step with AP2T without touching Python.
"""

from __future__ import annotations

import re
from dataclasses import asdict, astuple, dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

#: The table's name under ``flows/data``.
TABLE = "tarif_tambah_daya"

#: A 16-digit NIK: region (6), birth day (01-31, plus 40 for women), month, year, and a
#: sequence that is never 0000.
NIK = re.compile(r"\d{6}(0[1-9]|[12]\d|3[01]|4[1-9]|[56]\d|7[01])(0[1-9]|1[0-2])\d{2}(?!0000)\d{4}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeeBand(_Strict):
    """Biaya penyambungan up to a power: a fixed sum or a rate per VA."""

    sampai: PositiveInt
    tetap: NonNegativeInt | None = None
    per_va: NonNegativeInt | None = None

    @model_validator(mode="after")
    def _one_way(self) -> FeeBand:
        if (self.tetap is None) == (self.per_va is None):
            raise ValueError("give either tetap (a fixed sum) or per_va, not both")
        return self

    def fee(self, power_va: int) -> int:
        """The connection fee of ``power_va`` in this band."""
        return self.tetap if self.tetap is not None else power_va * (self.per_va or 0)


class TariffBand(_Strict):
    """The tariff code of a group's powers up to ``sampai``."""

    sampai: PositiveInt
    kode: str = Field(min_length=1)


class TariffGroup(_Strict):
    """A tariff group (R, B, I): what its power is used for, its tariff bands."""

    peruntukan: str
    rumah_tangga: bool = False
    tarif: list[TariffBand] = Field(min_length=1)


class CsoRule(_Strict):
    """A request a CSO handles under its own SOP."""

    golongan: list[str] = Field(min_length=1)
    #: Which power the range applies to: the present one or the one asked for.
    daya: Literal["asal", "tujuan"]
    dari: PositiveInt
    sampai: PositiveInt
    sop: str


class StroomRange(_Strict):
    minimal: PositiveInt
    maksimal: PositiveInt


class SlaDays(_Strict):
    tanpa_perubahan_fasa: PositiveInt
    sr: PositiveInt
    jtr: PositiveInt
    jtm: PositiveInt


class TariffTable(_Strict):
    """``flows/data/tarif_tambah_daya.yaml``."""

    sumber: dict[str, str] = Field(min_length=1)
    daya_standar: list[PositiveInt] = Field(min_length=2)
    satu_fasa_sampai: PositiveInt
    biaya_penyambungan: list[FeeBand] = Field(min_length=1)
    meterai: NonNegativeInt
    stroom_awal: StroomRange
    ppj_persen: float = Field(ge=0, le=100)
    ppn_persen: float = Field(ge=0, le=100)
    ppn_bebas_rumah_tangga_sampai: NonNegativeInt
    golongan: dict[str, TariffGroup] = Field(min_length=1)
    ke_cso: list[CsoRule] = Field(default_factory=list)
    kecepatan_hari: SlaDays

    @model_validator(mode="after")
    def _ordered(self) -> TariffTable:
        if self.daya_standar != sorted(set(self.daya_standar)):
            raise ValueError("daya_standar: list each power once, smallest first")
        for name, bands in [("biaya_penyambungan", self.biaya_penyambungan)] + [
            (f"golongan.{key}.tarif", group.tarif) for key, group in self.golongan.items()
        ]:
            limits = [band.sampai for band in bands]
            if limits != sorted(set(limits)) or limits[-1] < self.daya_standar[-1]:
                raise ValueError(
                    f"{name}: bands must rise and the last must reach {self.daya_standar[-1]}"
                )
        return self

    @property
    def largest(self) -> int:
        return self.daya_standar[-1]

    def connection_fee(self, power_va: int) -> int:
        """Biaya penyambungan of a new connection of ``power_va``."""
        band = next(b for b in self.biaya_penyambungan if power_va <= b.sampai)
        return band.fee(power_va)

    def group_of(self, tariff: str) -> tuple[str, TariffGroup] | None:
        """The group of a tariff code (``R1M`` is in ``R``), longest key first."""
        for key in sorted(self.golongan, key=len, reverse=True):
            if tariff.upper().startswith(key.upper()):
                return key, self.golongan[key]
        return None


@dataclass(frozen=True)
class Costs:
    """What the caller pays, by the SOP's parts (step 9)."""

    biaya_penyambungan: int
    meterai: int
    stroom_awal: int
    ppj: int
    ppn: int

    @property
    def total(self) -> int:
        return sum(astuple(self))

    def as_dict(self) -> dict[str, int]:
        """Each part by name, and the ``total``."""
        return asdict(self) | {"total": self.total}


@dataclass(frozen=True)
class Decision:
    """What the IVR does with a requested power.

    ``kind``: ``layak`` (the IVR takes it), ``bukan_standar`` (not one of PLN's levels or
    above the largest), ``tidak_naik`` (not above the present power), ``ke_cso`` (a CSO
    handles it under ``sop``) or ``golongan_lain`` (a tariff group this line does not
    price: social, public ...).
    """

    kind: str
    target_tariff: str = ""
    sop: str = ""


def decide(table: TariffTable, tariff: str, current_va: int, target_va: int) -> Decision:
    """The SOP's step 5 for a customer on ``tariff``/``current_va`` asking for
    ``target_va``."""
    if target_va not in table.daya_standar:
        return Decision("bukan_standar")
    if target_va <= current_va:
        return Decision("tidak_naik")
    found = table.group_of(tariff)
    if found is None:
        return Decision("golongan_lain", sop="golongan tarif " + (tariff or "tidak diketahui"))
    key, group = found
    target_tariff = next(band.kode for band in group.tarif if target_va <= band.sampai)
    for rule in table.ke_cso:
        power = current_va if rule.daya == "asal" else target_va
        if key in rule.golongan and rule.dari <= power <= rule.sampai:
            return Decision("ke_cso", target_tariff, rule.sop)
    return Decision("layak", target_tariff)


def costs(
    table: TariffTable, tariff: str, current_va: int, target_va: int, stroom_awal: int
) -> Costs:
    """The cost parts of changing ``current_va`` to ``target_va``: the difference of the
    two connection fees, the meterai, and the first token with its taxes (PPJ always,
    PPN unless a household up to the exempt power)."""
    fee = max(0, table.connection_fee(target_va) - table.connection_fee(current_va))
    found = table.group_of(tariff)
    household = found is not None and found[1].rumah_tangga
    ppn_exempt = household and target_va <= table.ppn_bebas_rumah_tangga_sampai
    return Costs(
        biaya_penyambungan=fee,
        meterai=table.meterai,
        stroom_awal=stroom_awal,
        ppj=round(stroom_awal * table.ppj_persen / 100),
        ppn=0 if ppn_exempt else round(stroom_awal * table.ppn_persen / 100),
    )


def sla_days(table: TariffTable, current_va: int, target_va: int, network_work: str) -> int:
    """Calendar days at most until the new power (step 10): single phase staying single
    phase is the quick case; otherwise what the network needs (``sr``, ``jtr``, ``jtm``)."""
    days = table.kecepatan_hari
    if current_va <= table.satu_fasa_sampai and target_va <= table.satu_fasa_sampai:
        return days.tanpa_perubahan_fasa
    return {"sr": days.sr, "jtr": days.jtr, "jtm": days.jtm}.get(network_work, days.jtm)


def stroom_in_range(table: TariffTable, rupiah: int) -> bool:
    """Whether a first-token value is one the SOP allows (Rp 5.000 to Rp 1.000.000)."""
    return table.stroom_awal.minimal <= rupiah <= table.stroom_awal.maksimal


def valid_nik(nik: str) -> bool:
    """Whether ``nik`` has the shape of a 16-digit NIK."""
    return NIK.fullmatch(nik) is not None


def intimacy_period(local_hour: int) -> str:
    """The SOP's customer-intimacy line by the caller's local hour (step 22):
    ``beraktifitas`` 07:00-15:00, ``beristirahat`` 19:00-04:00, else ``sehat``."""
    if 7 <= local_hour < 15:
        return "beraktifitas"
    if local_hour >= 19 or local_hour < 4:
        return "beristirahat"
    return "sehat"
