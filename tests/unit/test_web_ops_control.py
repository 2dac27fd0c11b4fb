"""The ops page's outage and audit APIs (:mod:`ivr.web.ops_control`) over a real store
file, with the site's clock fixed: declaring (every bad input is a 400 naming its field
and stores nothing), listing with counts, ending, and the audit log's actor."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from ivr.config import AgentSettings, OpsSettings
from ivr.screenpop.hub import PopHub
from ivr.store.calls import connect
from ivr.store.control import control_version, record_outage_event
from ivr.store.pops import PopStore
from ivr.web import auth
from ivr.web.server import OPS as OPS_KEY
from ivr.web.server import OpsSite, make_app

WIB = ZoneInfo("Asia/Jakarta")
#: 2025-03-01 10:00 WIB.
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=WIB).timestamp()
CUSTOMERS = [
    ("111111111111", "UP3 Bulungan", "ULP Kebayoran Baru"),
    ("333333333333", "UP3 Bali Selatan", "ULP Kuta"),
]
AGENTS = {"cso1": AgentSettings(name="Dewi", token=SecretStr("rahasia-cso1-0001"))}
OPS = {
    "lina": OpsSettings(name="Lina", token=SecretStr("ops-rahasia-lina-01")),
    "cso1": OpsSettings(name="Dewi", token=SecretStr("rahasia-cso1-0001")),
}
GOOD: dict[str, Any] = {
    "units": ["up3 bulungan", "ULP Kuta"],
    "area_codes": ["021"],
    "message": "Gangguan penyulang, petugas sedang menuju lokasi.",
    "until": "2025-03-01 15:00",
    "tz": "WIB",
    "report": "g9925030100001",
}

Client = TestClient[web.Request, web.Application]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "calls.sqlite3"
    store = PopStore(path)  # creates and migrates the file, as the serving IVR does
    store.close()
    conn = connect(path)
    conn.executemany(
        "INSERT INTO customers (idpel, name, unit, posko) VALUES (?, 'Pelanggan', ?, ?)", CUSTOMERS
    )
    conn.close()
    return path


@pytest.fixture
async def client(db: Path) -> AsyncIterator[Client]:
    store = PopStore(db)
    hub = PopHub(store, AGENTS, "Asia/Jakarta")
    site = OpsSite(users=OPS, db_path=db, clock=Clock())
    app = make_app(hub, AGENTS, lambda: {"ami": False}, site)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    await hub.close()
    store.close()


def clock_of(client: Client) -> Clock:
    assert client.app is not None
    clock = client.app[OPS_KEY].clock
    assert isinstance(clock, Clock)
    return clock


async def ops_log_in(
    client: Client, user: str = "lina", token: str = "ops-rahasia-lina-01"
) -> None:
    response = await client.post(
        "/ops/login", data={"user": user, "token": token}, allow_redirects=False
    )
    assert response.headers["Location"] == "/ops"


def rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT * FROM {table}").fetchall()


async def declare(client: Client, **changes: Any) -> Any:
    return await client.post("/ops/api/outages", json={**GOOD, **changes})


async def end(client: Client, outage_id: object, **kwargs: Any) -> Any:
    return await client.post(f"/ops/api/outages/{outage_id}/end", json={}, **kwargs)


async def test_declare_list_end_and_audit(client: Client, db: Path) -> None:
    await ops_log_in(client)
    response = await declare(client)
    assert response.status == 201
    added = await response.json()
    # Spelled as the customer records spell them; the report number in upper case.
    assert added["units"] == ["UP3 Bulungan", "ULP Kuta"]
    assert added["area_codes"] == ["021"]
    assert added["report_number"] == "G9925030100001"
    assert added["starts_at"] == T0
    assert added["until"] == datetime(2025, 3, 1, 15, 0, tzinfo=WIB).timestamp()
    assert added["until_wib"] == "2025-03-01 15:00 WIB"
    assert added["status"] == "active"
    assert added["created_by"] == "ops:lina"
    assert added["counts"] == {"heard": 0, "attached": 0, "cso": 0, "hung_up": 0}

    # A second one, in WITA, and what callers did after hearing the first.
    second = await (await declare(client, units=["ULP Kuta"], until="16:00", tz="WITA")).json()
    assert second["until_wib"] == "2025-03-01 15:00 WIB"
    conn = connect(db)
    for call, event in (("c1", "heard"), ("c2", "heard"), ("c1", "attached")):
        record_outage_event(conn, added["id"], call, event, T0 + 60)
    conn.close()

    listed = await (await client.get("/ops/api/outages")).json()
    assert listed["now"] == T0
    assert [o["id"] for o in listed["outages"]] == [second["id"], added["id"]]  # newest first
    assert listed["outages"][1]["counts"] == {"heard": 2, "attached": 1, "cso": 0, "hung_up": 0}

    clock_of(client).now = T0 + 3600
    response = await end(client, added["id"])
    assert response.status == 200
    ended = await response.json()
    assert (ended["status"], ended["ended_by"]) == ("ended", "ops:lina")
    assert ended["ended_at_wib"] == "2025-03-01 11:00 WIB"
    listed = await (await client.get("/ops/api/outages")).json()
    statuses = {o["id"]: o["status"] for o in listed["outages"]}
    assert statuses == {second["id"]: "active", added["id"]: "ended"}

    audit = (await (await client.get("/ops/api/audit")).json())["entries"]
    assert [(e["action"], e["subject"], e["actor"]) for e in audit] == [
        ("outage.end", f"outage:{added['id']}", "ops:lina"),
        ("outage.add", f"outage:{second['id']}", "ops:lina"),
        ("outage.add", f"outage:{added['id']}", "ops:lina"),
    ]
    assert audit[0]["at_wib"] == "2025-03-01 11:00 WIB"
    assert audit[0]["changes"] == [
        {"field": "ended_at", "before": None, "after": "2025-03-01 11:00 WIB"},
        {"field": "ended_by", "before": "", "after": "ops:lina"},
    ]
    assert audit[2]["before"] is None and audit[2]["changes"] == []
    assert audit[2]["record"]["until"] == "2025-03-01 15:00 WIB"
    assert audit[2]["after"]["units"] == ["UP3 Bulungan", "ULP Kuta"]
    limited = (await (await client.get("/ops/api/audit", params={"limit": "1"})).json())["entries"]
    assert [e["action"] for e in limited] == ["outage.end"]


async def test_the_units_the_form_suggests(client: Client) -> None:
    await ops_log_in(client)
    units = await (await client.get("/ops/api/units")).json()
    assert units == {
        "units": ["ULP Kebayoran Baru", "ULP Kuta", "UP3 Bali Selatan", "UP3 Bulungan"]
    }


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"units": []}, "units", "at least one unit"),
        ({"units": ["UP3 Antah Berantah"]}, "units", "closest known"),
        ({"units": "UP3 Bulungan"}, "units", "list of strings"),
        ({"units": ["UP3 Bulungan", 7]}, "units", "list of strings"),
        ({"area_codes": ["21a"]}, "area_codes", "not an area code"),
        ({"area_codes": "021"}, "area_codes", "list of strings"),
        ({"message": "   "}, "message", "empty"),
        ({"message": "x" * 501}, "message", "shorten it to 500"),
        ({"message": None}, "message", "must be a string"),
        ({"report": "G99-2503"}, "report", "not a report number"),
        ({"until": ""}, "until", "is not a time"),
        ({"until": "besok"}, "until", "is not a time"),
        ({"until": "2025-03-01"}, "until", "no time of day"),
        ({"until": "2025-03-01 09:00"}, "until", "not in the future"),
        ({"until": "25:00"}, "until", "not a time of day"),
        ({"tz": "CET"}, "tz", "WIB, WITA or WIT"),
    ],
)
async def test_bad_input_is_refused_and_nothing_stored(
    client: Client, db: Path, changes: dict[str, Any], field: str, words: str
) -> None:
    await ops_log_in(client)
    response = await declare(client, **changes)
    assert response.status == 400
    body = await response.json()
    assert body["field"] == field
    assert words in body["error"]
    assert rows(db, "outages") == [] and rows(db, "audit") == []
    conn = connect(db)
    assert control_version(conn) == 0
    conn.close()


async def test_a_body_that_is_no_json_object(client: Client, db: Path) -> None:
    await ops_log_in(client)
    for body in ("[1, 2]", "{not json"):
        response = await client.post(
            "/ops/api/outages", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, body
        assert (await response.json())["field"] == ""
    assert rows(db, "outages") == []


async def test_ending_twice_or_after_expiry_or_unknown(client: Client, db: Path) -> None:
    await ops_log_in(client)
    first = await (await declare(client)).json()
    assert (await end(client, first["id"])).status == 200
    again = await end(client, first["id"])
    assert again.status == 400
    assert (await again.json())["error"] == (
        f"outage {first['id']} was already ended at 2025-03-01 10:00 WIB by ops:lina"
    )
    second = await (await declare(client)).json()
    clock_of(client).now = datetime(2025, 3, 1, 15, 0, tzinfo=WIB).timestamp()
    listed = (await (await client.get("/ops/api/outages")).json())["outages"]
    assert listed[0]["status"] == "expired"
    expired = await end(client, second["id"])
    assert expired.status == 400
    assert "already expired at 2025-03-01 15:00 WIB" in (await expired.json())["error"]
    missing = await end(client, 999)
    assert missing.status == 404
    assert (await missing.json())["error"] == "there is no outage 999"
    assert (await end(client, "abc")).status == 404
    assert [row[3] for row in rows(db, "audit")] == ["outage.add", "outage.end", "outage.add"]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "x", ""])
async def test_audit_refuses_a_bad_limit(client: Client, limit: str) -> None:
    await ops_log_in(client)
    response = await client.get("/ops/api/audit", params={"limit": limit})
    assert response.status == 400
    assert (await response.json())["field"] == "limit"


async def test_an_agent_cannot_use_them(client: Client, db: Path) -> None:
    response = await client.post(
        "/login", data={"agent": "cso1", "token": "rahasia-cso1-0001"}, allow_redirects=False
    )
    assert response.headers["Location"] == "/agent"
    forged = {auth.OPS_COOKIE: response.cookies[auth.COOKIE].value}
    for cookies in ({}, forged):  # the agent's own cookie; its value as an ops cookie
        for api in ("/ops/api/outages", "/ops/api/audit", "/ops/api/units"):
            assert (await client.get(api, cookies=cookies)).status == 401, api
        response = await client.post("/ops/api/outages", json=GOOD, cookies=cookies)
        assert response.status == 401
        assert await response.json() == {"error": "login"}
        assert (await end(client, 1, cookies=cookies)).status == 401
    assert rows(db, "outages") == [] and rows(db, "audit") == []


async def test_changes_only_from_the_page_and_as_json(client: Client, db: Path) -> None:
    await ops_log_in(client)
    other_site = await client.post(
        "/ops/api/outages", json=GOOD, headers={"Origin": "http://evil.example"}
    )
    assert other_site.status == 403
    form = await client.post("/ops/api/outages", data={"units": "UP3 Bulungan"})
    assert form.status == 403  # a plain form post (what another site could send)
    assert rows(db, "outages") == []
    added = await (await declare(client)).json()
    elsewhere = await end(client, added["id"], headers={"Origin": "http://evil.example"})
    assert elsewhere.status == 403
    no_json = await client.post(f"/ops/api/outages/{added['id']}/end")
    assert no_json.status == 403
    assert rows(db, "outages")[0][8] is None  # not ended
    own = await end(client, added["id"], headers={"Origin": f"http://{client.host}:{client.port}"})
    assert own.status == 200


async def test_no_store_yet(tmp_path: Path) -> None:
    store = PopStore(tmp_path / "pops.sqlite3")
    hub = PopHub(store, AGENTS, "Asia/Jakarta")
    site = OpsSite(users=OPS, db_path=tmp_path / "missing.sqlite3")
    app = make_app(hub, AGENTS, lambda: {"ami": False}, site)
    async with TestClient(TestServer(app)) as client:
        await ops_log_in(client)
        assert (await client.get("/ops/api/outages")).status == 503
        assert (await declare(client)).status == 503
    await hub.close()
    store.close()
