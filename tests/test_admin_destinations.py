"""The destinations view: pixels as configured with counts and TikTok's last answer, the Test
connection action (the `validate` check) behind admin access and a CSRF defence, and the page in
a real chromium."""

from __future__ import annotations

import aiohttp
import pytest

from conftest import chromium_browser, sidecar_config
from pixelscleared.admin.destinations import masked, same_origin

GOOD, BAD = "CKTESTPIXEL000000001", "CKOTHERPIXEL00000002"


@pytest.mark.parametrize(("headers", "ok"), [
    ({"x-pixelscleared-action": "test"}, True),                                        # a script without Origin
    ({"x-pixelscleared-action": "test", "origin": "http://shop.example", "host": "shop.example"}, True),
    ({"x-pixelscleared-action": "test", "sec-fetch-site": "same-origin"}, True),
    ({}, False),                                                                          # a plain form post
    ({"x-pixelscleared-action": "yes"}, False),
    ({"x-pixelscleared-action": "test", "origin": "https://evil.example", "host": "shop.example"}, False),
    ({"x-pixelscleared-action": "test", "sec-fetch-site": "cross-site"}, False),
])
def test_same_origin(headers, ok):
    assert same_origin(headers) is ok


def test_tokens_are_masked():
    assert masked("test-token-abcdef") == "••••••••cdef"
    assert masked("short") == "••••••••"


def config(tmp_path, origin_url: str, tiktok_url: str) -> dict:
    cfg = sidecar_config(tmp_path, origin_url, tiktok_url)
    cfg["destinations"]["tiktok"].append({"pixel_id": BAD, "access_token": "revoked-token-12345",
                                          "events": ["PageView"], "api_base": tiktok_url})
    return cfg


async def test_destinations_json_and_the_test_action(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(config(tmp_path, origin.url, tiktok.url))
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": "d-1"}) as r:
            assert r.status == 204
        async with s.get(sc.url + "/_pc/destinations") as r:
            doc = await r.json()
        [good, bad] = doc["pixels"]
        assert good["pixel_id"] == GOOD and good["config_key"] == "destinations.tiktok[0]"
        assert good["access_token"] == "••••••••cdef" and "test-token-abcdef" not in str(doc)
        assert bad["config_key"] == "destinations.tiktok[1]" and "revoked-token-12345" not in str(doc)
        async with s.post(sc.url + "/_pc/destinations/test") as r:  # no custom header: refused
            assert r.status == 403
        async with s.get(sc.url + "/_pc/destinations/test") as r:
            assert r.status == 405
        async with s.post(sc.url + "/_pc/destinations/test", headers={"X-PixelsCleared-Action": "test"}) as r:
            checks = {c["pixel_id"]: c for c in (await r.json())["checks"]}
        assert checks[GOOD]["ok"] is True
        assert checks[BAD]["ok"] is False and checks[BAD]["code"] == 40105 and "revoked" in checks[BAD]["advice"]


async def test_destinations_need_admin_access(origin, tiktok, run_sidecar, tmp_path):
    cfg = config(tmp_path, origin.url, tiktok.url)
    cfg["admin"] = {"allow": ["192.0.2.0/24"], "token": "admin-token-123456"}  # loopback not allowed
    sc = await run_sidecar(cfg)
    async with aiohttp.ClientSession() as s:
        for path in ("destinations", "destinations.html"):
            async with s.get(f"{sc.url}/_pc/{path}") as r:
                assert r.status == 403
        async with s.post(sc.url + "/_pc/destinations/test", headers={"X-PixelsCleared-Action": "test"}) as r:
            assert r.status == 403
        async with s.get(sc.url + "/_pc/destinations", headers={"Authorization": "Bearer admin-token-123456"}) as r:
            assert r.status == 200


async def test_the_page_in_chromium_shows_green_and_red(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(config(tmp_path, origin.url, tiktok.url))
    async with chromium_browser() as chromium:
        page = await chromium.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(sc.url + "/_pc/destinations.html")
        await page.wait_for_selector(f'.pixel[data-pixel="{BAD}"] button')
        cards = await page.eval_on_selector_all(".pixel", "els => els.map(e => e.innerText)")
        for pixel in (GOOD, BAD):
            await page.click(f'.pixel[data-pixel="{pixel}"] button')
        await page.wait_for_function(
            "[...document.querySelectorAll('.result')].every(r => r.classList.contains('ok') || "
            "r.classList.contains('bad'))", timeout=15_000)
        good = await page.inner_text(f'.pixel[data-pixel="{GOOD}"] .result')
        bad = await page.inner_text(f'.pixel[data-pixel="{BAD}"] .result')
        good_class = await page.get_attribute(f'.pixel[data-pixel="{GOOD}"] .result', "class")
        await page.screenshot(path=str(tmp_path / "destinations.png"), full_page=True)
    assert "destinations.tiktok[0]" in cards[0] and "••••••••cdef" in cards[0] and "pageview" in cards[0].lower()
    assert good.startswith("✔ TikTok accepted the token") and "ok" in good_class
    assert bad.startswith("✘ code 40105") and "→ the access token is wrong or was revoked" in bad
