"""The global announcement (*pengumuman*) in the call: is one in force now?

``pengumuman.cek`` sets ``pengumuman_id`` and ``pengumuman_pesan`` (ops' text, spoken at
run time by the prompt ``pengumuman_pesan``, as ``gangguan_pesan`` is for an outage)
and gives ``ada``; ``tidak_ada`` when none is in force or the call has no announcement
port. A failing lookup is the result ``error``: the main flow goes on to the menu, so a
caller never waits on a notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.engine.context import CallContext

ANNOUNCEMENT_ID = "pengumuman_id"
ANNOUNCEMENT_TEXT = "pengumuman_pesan"


async def check(ctx: CallContext, args: Mapping[str, Any]) -> str:
    """Results: ``ada`` (the ``pengumuman_*`` variables set) or ``tidak_ada``."""
    port = ctx.backends.announcements if ctx.backends is not None else None
    if port is None:
        return "tidak_ada"
    announcement = await port.current()
    if announcement is None:
        return "tidak_ada"
    ctx.variables[ANNOUNCEMENT_ID] = str(announcement.id)
    ctx.variables[ANNOUNCEMENT_TEXT] = announcement.message
    return "ada"
