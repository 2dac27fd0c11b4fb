"""The ops page's hours and holiday APIs (:mod:`ivr.web.ops_hours`) over a real store
file and the repository's flows, the site's clock fixed: close, set, reset, add and
remove a holiday, each in the audit log as ``ops:<login>``; bad input is a 400 naming
its field with nothing stored; agents and other sites are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.engine.library import LibraryHolder
from ivr.kit import KIT
from ivr.screenpop.hub import PopHub
from ivr.store.calls import connect
from ivr.store.control import control_version
from ivr.store.pops import PopStore
from ivr.web.server import OpsSite, make_app
from tests.support import REPO
from tests.unit.test_web_ops_control import AGENTS, OPS, WIB, Client, Clock, ops_log_in, rows

#: Monday 2026-03-02 10:00 WIB.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=WIB).timestamp()
LIBRARY = LibraryHolder(REPO / "flows", REPO / "audio", KIT)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    db = tmp_path / "calls.sqlite3"
    store = PopStore(db)
    hub = PopHub(store, AGENTS, "Asia/Jakarta")
    clock = Clock()
    clock.now = T0
    site = OpsSite(users=OPS, library=LIBRARY, db_path=db, clock=clock)
    app = make_app(hub, AGENTS, lambda: {"ami": False}, site)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    await hub.close()
    store.close()


def db_of(client: Client) -> Path:
    assert client.app is not None
    from ivr.web.server import OPS as OPS_KEY

    path = client.app[OPS_KEY].db_path
    assert path is not None
    return path


def _version(db: Path) -> int:
    conn = connect(db)
    try:
        return control_version(conn)
    finally:
        conn.close()


def queue(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(q for q in view["queues"] if q["queue"] == name)


async def test_close_set_reset_and_audit(client: Client) -> None:
    await ops_log_in(client)
    view = await (await client.get("/ops/api/hours")).json()
    assert queue(view, "tambah_daya")["open"] is True
    assert view["days"][0] == "senin"
    assert {h["date"][:4] for h in view["holidays"]} == {"2026", "2027"}

    response = await client.post(
        "/ops/api/hours/tambah_daya/close", json={"until": "13:00", "reason": "rapat"}
    )
    assert response.status == 200
    closed = queue(await response.json(), "tambah_daya")
    assert (closed["open"], closed["reason"]) == (False, "ditutup")
    assert closed["next_opening_wib"] == "2026-03-02 13:00 WIB"
    assert closed["closure"]["created_by"] == "ops:lina"

    response = await client.post(
        "/ops/api/hours/umum", json={"hours": {"sabtu": "08:00-14:00"}, "callback": True}
    )
    assert response.status == 200
    record = queue(await response.json(), "umum")["record"]
    assert (record["sabtu"], record["callback"], record["source"]) == ("08:00-14:00", True, "ops")

    response = await client.post("/ops/api/hours/tambah_daya/reset", json={})
    assert response.status == 200
    assert queue(await response.json(), "tambah_daya")["open"] is True

    audit = (await (await client.get("/ops/api/audit")).json())["entries"]
    assert [(e["action"], e["subject"], e["actor"]) for e in audit] == [
        ("hours.reset", "queue:tambah_daya", "ops:lina"),
        ("hours.set", "queue:umum", "ops:lina"),
        ("hours.close", "queue:tambah_daya", "ops:lina"),
    ]
    assert {"field": "until", "before": None, "after": "2026-03-02 13:00 WIB"} in audit[2][
        "changes"
    ]


async def test_holidays(client: Client) -> None:
    await ops_log_in(client)
    body = {"date": "2026-04-06", "name": "Cuti bersama tambahan", "kind": "cuti_bersama"}
    response = await client.post("/ops/api/holidays", json=body)
    assert response.status == 201
    view = await response.json()
    assert {**body, "source": "ops"} in view["holidays"]
    response = await client.post("/ops/api/holidays/2027-03-10/remove", json={})
    assert response.status == 200
    view = await response.json()
    assert view["removed"][0]["date"] == "2027-03-10"
    assert all(h["date"] != "2027-03-10" for h in view["holidays"])


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/ops/api/hours/umum", {"hours": {"sabtu": "17:00-08:00"}}, "hours"),
        ("/ops/api/hours/umum", {"hours": {"sunday": "08:00-12:00"}}, "hours"),
        ("/ops/api/hours/umum", {"zone": "UTC"}, "zone"),
        ("/ops/api/hours/umum", {"callback": "ya"}, "callback"),
        ("/ops/api/hours/umum", {"alternative_queue": "tidak_ada"}, "queue"),
        ("/ops/api/hours/antrean_baru/close", {"until": "13:00"}, "queue"),
        ("/ops/api/hours/periksa/close", {"until": "13:00"}, "queue"),
        ("/ops/api/hours/umum/close", {"until": "2020-01-01 10:00"}, "until"),
        ("/ops/api/hours/umum/reset", {}, ""),
        ("/ops/api/holidays", {"date": "2026-03-21", "name": "x", "kind": "cuti_bersama"}, "date"),
        ("/ops/api/holidays", {"date": "2026-04-06", "name": "", "kind": "cuti_bersama"}, "name"),
        ("/ops/api/holidays", {"date": "2026-04-06", "name": "x", "kind": "libur"}, "kind"),
        ("/ops/api/holidays/2026-04-06/remove", {}, "date"),
    ],
)
async def test_bad_input_is_a_400_naming_its_field(
    client: Client, url: str, body: dict[str, Any], field: str
) -> None:
    await ops_log_in(client)
    version = _version(db_of(client))
    response = await client.post(url, json=body)
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert answer["field"] == field and answer["error"]
    assert _version(db_of(client)) == version
    for table in ("queue_schedules", "queue_closures", "holiday_changes", "audit"):
        assert rows(db_of(client), table) == []


async def test_agents_other_sites_and_non_json_are_refused(client: Client) -> None:
    assert (await client.get("/ops/api/hours")).status == 401
    await client.post(
        "/login", data={"agent": "cso1", "token": "rahasia-cso1-0001"}, allow_redirects=False
    )
    assert (await client.post("/ops/api/hours/umum/reset", json={})).status == 401
    await ops_log_in(client)
    other = await client.post(
        "/ops/api/hours/umum/close",
        json={"until": "13:00"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert other.status == 403
    plain = await client.post("/ops/api/hours/umum/close", data="until=13:00")
    assert plain.status == 403
    assert rows(db_of(client), "queue_closures") == []
