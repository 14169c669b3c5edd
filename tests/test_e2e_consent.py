"""Consent through the running proxy: the same call, granting vs denying cookies → full vs minimal payload."""

from __future__ import annotations

import hashlib
import json
import time

import aiohttp
import pytest

from conftest import sidecar_config, wait_for

DAY_AGO = time.strftime("%a+%b+%d+%Y+%H%%3A%M%%3A%S", time.gmtime(time.time() - 86_400))  # a fixed date turns stale
ONETRUST_GRANTED = (f"OptanonConsent=isGpcEnabled=0&datestamp={DAY_AGO}&version=202409.1.0"
                    "&interactionCount=1&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A1%2CC0004%3A1")
ONETRUST_DENIED = ONETRUST_GRANTED.replace("C0004%3A1", "C0004%3A0")
COOKIEBOT_DENIED = ("CookieConsent={stamp:%27abc%3D%3D%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:false"
                    "%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1}")
UA = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"
CALL = {"event": "CompletePayment", "url": "https://shop.example/checkout/thank-you?order=1001&ttclid=CLICK123",
        "properties": {"value": 42.5, "currency": "EUR", "order_id": "1001"}}


@pytest.fixture
async def sidecar(origin, tiktok, run_sidecar, tmp_path):
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url,
                         identity={"salt": "test-salt-value", "session_cookie": "shop_session", "send_ttclid": True})
    return await run_sidecar(cfg), tiktok


async def send(sc, event_id: str, cookie: str, headers: dict[str, str] | None = None) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", json={**CALL, "event_id": event_id},
                          headers={"Cookie": f"{cookie}; shop_session=sess-42", "User-Agent": UA, **(headers or {})}) as r:
            assert r.status == 204


@pytest.mark.parametrize("cookie, headers, verdict", [
    (ONETRUST_GRANTED, {}, "granted"),
    (ONETRUST_DENIED, {}, "denied"),
    (COOKIEBOT_DENIED, {}, "denied"),
    (ONETRUST_GRANTED, {"Sec-GPC": "1"}, "denied"),  # an explicit opt-out anywhere wins
    ("unrelated=1", {}, "unknown"),
])
async def test_full_payload_only_with_consent(sidecar, cookie, headers, verdict):
    sc, tiktok = sidecar
    event_id = f"consent-{verdict}-{len(cookie)}-{len(headers)}"
    await send(sc, event_id, cookie, headers)
    [ev] = await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == event_id])
    user = ev["user"]
    assert len(user["ip"]) == 64 and user["ip"] != "127.0.0.1"  # hashed IP in both cases
    if verdict == "granted":
        assert ev["limited_data_use"] is False
        assert user["user_agent"] == UA
        assert user["external_id"] == hashlib.sha256(b"test-salt-value" + b"sess-42").hexdigest()
        assert user["ttclid"] == "CLICK123"
    else:
        assert ev["limited_data_use"] is True
        assert set(user) == {"ip"}
    assert ev["properties"]["value"] == 42.5  # the event itself is kept either way


async def test_events_log_names_the_deciding_cookie(sidecar):
    sc, tiktok = sidecar
    await send(sc, "consent-log-1", ONETRUST_DENIED)
    await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == "consent-log-1"])
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/_pc/events?event_id=consent-log-1") as r:
            [row] = (await r.json())["events"]
    assert row["verdict"] == "denied"
    assert any("OptanonConsent" in src for src in row["consent_sources"])
    assert "C0004" not in json.dumps(row["consent_sources"])  # signal names, never cookie values


async def test_unconsented_drop_mode_sends_nothing(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url, unconsented="drop"))
    await send(sc, "drop-denied", ONETRUST_DENIED)
    await send(sc, "drop-granted", ONETRUST_GRANTED)
    await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == "drop-granted"])
    assert not [e for e in tiktok.events if e["event_id"] == "drop-denied"]
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/_pc/events?event_id=drop-denied") as r:
            [row] = (await r.json())["events"]
    assert row["status"] == "dropped" and "consent" in row["reason"]
