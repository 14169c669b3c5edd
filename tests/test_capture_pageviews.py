"""capture/pageviews.py: successful HTML navigations become Pageview events — and nothing else does."""

from __future__ import annotations

import aiohttp
import pytest

from conftest import sidecar_config, wait_for
from pixelscleared.capture.pageviews import PageviewSettings, is_navigation
from pixelscleared.config import ConfigError, parse_config

NAV = {"sec-fetch-dest": "document", "sec-fetch-mode": "navigate"}


@pytest.mark.parametrize(("method", "status", "ctype", "headers", "expected"), [
    ("GET", 200, "text/html; charset=utf-8", NAV, True),
    ("GET", 200, "text/html", {}, True),                                            # no Sec-Fetch headers
    ("HEAD", 200, "text/html", NAV, False),
    ("POST", 200, "text/html", NAV, False),
    ("GET", 301, "text/html", NAV, False),                                          # redirect
    ("GET", 404, "text/html", NAV, False),
    ("GET", 200, "application/json", NAV, False),
    ("GET", 200, "image/png", {}, False),
    ("GET", 200, "text/html", {"sec-fetch-dest": "empty", "sec-fetch-mode": "cors"}, False),  # fetch of HTML
    ("GET", 200, "text/html", {"sec-fetch-dest": "iframe", "sec-fetch-mode": "navigate"}, False),
    ("GET", 200, "text/html", {**NAV, "sec-purpose": "prefetch"}, False),
    ("GET", 200, "text/html", {**NAV, "sec-purpose": "prefetch;prerender"}, False),
    ("GET", 200, "text/html", {"purpose": "prefetch"}, False),
    ("GET", 200, "text/html", {"x-moz": "prefetch"}, False),
])
def test_is_navigation(method, status, ctype, headers, expected):
    assert is_navigation(method, status, ctype, headers) is expected


@pytest.mark.parametrize(("path", "expected"), [
    ("/", True), ("/shop/shoes", True), ("/admin/users", False), ("/admin/a/b", False), ("/data.json", False),
    ("/a/data.json", True),
])
def test_include_and_exclude_globs(path, expected):
    matches = PageviewSettings(exclude=["/admin/**", "/*.json"]).matcher()
    assert matches(path) is expected


def test_bad_globs_are_config_errors_with_key_paths():
    with pytest.raises(ConfigError) as e:
        parse_config({"upstream": "http://127.0.0.1:1", "capture": {"pageviews": {"include": ["shop/*"]}}}, {})
    assert any("capture.pageviews.include" in p for p in e.value.problems)


async def test_navigations_become_pageviews_and_pages_are_unchanged(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url,
                                          capture={"pageviews": {"exclude": ["/admin/**"]}}))
    browser = {**{k.title(): v for k, v in NAV.items()}, "Accept": "text/html",
               "Cookie": "cookieyes-consent=consentid:abc,consent:yes,action:yes,advertisement:yes",
               "Referer": "https://www.tiktok.com/", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/shop/shoes?utm_source=tiktok&email=jane%40example.com", headers=browser) as r:
            page = await r.read()
        async with s.get(origin.url + "/shop/shoes") as r:
            assert page == await r.read()  # the page is the origin's, byte for byte
        for path, extra in [("/admin/users", {}), ("/shop/fragment", {"Sec-Fetch-Dest": "empty",
                                                                       "Sec-Fetch-Mode": "cors"}),
                            ("/shop/next", {"Sec-Purpose": "prefetch"}), ("/binary", {})]:
            async with s.get(sc.url + path, headers={**browser, **extra}) as r:
                assert r.status == 200
        async with s.head(sc.url + "/shop/head", headers=browser) as r:
            assert r.status == 200
    await wait_for(lambda: tiktok.events, timeout=15)
    events = [e for e in tiktok.events if e["event"] == "Pageview"]
    assert len(events) == 1, [e["page"] for e in tiktok.events]
    [pv] = events
    assert pv["page"]["url"].startswith(sc.url + "/shop/shoes?utm_source=tiktok")
    assert "jane" not in pv["page"]["url"]  # scrubbed like every event
    assert pv["page"]["referrer"] == "https://www.tiktok.com/"
    async with aiohttp.ClientSession() as s, s.get(sc.url + "/_pc/events?source=pageview") as r:
        rows = (await r.json())["events"]
    assert len(rows) == 1 and rows[0]["source"] == "pageview"


@pytest.mark.parametrize(("ua", "bot"), [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", True),
    ("curl/8.5.0", True),
    ("kube-probe/1.29", True),
    ("", True),                                                                    # no user agent: not a browser
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
     False),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", False),
])
def test_bot_check(ua, bot):
    from pixelscleared.capture.pageviews import BotCheck
    assert bool(BotCheck()(ua)) is bot


async def test_bots_do_not_become_pageviews(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url, capture={"pageviews": {}}))
    async with aiohttp.ClientSession() as s:
        for ua in ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                   "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"):
            async with s.get(sc.url + "/shop", headers={**{k.title(): v for k, v in NAV.items()},
                                                        "User-Agent": ua}) as r:
                assert r.status == 200
        await wait_for(lambda: tiktok.events, timeout=15)
        async with s.get(sc.url + "/_pc/metrics") as r:
            metrics = await r.text()
        async with s.get(sc.url + "/_pc/events?status=dropped") as r:
            [row] = (await r.json())["events"]  # visible in the events log, never sent
    assert row["source"] == "pageview" and row["reason"] == "bot: known bot 'Googlebot'"
    assert [e["event"] for e in tiktok.events] == ["Pageview"]
    assert "Chrome/126.0" in tiktok.events[0]["user"].get("user_agent", "") or tiktok.events[0]["limited_data_use"]
    assert 'pixelscleared_events_dropped_total{reason="bot"} 1.0' in metrics


async def test_landing_click_id_and_browser_id_kept_in_first_party_cookies(origin, tiktok, run_sidecar, tmp_path):
    """identity.send_ttclid/send_ttp: a TikTok ad click's landing page keeps `ttclid` (30 days) and a
    `_ttp` browser id (13 months) — only under granted consent — and later events carry both."""
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url, capture={"pageviews": {}},
                                          identity={"salt": "test-salt-value", "send_ttclid": True,
                                                    "send_ttp": True}))
    nav = {k.title(): v for k, v in NAV.items()} | {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}
    granted = "cookieyes-consent=consentid:abc,consent:yes,action:yes,advertisement:yes"
    click = "E.C.P.CqgBdXRtX2NhbXBhaWdu"
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{sc.url}/landing?ttclid={click}",
                         headers=nav | {"Cookie": "cookieyes-consent=consent:no,advertisement:no"}) as r:
            assert not [c for c in r.headers.getall("Set-Cookie", []) if c.startswith(("ttclid=", "_ttp="))]
        async with s.get(f"{sc.url}/landing?ttclid={click}", headers=nav | {"Cookie": granted}) as r:
            cookies = {c.partition("=")[0]: c for c in r.headers.getall("Set-Cookie", [])}
        assert cookies["ttclid"].startswith(f"ttclid={click}; Max-Age={30 * 86400};")
        ttp = cookies["_ttp"].partition("=")[2].partition(";")[0]
        assert len(ttp) >= 20 and f"Max-Age={395 * 86400};" in cookies["_ttp"]
        async with s.get(f"{sc.url}/next-page", headers=nav | {"Cookie": f"{granted}; ttclid={click}; _ttp={ttp}"}) as r:
            assert not [c for c in r.headers.getall("Set-Cookie", []) if c.startswith(("ttclid=", "_ttp="))]
    [later] = await wait_for(lambda: [e for e in tiktok.events if e["page"]["url"].endswith("/next-page")], timeout=15)
    assert later["user"]["ttclid"] == click and later["user"]["ttp"] == ttp
