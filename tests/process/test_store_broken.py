"""``pln123 serve`` on a store file that is not a database: the process stays up,
``/healthz`` says degraded and why, and a call goes straight to a CSO queue."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from ivr.tools.sandbox import free_port
from ivr.tools.testing.fake_asterisk import CallScript, place_call
from tests.flows.test_store_failing import saved_writes
from tests.process.test_serve import project, serve

__all__ = ["project"]  # the fixture, shared


def health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        data: dict[str, object] = json.loads(response.read())
        return data


async def test_a_corrupt_store_degrades_the_ivr_instead_of_stopping_it(project: Path) -> None:
    (project / "calls.sqlite3").write_bytes(b"\x00garbage, not a database\xff" * 1000)
    agi_port, web_port = free_port(), free_port()
    process = serve(project, agi_port, PLN123_WEB__PORT=str(web_port))
    try:
        process.wait_for_log("cannot be written")
        state = await asyncio.to_thread(health, web_port)
        assert state["status"] == "degraded"
        store = state["store"]
        assert isinstance(store, dict) and store["ok"] is False
        assert "not a database" in str(store["reason"])
        record = await place_call("127.0.0.1", agi_port, CallScript(keys=""))
        assert record.variables.get("PLN123_QUEUE"), "the caller goes to a CSO queue"
        assert process.proc.poll() is None, "the IVR process stays up"
    finally:
        process.stop()
    assert saved_writes(project), "the call's record is saved beside the broken file"
