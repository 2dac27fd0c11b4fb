"""The data tables flows' actions read, by name: ``flows/data/<name>.yaml`` must
validate as the model registered here (``pln123 flows check`` says where it does not).

Tables are data an ops person keeps up to date (rates, fees, holidays, queue opening
hours) without touching Python; they load and reload with the flows, so a broken table
is refused with file and line and the server keeps the last good set.
"""

from __future__ import annotations

from pydantic import BaseModel

from ivr.domain import holidays, hours, pln_mobile, tambah_daya

TABLE_MODELS: dict[str, type[BaseModel]] = {
    tambah_daya.TABLE: tambah_daya.TariffTable,
    pln_mobile.TABLE: pln_mobile.AdminFeeTable,
    holidays.TABLE: holidays.HolidayCalendar,
    hours.TABLE: hours.ServiceHoursTable,
}
