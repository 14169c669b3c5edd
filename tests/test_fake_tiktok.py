"""The TikTok Events API stand-in: strict validation, TikTok's answers, misbehaviour on demand, CLI."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelscleared.deliver import classify
from pixelscleared.fake_tiktok import FAKE_TIKTOK, TRACK_PATH, FakeTikTok, Rejection, make_app, start_fake_tiktok
from pixelscleared.fake_tiktok.schema import MAX_EVENTS, parse_json, validate_request

PIXEL = "CKABCDEFGH1234567890"
TOKEN = "tok-abcdef-0123456789"
OTHER_PIXEL = "CKOTHERPIXEL00000002"
OTHER_TOKEN = "tok-other-9876543210"
HEX = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
ADMIN = "You must be an admin or operator of this advertiser account."
NOW = int(time.time())


def event(**overrides: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "event": "CompletePayment",
        "event_time": NOW - 60,
        "event_id": "evt-1",
        "limited_data_use": False,
        "user": {"ip": HEX, "user_agent": "Mozilla/5.0", "external_id": HEX, "email": HEX, "phone": HEX,
                 "ttclid": "E.C.P.abc", "ttp": "2abc", "locale": "en-US"},
        "page": {"url": "https://shop.example/checkout/done?x=1", "referrer": "https://shop.example/cart"},
        "properties": {"currency": "USD", "value": 42.5, "content_type": "product", "num_items": 1,
                       "content_ids": ["sku-1"], "order_id": "o-1", "shop_id": "s", "search_string": "q",
                       "description": "d",
                       "contents": [{"content_id": "sku-1", "quantity": 1, "price": 42.5, "content_name": "Mug",
                                     "content_category": "kitchen", "brand": "B"}]},
    }
    ev.update(overrides)
    return ev


def body(*events: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"event_source": "web", "event_source_id": PIXEL, "partner_name": "PixelsCleared",
                           "test_event_code": "TEST123", "data": list(events) or [event()]}
    doc.update(top)
    return doc


@pytest.fixture
async def fake() -> AsyncIterator[FakeTikTok]:
    server = await start_fake_tiktok({PIXEL: TOKEN, OTHER_PIXEL: OTHER_TOKEN})
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


async def track(http: aiohttp.ClientSession, fake: FakeTikTok, doc: Any, token: str | None = TOKEN,
                raw: bytes | None = None, content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Access-Token"] = token
    data = raw if raw is not None else json.dumps(doc).encode()
    async with http.post(fake.url + TRACK_PATH, data=data, headers=headers) as r:
        return r.status, await r.json(content_type=None)


# --- accepted requests ------------------------------------------------------------------------

async def test_valid_request_is_accepted_and_listed(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    status, answer = await track(http, fake, body())
    assert status == 200
    assert set(answer) == {"code", "message", "request_id", "data"}
    assert (answer["code"], answer["message"], answer["data"]) == (0, "OK", None)
    assert re.fullmatch(r"\d{14}[0-9A-F]{20}", answer["request_id"])
    [stored] = fake.events
    assert stored["pixel_id"] == PIXEL and stored["event"] == "CompletePayment" and stored["event_id"] == "evt-1"
    assert stored["test_event_code"] == "TEST123" and stored["request_id"] == answer["request_id"]
    assert stored["user"]["external_id"] == HEX and stored["properties"]["value"] == 42.5
    assert stored["page"]["url"].startswith("https://") and stored["limited_data_use"] is False
    assert stored["standard"] is True
    async with http.get(fake.url + "/_fake/events") as r:
        listed = await r.json()
    assert listed["count"] == 1 and listed["events"] == [stored]
    [req] = fake.requests
    assert req["code"] == 0 and req["accepted"] == 1 and req["token_ok"] is True and req["pixel_id"] == PIXEL


@pytest.mark.parametrize("overrides", [
    {"event": "Pageview"}, {"event": "PageView"}, {"event": "Purchase"}, {"event": "SubmitForm"}, {"event": "Lead"},
    {"event": "PlaceAnOrder"}, {"event": "CustomizeProduct"}, {"event": "FindLocation"}, {"event": "Schedule"},
    {"event": "StartTrial"}, {"event": "SubmitApplication"}, {"event": "ApplicationApproval"},
    {"event": "newsletter_signup"}, {"event": "Quote Request.v2"},
    {"user": {"ip": "203.0.113.9"}}, {"user": {"ip": "2001:db8::1"}}, {"user": {}},
    {"user": {"external_id": [HEX, HEX]}}, {"properties": {}}, {"properties": {"value": 0}},
    {"page": {"referrer": "http://a.example/"}},
    # what other vendors send in production
    {"user": {"email": [HEX, HEX], "phone": [HEX], "external_id": [HEX]}},            # Segment: arrays
    {"user": {"first_name": HEX, "last_name": HEX, "city": HEX, "state": HEX, "country": HEX, "zip_code": HEX,
              "locale": "de-DE", "ttclid": "E.C.P.x", "ttp": "abc"}},                # hashed name and address
    {"user": {"email": "", "first_name": "", "zip_code": ""}},                       # Segment: "" when unknown
    {"user": {"email": []}},
    {"page": {"url": "https://shop.example/", "referrer": ""}},                       # a direct visit
    {"properties": {"query": "red shoes", "search_string": "red shoes"}},
    {"properties": {"gtm_version": "2.1.0", "predicted_ltv": 120.5, "delivery_category": "home_delivery"}},
    {"properties": {"contents": [{"content_id": "sku-1", "content_type": "product", "variant": "red"}]}},
    {"properties": {"value": 5}},                                                     # an integer is a number
    {"properties": {"contents": [{"content_id": "a", "price": 3}]}},
    {"limited_data_use": True},
])
async def test_valid_variants_are_accepted(fake: FakeTikTok, http: aiohttp.ClientSession,
                                           overrides: dict[str, Any]) -> None:
    _, answer = await track(http, fake, body(event(**overrides), partner_name="RudderStack"))
    assert answer["code"] == 0, answer
    assert len(fake.events) == 1
    stored = fake.events[0]
    assert [w for w in stored["warnings"] if not w.startswith("partner_name:")] == [], stored["warnings"]


@pytest.mark.parametrize("source, extra", [
    ("crm", {"lead": {"lead_id": "7123456789", "lead_event_source": "HubSpot"}}),
    ("app", {}),
    ("offline", {}),
])
async def test_other_event_sources_are_accepted(fake: FakeTikTok, http: aiohttp.ClientSession, source: str,
                                                extra: dict[str, Any]) -> None:
    _, answer = await track(http, fake, body(event(**extra), event_source=source))
    assert answer["code"] == 0, answer
    assert fake.events[0]["event_source"] == source and fake.events[0]["lead"] == extra.get("lead")


async def test_a_body_without_optional_top_level_fields(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    doc = body()
    del doc["partner_name"], doc["test_event_code"]
    _, answer = await track(http, fake, doc)
    assert answer["code"] == 0 and fake.events[0]["warnings"] == []


async def test_optional_fields_may_be_absent(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    minimal = {"event": "Pageview", "event_time": NOW}
    _, answer = await track(http, fake, {"event_source": "web", "event_source_id": PIXEL, "data": [minimal]})
    assert answer["code"] == 0
    stored = fake.events[0]
    assert (stored["event_id"], stored["user"], stored["test_event_code"]) == (None, {}, None)


async def test_event_filters(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await track(http, fake, body(event(event_id="a"), event(event="Pageview", event_id="b")))
    await track(http, fake, body(event(event_id="c"), event_source_id=OTHER_PIXEL), token=OTHER_TOKEN)
    for query, ids in [("", ["a", "b", "c"]), ("?pixel_id=" + OTHER_PIXEL, ["c"]), ("?event=Pageview", ["b"]),
                       ("?event_id=a", ["a"]), ("?event=Pageview&event_id=a", [])]:
        async with http.get(fake.url + "/_fake/events" + query) as r:
            doc = await r.json()
        assert [e["event_id"] for e in doc["events"]] == ids and doc["count"] == len(ids), query


# --- rejected requests ------------------------------------------------------------------------

def _set(path: str, value: Any):
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[int(last) if last.isdigit() else last] = value
    return mutate


def _del(path: str):
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        del node[last]
    return mutate


BAD = [
    (_set("data.0.properties.contents.0.content_id", 119), "Batch.0.properties.contents.0.content_id: Not a valid string"),
    (_set("data.0.event_id", 12345), "Batch.0.event_id: Not a valid string"),
    (_set("data.0.event_id", ""), "Batch.0.event_id: Must not be empty"),
    (_set("data.0.event_time", "1764028800"), "Batch.0.event_time: Not a valid integer"),
    (_set("data.0.event_time", True), "Batch.0.event_time: Not a valid integer"),
    (_set("data.0.event_time", None), "Batch.0.event_time: Not a valid integer"),
    (_del("data.0.event_time"), "Batch.0.event_time: Missing data for required field"),
    (_del("data.0.event"), "Batch.0.event: Missing data for required field"),
    (_set("data.0.event", ""), "Batch.0.event: Must not be empty"),
    (_set("data.0.event", 5), "Batch.0.event: Not a valid string"),
    (_set("data.0.limited_data_use", "false"), "Batch.0.limited_data_use: Not a valid boolean"),
    (_set("data.0.user.email", 5), "Batch.0.user.email: Not a valid string or list of at most 1000 strings"),
    (_set("data.0.user.external_id", [HEX, 7]), "Batch.0.user.external_id: Not a valid string or list of at most 1000 strings"),
    (_set("data.0.user.external_id", None), "Batch.0.user.external_id: Not a valid string or list of at most 1000 strings"),
    (_set("data.0.user.ip", 16909060), "Batch.0.user.ip: Not a valid string"),
    (_set("data.0.user.first_name", ["x"]), "Batch.0.user.first_name: Not a valid string"),
    (_set("data.0.user", []), "Batch.0.user: Not a valid object"),
    (_set("data.0.page.url", 7), "Batch.0.page.url: Not a valid string"),
    (_set("data.0.properties.value", "99.95"), "Batch.0.properties.value: Not a valid number"),
    (_set("data.0.properties.value", None), "Batch.0.properties.value: Not a valid number"),
    (_set("data.0.properties.currency", 840), "Batch.0.properties.currency: Not a valid string"),
    (_set("data.0.properties.content_ids", ["a", 2]), "Batch.0.properties.content_ids.1: Not a valid string"),
    (_set("data.0.properties.num_items", 1.5), "Batch.0.properties.num_items: Not a valid integer"),
    (_set("data.0.properties.contents.0.quantity", "1"), "Batch.0.properties.contents.0.quantity: Not a valid integer"),
    (_set("data.0.properties.contents.0.price", "9.99"), "Batch.0.properties.contents.0.price: Not a valid number"),
    (_set("data.0.properties.contents", {"content_id": "x"}), "Batch.0.properties.contents: Not a valid list"),
    (_set("data.0.properties.query", 5), "Batch.0.properties.query: Not a valid string"),
    (_set("event_source", "server"), "event_source: Must be one of: web, app, offline or crm"),
    (_del("event_source"), "event_source: Missing data for required field"),
    (_del("event_source_id"), "event_source_id: Missing data for required field"),
    (_set("test_event_code", 5), "test_event_code: Not a valid string"),
    (_set("partner_name", None), "partner_name: Not a valid string"),
    (_set("data", {"event": "Pageview"}), "data: Not a valid list"),
    (_set("data", ["x"]), "Batch.0: Not a valid object"),
]

# Accepted, because TikTok's documentation does not say it refuses them; each gets a warning.
WARNED = [
    (_set("data.0.event", "purchase"), "Batch.0.event: 'purchase' is not a standard name (names are case-sensitive): "
                                       "TikTok takes it as a custom event; the standard one is 'Purchase'"),
    (_set("data.0.event", "<script>"), "Batch.0.event: custom name with characters TikTok's examples never use"),
    (_set("data.0.event_time", NOW - 59.5), "Batch.0.event_time: a float; TikTok documents integer seconds (the fraction may be dropped)"),
    (_set("data.0.event_time", NOW * 1000), "Batch.0.event_time: looks like milliseconds; TikTok wants Unix seconds"),
    (_set("data.0.event_time", NOW + 3 * 86400), "Batch.0.event_time: in the future"),
    (_set("data.0.event_time", NOW - 8 * 86400), "Batch.0.event_time: older than 7 days; TikTok may not attribute it"),
    (_set("data.0.event_id", "x" * 300), "Batch.0.event_id: longer than 256 characters"),
    (_set("data.0.user.email", "alice@example.com"), "Batch.0.user.email: not a SHA-256 hash (64 lower-case hex); TikTok expects it hashed"),
    (_set("data.0.user.phone", HEX.upper()), "Batch.0.user.phone: not a SHA-256 hash (64 lower-case hex); TikTok expects it hashed"),
    (_set("data.0.user.external_id", [HEX, "user_123"]), "Batch.0.user.external_id: not a SHA-256 hash (64 lower-case hex); TikTok expects it hashed"),
    (_set("data.0.user.city", "Berlin"), "Batch.0.user.city: not a SHA-256 hash (64 lower-case hex); TikTok expects it hashed"),
    (_set("data.0.user.ip", "1.2.3.4.5"), "Batch.0.user.ip: neither an IP address nor a SHA-256 hash"),
    (_set("data.0.user.locale", "en US"), "Batch.0.user.locale: not a BCP 47 tag such as en-US"),
    (_set("data.0.user.phone_number", HEX), "Batch.0.user.phone_number: unknown field"),
    (_set("data.0.page.url", "/checkout"), "Batch.0.page.url: not a full http(s) URL"),
    (_set("data.0.page.referrer", "javascript:alert(1)"), "Batch.0.page.referrer: not a full http(s) URL"),
    (_set("data.0.page.title", "x"), "Batch.0.page.title: unknown field"),
    (_set("data.0.properties.value", -1), "Batch.0.properties.value: negative"),
    (_set("data.0.properties.currency", "usd"), "Batch.0.properties.currency: not an ISO 4217 code in upper case (USD, EUR)"),
    (_set("data.0.properties.content_type", "service"), "Batch.0.properties.content_type: TikTok documents product or product_group"),
    (_set("data.0.extra", 1), "Batch.0.extra: unknown field"),
    (_set("data.0.lead", {"lead_id": "1"}), "Batch.0.lead: only CRM events (event_source crm) carry a lead"),
    (_set("context", {}), "context: unknown top-level field"),
    (_set("partner_name", "PixelsCleared"), "partner_name: TikTok checks it against registered partners "
                                           "(40063 INVALID_PARTNER_NAME when not registered); send it only if you are one"),
]


@pytest.mark.parametrize(("mutate", "warning"), WARNED)
async def test_what_tiktok_leaves_open_is_accepted_with_a_warning(fake: FakeTikTok, http: aiohttp.ClientSession,
                                                                  mutate: Any, warning: str) -> None:
    doc = body()
    del doc["partner_name"]
    mutate(doc)
    _, answer = await track(http, fake, doc)
    assert answer["code"] == 0, answer
    [stored] = fake.events
    assert stored["warnings"] == [warning]
    assert fake.requests[0]["warnings"] == [warning]
    async with http.get(fake.url + "/_fake/events") as r:
        assert (await r.json())["events"][0]["warnings"] == [warning]
    async with http.get(fake.url + "/") as r:
        page = await r.text()
    assert html.escape(warning) in page


@pytest.mark.parametrize(("mutate", "message"), BAD)
async def test_bad_payloads_get_40002_naming_the_field(fake: FakeTikTok, http: aiohttp.ClientSession,
                                                        mutate: Any, message: str) -> None:
    doc = body()
    mutate(doc)
    status, answer = await track(http, fake, doc)
    assert status == 200 and answer["code"] == 40002
    if message.endswith("*"):  # the upper bound moves with the clock
        assert answer["message"].startswith(message[:-1]), answer
    else:
        assert answer["message"] == message
    assert answer["data"] == {} and fake.events == []
    [req] = fake.requests
    assert (req["code"], req["message"], req["accepted"]) == (40002, answer["message"], 0)


async def test_error_names_the_first_bad_event_of_a_batch(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    doc = body(event(event_id="a"), event(event_id="b"), event(event_id=3))
    _, answer = await track(http, fake, doc)
    assert answer["message"] == "Batch.2.event_id: Not a valid string"
    assert fake.events == []  # a rejected request stores nothing, not even its good events
    assert classify(200, json.dumps(answer).encode()).bad_index == 2  # what the deliver stage reads


@pytest.mark.parametrize(("raw", "content_type", "message"), [
    (b"", "application/json", "Request body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    (b"\xff\xfe\x00garbage", "application/json", "Request body is not valid UTF-8 JSON"),
    (b'{"data": NaN}', "application/json", "Request body is not valid JSON: NaN is not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", "Request body is nested too deeply"),
    (b"[1, 2]", "application/json", "Request body must be a JSON object"),
    (b'"web"', "application/json", "Request body must be a JSON object"),
    (b"event_source=web", "application/x-www-form-urlencoded", "Content-Type must be application/json"),
])
async def test_unparseable_bodies(fake: FakeTikTok, http: aiohttp.ClientSession, raw: bytes, content_type: str,
                                  message: str) -> None:
    status, answer = await track(http, fake, None, raw=raw, content_type=content_type)
    assert (status, answer["code"], answer["message"]) == (200, 40002, message)


async def test_huge_body_is_refused_with_413() -> None:
    async with FakeTikTok({PIXEL: TOKEN}, max_body_bytes=10_000) as fake, aiohttp.ClientSession() as http:
        doc = body(event(properties={"description": "x" * 20_000}))
        status, answer = await track(http, fake, doc)
        assert (status, answer["code"]) == (413, 40002)
        assert answer["message"] == "Request body is larger than 10000 bytes"
        assert fake.requests[0]["http_status"] == 413


async def test_more_than_1000_events_is_rejected_whole(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    events = [event(event_id=f"e{i}") for i in range(MAX_EVENTS)]
    _, answer = await track(http, fake, body(*events))
    assert answer["code"] == 0 and len(fake.events) == 1000
    _, answer = await track(http, fake, body(*[event(event_id=f"f{i}") for i in range(1001)]))
    assert (answer["code"], answer["message"]) == (40002, "data: Longer than maximum length 1000")
    assert len(fake.events) == 1000 and fake.requests[-1]["event_count"] == 1001


# --- tokens -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("token", "pixel", "code", "message"), [
    (None, PIXEL, 40104, "Access token is empty."),
    ("", PIXEL, 40104, "Access token is empty."),
    ("wrong-token", PIXEL, 40105, "Access token is incorrect or has been revoked."),
    ("tok-\u00e9\u00ff", PIXEL, 40105, "Access token is incorrect or has been revoked."),
    (TOKEN + "x", PIXEL, 40105, "Access token is incorrect or has been revoked."),
    (OTHER_TOKEN, PIXEL, 40001, f"No permission to operate pixel code: {PIXEL}. {ADMIN}"),
    (TOKEN, "CKUNKNOWNPIXEL000003", 40001, f"No permission to operate pixel code: CKUNKNOWNPIXEL000003. {ADMIN}"),
    (TOKEN, PIXEL, 0, "OK"),
])
async def test_token_checks(fake: FakeTikTok, http: aiohttp.ClientSession, token: str | None, pixel: str,
                            code: int, message: str) -> None:
    _, answer = await track(http, fake, body(event_source_id=pixel), token=token)
    assert (answer["code"], answer["message"]) == (code, message)
    [req] = fake.requests
    assert req["token_ok"] is (code not in (40104, 40105))
    assert len(fake.events) == (1 if code == 0 else 0)


async def test_token_never_leaks(fake: FakeTikTok, http: aiohttp.ClientSession,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await track(http, fake, body())
    await track(http, fake, body(), token=OTHER_TOKEN)
    await track(http, fake, body(event(event_id=1)))
    fake.set_control("rate_limit", times=1)
    await track(http, fake, body())
    texts = [repr(fake), caplog.text, json.dumps(fake.requests), json.dumps(fake.events)]
    for path in ("/_fake/requests", "/_fake/events", "/_fake/control", "/_fake/health", "/"):
        async with http.get(fake.url + path) as r:
            texts.append(await r.text())
    assert len(fake.requests) == 4
    for text in texts:
        assert TOKEN not in text and OTHER_TOKEN not in text


@pytest.mark.parametrize("pixels", [{"": "t"}, {"CK1": ""}, {"CK1": None}])
def test_bad_pixel_map_is_refused(pixels: Any) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        FakeTikTok(pixels)


# --- dedup and bounds -------------------------------------------------------------------------

async def test_dedup_by_pixel_event_and_event_id(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    _, first = await track(http, fake, body(event(event_id="d1")))
    _, again = await track(http, fake, body(event(event_id="d1")))
    assert first["code"] == again["code"] == 0
    assert len(fake.events) == 1
    assert [r["deduplicated"] for r in fake.requests] == [False, True]
    assert [(r["accepted"], r["duplicates"]) for r in fake.requests] == [(1, 0), (0, 1)]
    # Not duplicates: other event name, other pixel, other id; inside one batch the first is kept.
    await track(http, fake, body(event(event_id="d1", event="Pageview"), event(event_id="d2"), event(event_id="d2")))
    await track(http, fake, body(event(event_id="d1"), event_source_id=OTHER_PIXEL), token=OTHER_TOKEN)
    assert [(e["pixel_id"][-1], e["event"], e["event_id"]) for e in fake.events] == [
        ("0", "CompletePayment", "d1"), ("0", "Pageview", "d1"), ("0", "CompletePayment", "d2"),
        ("2", "CompletePayment", "d1")]
    assert fake.requests[2]["duplicates"] == 1


async def test_dedup_window_is_48_hours() -> None:
    clock = [float(NOW)]
    async with FakeTikTok({PIXEL: TOKEN}, clock=lambda: clock[0]) as fake, aiohttp.ClientSession() as http:
        await track(http, fake, body(event(event_id="w")))
        clock[0] += 47 * 3600
        await track(http, fake, body(event(event_id="w", event_time=NOW + 47 * 3600)))
        clock[0] += 2 * 3600
        await track(http, fake, body(event(event_id="w", event_time=NOW + 49 * 3600)))
        assert [r["deduplicated"] for r in fake.requests] == [False, True, False]
        assert len(fake.events) == 2


async def test_memory_is_bounded_and_drops_are_counted(http: aiohttp.ClientSession) -> None:
    async with FakeTikTok({PIXEL: TOKEN}, max_events=3, max_requests=2) as fake:
        for i in range(5):
            await track(http, fake, body(event(event_id=f"m{i}")))
        assert [e["event_id"] for e in fake.events] == ["m2", "m3", "m4"]
        assert (fake.events_dropped, fake.requests_dropped, len(fake.requests)) == (2, 3, 2)
        async with http.get(fake.url + "/_fake/events") as r:
            assert (await r.json())["dropped"] == 2


async def test_delete_clears_events_requests_and_dedup(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await track(http, fake, body())
    async with http.delete(fake.url + "/_fake/events") as r:
        assert r.status == 200
    assert fake.events == [] and fake.requests == []
    await track(http, fake, body())
    assert len(fake.events) == 1 and fake.requests[0]["deduplicated"] is False


async def test_requests_endpoint_filters_by_code(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await track(http, fake, body())
    await track(http, fake, body(), token="bad-token")
    async with http.get(fake.url + "/_fake/requests?code=40105") as r:
        doc = await r.json()
    assert doc["count"] == 1 and doc["requests"][0]["token_ok"] is False
    async with http.get(fake.url + "/_fake/requests?code=abc") as r:
        assert r.status == 400


# --- misbehaviour on demand -------------------------------------------------------------------

async def control(http: aiohttp.ClientSession, fake: FakeTikTok, **settings: Any) -> tuple[int, dict[str, Any]]:
    async with http.post(fake.url + "/_fake/control", json=settings) as r:
        return r.status, await r.json()


@pytest.mark.parametrize(("settings", "http_status", "code"), [
    ({"mode": "http_500"}, 500, None),
    ({"mode": "http_503"}, 503, None),
    ({"mode": "rate_limit"}, 200, 40100),
    ({"mode": "code", "code": 40007}, 200, 40007),
    ({"mode": "code", "code": 20001, "message": "partial"}, 200, 20001),
])
async def test_failure_modes_then_back_to_ok(fake: FakeTikTok, http: aiohttp.ClientSession,
                                             settings: dict[str, Any], http_status: int, code: int | None) -> None:
    status, state = await control(http, fake, **settings, times=2)
    assert status == 200 and state["mode"] == settings["mode"] and state["remaining"] == 2
    outcomes = []
    for _ in range(3):
        async with http.post(fake.url + TRACK_PATH, json=body(event(event_id=f"x{_}")),
                             headers={"Access-Token": TOKEN}) as r:
            text = await r.text()
            outcomes.append((r.status, json.loads(text)["code"] if code is not None or r.status == 200 else None))
    assert outcomes == [(http_status, code), (http_status, code), (200, 0)]
    assert [e["event_id"] for e in fake.events] == ["x2"]  # misbehaving answers accept nothing
    assert [r["mode"] for r in fake.requests] == [settings["mode"], settings["mode"], None]
    async with http.get(fake.url + "/_fake/control") as r:
        assert (await r.json())["mode"] == "ok"
    if "message" in settings:
        assert fake.requests[0]["message"] == "partial"


async def test_rate_limit_is_retried_by_the_deliver_stage(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    fake.set_control("rate_limit")
    async with http.post(fake.url + TRACK_PATH, json=body(), headers={"Access-Token": TOKEN}) as r:
        outcome = classify(r.status, await r.read())
    assert outcome.result == "retry" and outcome.response["code"] == 40100


async def test_unlimited_mode_lasts_until_reset(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await control(http, fake, mode="http_503")
    for _ in range(4):
        async with http.post(fake.url + TRACK_PATH, json=body(), headers={"Access-Token": TOKEN}) as r:
            assert r.status == 503
    _, state = await control(http, fake, mode="ok")
    assert state["mode"] == "ok" and state["remaining"] is None
    _, answer = await track(http, fake, body())
    assert answer["code"] == 0


async def test_delay_mode_answers_late_but_accepts(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await control(http, fake, mode="delay", delay_s=0.3, times=1)
    started = time.monotonic()
    _, answer = await track(http, fake, body())
    assert time.monotonic() - started >= 0.3
    assert answer["code"] == 0 and len(fake.events) == 1
    started = time.monotonic()
    await track(http, fake, body(event(event_id="fast")))
    assert time.monotonic() - started < 0.3


async def test_delay_longer_than_client_timeout_times_out(fake: FakeTikTok) -> None:
    fake.set_control("delay", delay_s=1.0, times=1)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as http:
        with pytest.raises(asyncio.TimeoutError):
            await track(http, fake, body())


async def test_drop_mode_closes_without_answer(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await control(http, fake, mode="drop", times=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await track(http, fake, body())
    assert fake.events == []
    assert (fake.requests[0]["mode"], fake.requests[0]["http_status"]) == ("drop", None)
    _, answer = await track(http, fake, body())
    assert answer["code"] == 0


@pytest.mark.parametrize(("settings", "error"), [
    ({"mode": "explode"}, "mode: Must be one of"),
    ({"mode": "code"}, 'mode "code" needs "code": N'),
    ({"mode": "http_500", "times": 0}, "times: Must be greater than or equal to 1"),
    ({"mode": "delay", "delay_s": -1}, "delay_s: Must not be negative"),
    ({"mode": "delay", "delay_s": "1"}, "delay_s: Not a valid number"),
    ({"mode": "ok", "tims": 3}, "tims: Unknown field"),
])
async def test_bad_control_requests(fake: FakeTikTok, http: aiohttp.ClientSession, settings: dict[str, Any],
                                    error: str) -> None:
    status, answer = await control(http, fake, **settings)
    assert status == 400 and error in answer["error"]
    assert fake.control.mode == "ok"


async def test_control_body_must_be_json_object(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    for raw in (b"[]", b"not json", b"\xff"):
        async with http.post(fake.url + "/_fake/control", data=raw) as r:
            assert r.status == 400 and "error" in await r.json()


# --- human and health pages; embedding --------------------------------------------------------

async def test_index_page_lists_events_escaped(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await track(http, fake, body(event(event_id="<b>id</b>", properties={"description": "<script>x</script>"})))
    async with http.get(fake.url + "/") as r:
        page = await r.text()
    assert r.content_type == "text/html"
    assert "CompletePayment" in page and "&lt;b&gt;id&lt;/b&gt;" in page
    assert "<script>" not in page and "<b>id" not in page
    assert "<link rel=icon href=data:,>" in page  # the browser asks no /favicon.ico (a 404)


async def test_lone_surrogates_do_not_break_any_view(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    raw = json.dumps(body(event(properties={"description": "\ud800"}))).encode()
    assert b"\\ud800" in raw
    _, answer = await track(http, fake, None, raw=raw)
    assert answer["code"] == 0
    for path in ("/", "/_fake/events", "/_fake/requests"):
        async with http.get(fake.url + path) as r:
            assert r.status == 200, path
            await r.read()


async def test_health(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    await track(http, fake, body())
    async with http.get(fake.url + "/_fake/health") as r:
        assert await r.json() == {"status": "ok", "pixels": 2, "events": 1, "requests": 1, "mode": "ok"}


async def test_make_app_serves_with_its_state(http: aiohttp.ClientSession) -> None:
    from aiohttp import web

    app = make_app({PIXEL: TOKEN})
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with http.post(url + TRACK_PATH, json=body(), headers={"Access-Token": TOKEN}) as r:
            assert (await r.json())["code"] == 0
        assert app[FAKE_TIKTOK].events[0]["event_id"] == "evt-1"
    finally:
        await runner.cleanup()


async def test_busy_port_raises_oserror(fake: FakeTikTok) -> None:
    port = int(fake.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        await start_fake_tiktok({PIXEL: TOKEN}, port=port)


async def test_product_request_shape_is_accepted(fake: FakeTikTok, http: aiohttp.ClientSession) -> None:
    """What the shape stage builds must pass the stand-in unchanged."""
    from pixelscleared.config import parse_config
    from pixelscleared.deliver import build_request
    from pixelscleared.event import CapturedEvent
    from pixelscleared.shape import shape_event

    pixel = parse_config({"upstream": "http://127.0.0.1:1", "destinations": {"tiktok": [
        {"pixel_id": PIXEL, "access_token": TOKEN, "events": ["CompletePayment"]}]}}, env={}).destinations.tiktok[0]
    captured = CapturedEvent(name="purchase", event_id="p-1", event_time=NOW, source="collect",
                             url="https://shop.example/done", properties={
                                 "value": "99.95", "currency": "eur", "contents": [{"content_id": 119, "quantity": "2"}]})
    shaped = shape_event(captured, {"ip": HEX}, limited_data_use=True)
    _, answer = await track(http, fake, build_request(pixel, [shaped], "TEST1"))
    assert answer["code"] == 0, answer
    assert fake.events[0]["properties"]["contents"][0]["content_id"] == "119"


# --- pure parts, with generated input ---------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(["event", "event_time", "event_id", "user", "page", "properties",
                               "limited_data_use", "email", "ip", "external_id", "contents", "content_id",
                               "value", "currency", "url", "x"])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.lists(field_names, max_size=3), value=json_values)
def test_any_mutation_is_accepted_or_a_clean_40002(path: list[str], value: Any) -> None:
    doc = body()
    node: Any = doc["data"][0]
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if path:
        node[path[-1]] = value
    else:
        doc["data"][0] = value
    try:
        validate_request(copy.deepcopy(doc))
    except Rejection as r:
        assert r.code == 40002
        assert re.fullmatch(r"(Batch\.0|data)(\.[^:]+)?: .+", r.message), r.message


@settings(max_examples=250, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_body_parses_or_gives_a_clean_40002(raw: bytes) -> None:
    try:
        doc = parse_json(raw)
        req = validate_request(doc)
    except Rejection as r:
        assert r.code == 40002 and r.message
        return
    # accepted: then it really was a JSON object with a source, a pixel and a list of events
    assert isinstance(doc, dict) and req.event_source in ("web", "app", "offline", "crm")
    assert isinstance(doc["data"], list) and len(req.data) == len(doc["data"])


# --- the CLI as a real process ----------------------------------------------------------------

def _cli(*args: str, env: dict[str, str] | None = None, stdout: Path | None = None) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "pixelscleared", "fake-tiktok", *args]
    env = {**os.environ, **(env or {})}
    if stdout is None:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    with stdout.open("w") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, text=True, env=env)


async def _read_url(proc: subprocess.Popen[str], out: Path, timeout: float = 20.0) -> str:
    """The URL the CLI prints (after a log line or two), polled from its stdout file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if m := re.search(r"fake TikTok Events API on (http://\S+) ", out.read_text()):
            return m.group(1)
        await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError(f"CLI did not print its URL: {out.read_text()!r} {proc.communicate()[1]!r}")


@pytest.mark.parametrize("source", ["pixel", "config"])
async def test_cli_starts_answers_and_stops(tmp_path: Path, source: str) -> None:
    out = tmp_path / "stdout.txt"
    if source == "pixel":
        proc = _cli("--port", "0", "--pixel", f"{PIXEL}={TOKEN}", stdout=out)
    else:
        cfg = tmp_path / "c.yaml"
        cfg.write_text("upstream: http://127.0.0.1:3000\ndestinations:\n  tiktok:\n"
                       f"    - pixel_id: {PIXEL}\n      access_token: ${{TT_TOKEN}}\n      events: [Pageview]\n")
        proc = _cli("--port", "0", "-c", str(cfg), env={"TT_TOKEN": TOKEN}, stdout=out)
    try:
        url = await _read_url(proc, out)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            async with http.post(url + TRACK_PATH, json=body(), headers={"Access-Token": TOKEN}) as r:
                assert (await r.json())["code"] == 0
            async with http.get(url + "/_fake/events") as r:
                assert (await r.json())["count"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert TOKEN not in out.read_text() + err
    started = (out.read_text() + err).count("listening on") + (out.read_text() + err).count("Events API on")
    assert started == 1, out.read_text() + err  # one start line, not a log line and a print


def test_cli_busy_port_is_one_clear_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = _cli("--port", str(port), "--pixel", f"{PIXEL}={TOKEN}")
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert err.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: address already in use"]


@pytest.mark.parametrize(("args", "error"), [
    ([], "error: no pixels: give --pixel PIXEL_ID=TOKEN or -c config.yaml with destinations.tiktok"),
    (["--pixel", PIXEL, "--port", "0"], "expected PIXEL_ID=TOKEN"),
    (["-c", "/nonexistent/c.yaml"], "error: /nonexistent/c.yaml: cannot read"),
    (["--pixel", f"{PIXEL}={TOKEN}", "--port", "70000"], "error: --port 70000 is not a TCP port (0-65535)"),
])
def test_cli_bad_arguments(args: list[str], error: str) -> None:
    proc = _cli(*args)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and error in err
