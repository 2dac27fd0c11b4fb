"""Named actions a flow's ``action`` node may run.

The registry is one explicit dict: an action exists because it is listed here, not
because some module was imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.actions import announcement, callbacks, mobile, outage, pln, power
from ivr.engine.context import Action, CallContext
from ivr.prompts.catalogue import fill


async def set_variables(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Set call variables from the node's ``args`` (values may use ``{variables}``)."""
    for name, value in args.items():
        ctx.variables[str(name)] = fill(str(value), ctx.variables)
    return "ok"


ACTIONS: dict[str, Action] = {
    "set": set_variables,
    "penelepon.kenali": pln.identify_caller,
    "pelanggan.cari": pln.find_customer,
    "laporan.cari_terbuka": pln.find_open_report,
    "laporan.buat": pln.create_report,
    "laporan.status": pln.report_status,
    "apkt.issue_closed": pln.close_issue,
    "gangguan.cek": outage.check,
    "gangguan.dengar": outage.heard,
    "gangguan.lampirkan": outage.attach,
    "pengumuman.cek": announcement.check,
    "panggilan_balik.simpan": callbacks.request_callback,
    "pln_mobile.topik": mobile.choose_topic,
    "pln_mobile.biaya_admin": mobile.admin_fee,
    "itsm.cari": mobile.find_ticket,
    "itsm.buat": mobile.create_ticket,
    "itsm.catat_ulang": mobile.note_reported_again,
    "tambah_daya.tunggakan": power.check_arrears,
    "tambah_daya.cek_daya": power.check_target_power,
    "tambah_daya.cek_ap2t": power.check_ap2t,
    "tambah_daya.biaya": power.compute_costs,
    "tambah_daya.daftar": power.register,
    "tambah_daya.keakraban": power.intimacy,
}
