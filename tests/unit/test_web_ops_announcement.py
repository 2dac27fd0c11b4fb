"""The ops page's announcement APIs (:mod:`ivr.web.ops_announcement`) over a real store
file with the site's clock fixed: set (replacing the one in force), show, end, each in
the audit log; bad input is a 400 naming its field with nothing stored; agents and other
sites are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ivr.store.calls import connect
from ivr.store.control import control_version
from ivr.web import auth
from tests.unit import test_web_ops_control as control
from tests.unit.test_web_ops_control import T0, WIB, Client, clock_of, ops_log_in, rows

#: The outage APIs' fixtures: the store file with customers, and the app over it with
#: the clock fixed at T0.
db = control.db
client = control.client

FLOOD = "Sehubungan dengan banjir di wilayah Jakarta Timur, petugas kami siaga."
GOOD: dict[str, Any] = {"message": FLOOD, "until": "2025-03-01 15:00", "tz": "WIB"}


async def post_set(client: Client, **changes: Any) -> Any:
    return await client.post("/ops/api/announcement", json={**GOOD, **changes})


async def post_end(client: Client, **kwargs: Any) -> Any:
    return await client.post("/ops/api/announcement/end", json={}, **kwargs)


async def test_set_show_replace_end_and_audit(client: Client, db: Any) -> None:
    await ops_log_in(client)
    shown = await (await client.get("/ops/api/announcement")).json()
    assert shown == {"now": T0, "active": None, "recent": []}

    response = await post_set(client)
    assert response.status == 201
    first = await response.json()
    assert (first["message"], first["status"], first["created_by"]) == (FLOOD, "active", "ops:lina")
    assert first["until"] == datetime(2025, 3, 1, 15, 0, tzinfo=WIB).timestamp()
    assert first["until_wib"] == "2025-03-01 15:00 WIB"
    shown = await (await client.get("/ops/api/announcement")).json()
    assert shown["active"]["id"] == first["id"]

    clock_of(client).now = T0 + 600
    second = await (await post_set(client, message="Kedua", until="16:00", tz="WITA")).json()
    assert second["until_wib"] == "2025-03-01 15:00 WIB"
    shown = await (await client.get("/ops/api/announcement")).json()
    assert shown["active"]["id"] == second["id"]
    assert [(a["id"], a["status"]) for a in shown["recent"]] == [
        (second["id"], "active"),
        (first["id"], "ended"),
    ]
    assert shown["recent"][1]["ended_at_wib"] == "2025-03-01 10:10 WIB"

    response = await post_end(client)
    assert response.status == 200
    ended = await response.json()
    assert (ended["id"], ended["status"], ended["ended_by"]) == (second["id"], "ended", "ops:lina")
    assert (await (await client.get("/ops/api/announcement")).json())["active"] is None

    audit = (await (await client.get("/ops/api/audit")).json())["entries"]
    assert [(e["action"], e["subject"], e["actor"]) for e in audit] == [
        ("announcement.end", f"announcement:{second['id']}", "ops:lina"),
        ("announcement.set", f"announcement:{second['id']}", "ops:lina"),
        ("announcement.end", f"announcement:{first['id']}", "ops:lina"),
        ("announcement.set", f"announcement:{first['id']}", "ops:lina"),
    ]
    assert audit[0]["changes"] == [
        {"field": "ended_at", "before": None, "after": "2025-03-01 10:10 WIB"},
        {"field": "ended_by", "before": "", "after": "ops:lina"},
    ]
    assert audit[3]["record"]["message"] == FLOOD


async def test_ending_when_none_is_in_force(client: Client, db: Any) -> None:
    await ops_log_in(client)
    response = await post_end(client)
    assert response.status == 400
    assert await response.json() == {"error": "no announcement is in force", "field": ""}
    await post_set(client, until="10:30")
    clock_of(client).now = T0 + 1800  # its end passed: nothing to end
    assert (await post_end(client)).status == 400
    assert [row[3] for row in rows(db, "audit")] == ["announcement.set"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"message": "   "}, "message", "empty"),
        ({"message": "x" * 501}, "message", "shorten it to 500"),
        ({"message": None}, "message", "must be a string"),
        ({"until": ""}, "until", "is not a time"),
        ({"until": "besok"}, "until", "is not a time"),
        ({"until": "2025-03-01 09:00"}, "until", "not in the future"),
        ({"until": "25:00"}, "until", "not a time of day"),
        ({"until": 15}, "until", "must be a string"),
        ({"tz": "CET"}, "tz", "WIB, WITA or WIT"),
    ],
)
async def test_bad_input_is_refused_and_nothing_stored(
    client: Client, db: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    await ops_log_in(client)
    response = await post_set(client, **changes)
    assert response.status == 400
    body = await response.json()
    assert body["field"] == field
    assert words in body["error"]
    assert rows(db, "announcements") == [] and rows(db, "audit") == []
    conn = connect(db)
    assert control_version(conn) == 0
    conn.close()


async def test_a_body_that_is_no_json_object(client: Client, db: Any) -> None:
    await ops_log_in(client)
    for body in ("[1, 2]", "{not json"):
        response = await client.post(
            "/ops/api/announcement", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, body
        assert (await response.json())["field"] == ""
    assert rows(db, "announcements") == []


async def test_an_agent_cannot_use_them(client: Client, db: Any) -> None:
    response = await client.post(
        "/login", data={"agent": "cso1", "token": "rahasia-cso1-0001"}, allow_redirects=False
    )
    assert response.headers["Location"] == "/agent"
    forged = {auth.OPS_COOKIE: response.cookies[auth.COOKIE].value}
    for cookies in ({}, forged):  # the agent's own cookie; its value as an ops cookie
        assert (await client.get("/ops/api/announcement", cookies=cookies)).status == 401
        response = await client.post("/ops/api/announcement", json=GOOD, cookies=cookies)
        assert response.status == 401
        assert await response.json() == {"error": "login"}
        assert (await post_end(client, cookies=cookies)).status == 401
    assert rows(db, "announcements") == [] and rows(db, "audit") == []


async def test_changes_only_from_the_page_and_as_json(client: Client, db: Any) -> None:
    await ops_log_in(client)
    evil = {"Origin": "http://evil.example"}
    assert (await client.post("/ops/api/announcement", json=GOOD, headers=evil)).status == 403
    form = await client.post("/ops/api/announcement", data={"message": FLOOD, "until": "15:00"})
    assert form.status == 403  # a plain form post (what another site could send)
    assert rows(db, "announcements") == []
    assert (await post_set(client)).status == 201
    assert (await post_end(client, headers=evil)).status == 403
    assert (await client.post("/ops/api/announcement/end")).status == 403
    assert rows(db, "announcements")[0][5] is None  # not ended
    own = await post_end(client, headers={"Origin": f"http://{client.host}:{client.port}"})
    assert own.status == 200
