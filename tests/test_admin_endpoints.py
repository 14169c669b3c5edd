"""The sidecar's own endpoints, answered from plain values (no proxy), with a real outbox."""

from __future__ import annotations

import json

import pytest

from conftest import sidecar_config
from pixelscleared.admin.access import AdminAccess
from pixelscleared.admin.endpoints import OwnEndpoints
from pixelscleared.config import parse_config
from pixelscleared.event import RequestFacts
from pixelscleared.pipeline import Pipeline

CONSENT = "cookieyes-consent=consent:yes,advertisement:yes"


@pytest.fixture
async def endpoints(tmp_path):
    cfg = parse_config(sidecar_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2",
                                      admin={"token": "admin-token-123"}),
                       env={"TEST_TIKTOK_TOKEN": "test-token-abcdef"})
    pipeline = Pipeline(cfg)
    await pipeline.outbox.open()
    yield OwnEndpoints(pipeline, AdminAccess(cfg.admin))
    await pipeline.outbox.close()


def facts(peer: str = "127.0.0.1", **headers: str) -> RequestFacts:
    return RequestFacts(peer_ip=peer, headers={k.replace("_", "-"): v for k, v in headers.items()},
                        cookie_header=headers.get("cookie", ""))


@pytest.mark.parametrize("name, method, peer, auth, status", [
    ("health", "GET", "203.0.113.9", "", 200),
    ("nope", "GET", "127.0.0.1", "", 404),
    ("collect", "GET", "127.0.0.1", "", 405),
    ("collect", "OPTIONS", "203.0.113.9", "", 204),
    ("metrics", "GET", "127.0.0.1", "", 200),
    ("metrics", "GET", "::ffff:127.0.0.1", "", 200),
    ("metrics", "GET", "203.0.113.9", "", 403),
    ("metrics", "GET", "203.0.113.9", "Bearer wrong-token", 403),
    ("metrics", "GET", "203.0.113.9", "Bearer admin-token-123", 200),
    ("events", "GET", "203.0.113.9", "", 403),
    ("events.html", "GET", "127.0.0.1", "", 200),
    ("events.html", "GET", "", "", 403),                   # no peer address: not an allowed network
])
async def test_routing_and_access(endpoints, name, method, peer, auth, status):
    reply = await endpoints.reply(name, method, {}, b"", facts(peer, authorization=auth) if auth else facts(peer))
    assert reply.status == status


async def test_collect_accepts_and_says_what_became_of_each_event(endpoints):
    body = json.dumps({"event": "PageView", "event_id": "ep-1", "properties": {"email": "jane@example.com"}})
    reply = await endpoints.reply("collect", "POST", {}, body.encode(), facts(cookie=CONSENT))
    assert (reply.status, reply.body) == (204, b"")
    [acc] = reply.accepted
    assert (acc.event_id, acc.event, acc.verdict) == ("ep-1", "Pageview", "granted")
    assert acc.pixels == {"CKTESTPIXEL000000001": "queued"}
    assert {"path": "properties.email", "kind": "email"} in acc.removed
    await endpoints.pipeline.outbox.flush()
    events = await endpoints.reply("events", "GET", {"event_id": "ep-1"}, b"", facts())
    doc = json.loads(events.body)
    assert [e["event_id"] for e in doc["events"]] == ["ep-1"] and doc["counts"] == {"queued": 1}
    assert "jane" not in events.body.decode()


@pytest.mark.parametrize("body, error", [
    (b"{", "body: not JSON"),
    (b'{"event": "PageView", "propeties": {}}', "unknown key 'propeties'"),
    (b"[]", "no events"),
])
async def test_a_collect_call_that_cannot_be_read_is_a_400_and_counted(endpoints, body, error):
    reply = await endpoints.reply("collect", "POST", {}, body, facts())
    assert reply.status == 400 and error in json.loads(reply.body)["error"] and reply.accepted is None
    assert endpoints.pipeline.metrics.dropped.labels("bad_collect_call")._value.get() == 1


@pytest.mark.parametrize("query, error", [
    ({"status": "bogus"}, "status must be one of"),
    ({"limit": "0"}, "limit must be between 1 and 1000"),
])
async def test_events_filters_are_checked(endpoints, query, error):
    reply = await endpoints.reply("events", "GET", query, b"", facts())
    assert reply.status == 400 and error in json.loads(reply.body)["error"]
