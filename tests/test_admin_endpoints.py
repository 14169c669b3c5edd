"""The sidecar's own endpoints, answered from plain values (no proxy), with a real outbox."""

from __future__ import annotations

import asyncio
import json

import pytest

from conftest import sidecar_config
from pixelscleared.admin.access import AdminAccess
from pixelscleared.admin.endpoints import OwnEndpoints
from pixelscleared.config import parse_config
from pixelscleared.event import RequestFacts
from pixelscleared.outbox import EventsQuery
from pixelscleared.pipeline import Pipeline

CONSENT = "cookieyes-consent=consent:yes,advertisement:yes"


@pytest.fixture
async def endpoints(tmp_path):
    cfg = parse_config(sidecar_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2",
                                      admin={"token": "admin-token-123"}),
                       env={"TEST_TIKTOK_TOKEN": "test-token-abcdef"})
    pipeline = Pipeline(cfg)
    await pipeline.outbox.open()
    writer = asyncio.create_task(pipeline.outbox.run_writer())  # collect answers once on disk
    yield OwnEndpoints(pipeline, AdminAccess(cfg.admin))
    writer.cancel()
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


async def test_a_collect_call_is_all_or_nothing(endpoints, monkeypatch):
    """An event that fails anywhere in the chain fails its whole call, before any row is queued:
    a client that retries the call creates no duplicates."""
    calls = []
    real = endpoints.pipeline._decide_one

    def fails_on_the_second(event, verdict, facts):
        calls.append(event.event_id)
        if len(calls) == 2:
            raise RuntimeError("a bug in one stage")
        return real(event, verdict, facts)

    monkeypatch.setattr(endpoints.pipeline, "_decide_one", fails_on_the_second)
    batch = [{"event": "PageView", "event_id": f"b{i}"} for i in range(3)]
    with pytest.raises(RuntimeError):  # the proxy glue answers it 500, never 204
        await endpoints.reply("collect", "POST", {}, json.dumps(batch).encode(), facts(cookie=CONSENT))
    await endpoints.pipeline.outbox.flush()
    assert await endpoints.pipeline.outbox.counts() == {}  # nothing half-written


async def test_a_400_digit_number_is_dropped_not_a_crash(endpoints):
    body = json.dumps([{"event": "PageView", "event_id": "n1"},
                       {"event": "PageView", "event_id": "n2", "properties": {"value": 10**400, "currency": "EUR"}}])
    reply = await endpoints.reply("collect", "POST", {}, body.encode(), facts(cookie=CONSENT))
    assert reply.status == 204
    rows, _ = await endpoints.pipeline.events(EventsQuery(event_id="n2"))
    assert rows[0]["payload"]["properties"] == {"currency": "EUR"}


@pytest.mark.parametrize("peer, headers, status", [
    # through the trusted proxy (on loopback): the network rule would admit anyone behind it
    ("127.0.0.1", {"x-forwarded-for": "127.0.0.1"}, 403),
    ("127.0.0.1", {"x-forwarded-for": "203.0.113.9"}, 403),
    ("127.0.0.1", {"authorization": "Bearer admin-token-123"}, 200),
    # not through it: loopback as before
    ("::1", {}, 200),
    # a header that is not UTF-8 (mitmproxy hands it over with surrogates) is a refusal, not a crash
    ("203.0.113.9", {"authorization": "Bearer \udcff\udcfe"}, 403),
    ("203.0.113.9", {"authorization": "Bearer tök"}, 403),
])
async def test_admin_behind_a_trusted_proxy_needs_the_token(tmp_path, peer, headers, status):
    cfg = parse_config(sidecar_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2",
                                      admin={"token": "admin-token-123"},
                                      identity={"trusted_proxies": ["127.0.0.1/32"]}),
                       env={"TEST_TIKTOK_TOKEN": "test-token-abcdef"})
    endpoints = OwnEndpoints(Pipeline(cfg), AdminAccess(cfg.admin))
    reply = await endpoints.reply("metrics", "GET", {}, b"", RequestFacts(peer_ip=peer, headers=headers))
    assert reply.status == status
