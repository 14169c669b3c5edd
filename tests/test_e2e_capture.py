"""Tracking calls the site already sends, through the running proxy: GA4 hits and a TikTok pixel beacon."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import aiohttp
import pytest

from conftest import sidecar_config, wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "capture"
GA4 = json.loads((FIXTURES / "ga4_hits.json").read_text())
GRANTED = "cookieyes-consent=consent:yes,action:yes,advertisement:yes"
EVENTS = ["PageView", "AddToCart", "SubmitForm", "CompletePayment", "Contact", "CompleteRegistration"]


@pytest.fixture
async def sidecar(origin, tiktok, run_sidecar, tmp_path):
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url,
                         capture={"ga4": {"paths": ["/g/collect"]}, "tiktok_pixel": {"paths": ["/api/v2/pixel"]}})
    cfg["destinations"]["tiktok"][0]["events"] = EVENTS
    return await run_sidecar(cfg), origin, tiktok


def no_pii(text: str) -> None:
    for form in (text, text.lower(), unquote(text), unquote(unquote(text)).lower()):
        for planted in ("jane.doe@example.com", "4915112345678", "7911 123456", "415 555 0123", "+447911123456"):
            assert planted not in form, planted


async def test_ga4_hit_is_scrubbed_forwarded_and_mirrored(sidecar):
    sc, origin, tiktok = sidecar
    hit = GA4["pii"]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{sc.url}/g/collect?{hit['query']}", data=hit["body"].encode(),
                          headers={"Cookie": GRANTED, "Content-Type": "text/plain"}) as r:
            assert r.status == 200  # the origin's own answer: the call went on
    seen = [req for req in origin.seen if req["path"].startswith("/g/collect")]
    assert len(seen) == 1
    forwarded = seen[0]["path"] + "\n" + seen[0]["body"].decode()
    no_pii(forwarded)
    assert "ep.form_id=newsletter" in forwarded and "tid=G-TEST123456" in forwarded  # the rest is kept
    assert seen[0]["body"].count(b"\n") == 1  # one line per event, as sent
    # With body lines, each line is one event (sign_up, contact); the query holds shared params.
    got = await wait_for(lambda: sorted(e["event"] for e in tiktok.events) == ["CompleteRegistration", "Contact"])
    no_pii(json.dumps(tiktok.events))
    assert got


async def test_ga4_purchase_reaches_a_pixel_that_lists_complete_payment(sidecar):
    """GA4's purchase is TikTok's Purchase today; a config written with the legacy name still takes it."""
    sc, _origin, tiktok = sidecar
    hit = GA4["purchase"]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{sc.url}/g/collect?{hit['query']}", data=hit["body"].encode(),
                          headers={"Cookie": GRANTED}) as r:
            assert r.status == 200
    [ev] = await wait_for(lambda: [e for e in tiktok.events if e["event"] == "Purchase"])
    assert ev["warnings"] == []
    assert ev["properties"]["currency"] == "EUR" and ev["properties"]["value"] > 0
    assert ev["properties"]["order_id"] == "ORDER-10042"
    assert all(isinstance(c["content_id"], str) for c in ev["properties"].get("contents", []))


async def test_tiktok_pixel_beacon_answered_by_the_sidecar(sidecar):
    sc, origin, tiktok = sidecar
    beacon = (FIXTURES / "tiktok_beacon_add_to_cart.json").read_bytes()
    user = json.loads(beacon)["context"]["user"]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{sc.url}/api/v2/pixel", data=beacon,
                          headers={"Cookie": GRANTED, "Content-Type": "application/json"}) as r:
            assert r.status == 204
    assert not any(req["path"].startswith("/api/v2/pixel") for req in origin.seen)
    [ev] = await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == "atc-7f3c2a9e-1"])
    assert ev["event"] == "AddToCart"
    for value in user.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in json.dumps(ev)
    assert all(isinstance(c["content_id"], str) for c in ev["properties"]["contents"])


async def test_malformed_tracking_call_is_not_an_error_for_the_page(sidecar):
    sc, origin, tiktok = sidecar
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{sc.url}/api/v2/pixel", data=b"\xff\x00garbage") as r:
            assert r.status == 204
        async with s.get(f"{sc.url}/g/collect?v=1&en=page_view") as r:  # not GA4 v2: forwarded, no event
            assert r.status == 200
    assert any(req["path"].startswith("/g/collect") for req in origin.seen)


async def test_a_pixel_purchase_reaches_a_pixel_that_lists_complete_payment(sidecar):
    """`ttq.track('Purchase', …)` in the browser; the config was written with the legacy name."""
    sc, _origin, tiktok = sidecar
    beacon = json.loads((FIXTURES / "tiktok_beacon_add_to_cart.json").read_text())
    beacon.update(event="Purchase", event_id="order-10042",
                  properties={"value": "129.90", "currency": "eur",
                              "contents": [{"content_id": 119, "quantity": 2, "price": "64.95"}]})
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{sc.url}/api/v2/pixel", json=beacon, headers={"Cookie": GRANTED}) as r:
            assert r.status == 204
    [ev] = await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == "order-10042"])
    assert ev["event"] == "Purchase" and ev["warnings"] == []  # as captured; the browser copy deduplicates
    props = ev["properties"]
    assert (props["value"], props["currency"], props["content_type"]) == (129.9, "EUR", "product")
    assert props["contents"] == [{"content_id": "119", "quantity": 2, "price": 64.95}]
