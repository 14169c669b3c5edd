from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from conftest import BIN
from pixelscleared.eventslog import Query, fetch, format_line, parse_query, summary
from pixelscleared.metrics import Metrics
from pixelscleared.outbox import Outbox, OutboxRow


@pytest.mark.parametrize("params, expected", [
    ({}, Query()),
    ({"event_id": "e1", "status": "dead", "limit": "5"}, Query("e1", "", "dead", 5)),
    ({"pixel_id": "P"}, Query(pixel_id="P")),
])
def test_parse_query(params, expected):
    assert parse_query(params) == expected


@pytest.mark.parametrize("params, reason", [
    ({"status": "bogus"}, "status must be one of"),
    ({"limit": "x"}, "limit must be a number"),
    ({"limit": "0"}, "limit must be between 1 and 1000"),
])
def test_bad_queries(params, reason):
    with pytest.raises(ValueError, match=reason):
        parse_query(params)


@pytest.fixture
async def db(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite", Metrics())
    await ob.open()
    ob.put(OutboxRow("e1", "P1", "Pageview", "collect", "granted", ["cookieyes:cookieyes-consent"],
                     [{"path": "page.url.query.email", "kind": "email"}], "queued",
                     payload={"event": "Pageview", "event_id": "e1"}))
    ob.put(OutboxRow("e2", "P1", "Contact", "collect", "denied", ["gpc:Sec-GPC"], [], "dropped",
                     reason="consent denied and unconsented: drop"))
    await ob.close()
    return tmp_path / "o.sqlite"


async def test_fetch_filters_and_decodes(db):
    conn = sqlite3.connect(db)
    rows = fetch(conn, Query(status="dropped"))
    assert [r["event_id"] for r in rows] == ["e2"]
    [row] = fetch(conn, Query(event_id="e1"))
    assert row["removed"] == [{"path": "page.url.query.email", "kind": "email"}]
    assert row["payload"]["event_id"] == "e1"
    assert summary(conn) == {"queued": 1, "dropped": 1}
    line = format_line(row)
    assert "queued" in line and "consent=granted[cookieyes:cookieyes-consent]" in line and "removed=email" in line


async def test_events_command(db):
    out = subprocess.run([str(BIN / "pixelscleared"), "events", "--db", str(db), "--json"],
                         capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["event_id"] for r in rows] == ["e1", "e2"]  # oldest first
    r = subprocess.run([str(BIN / "pixelscleared"), "events", "--db", str(db.parent / "missing.sqlite")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no events log at" in r.stderr
