"""consent/grace.py: events whose consent is unknown wait (in memory, per visitor) for the
visitor's answer to the banner — off by default."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from conftest import sidecar_config, wait_for
from pixelscleared.consent.grace import MAX_EVENTS_PER_VISITOR, GraceWindow
from pixelscleared.event import CapturedEvent, RequestFacts


def facts(ua: str = "Mozilla/5.0 A", lang: str = "de-DE", peer: str = "203.0.113.7") -> RequestFacts:
    return RequestFacts(peer, {"user-agent": ua, "accept-language": lang})


def ev(i: int = 0) -> CapturedEvent:
    return CapturedEvent("Pageview", f"e{i}", 1_700_000_000, "pageview")


@pytest.mark.parametrize(("a", "b", "same"), [
    (facts(), facts(), True),
    (facts(), facts(ua="Mozilla/5.0 B"), False),
    (facts(), facts(lang="fr-FR"), False),
    (facts(), facts(peer="203.0.113.8"), False),
])
def test_a_visitor_is_recognised_without_a_cookie(a, b, same):
    g = GraceWindow(10)
    assert (g.visitor(a, a.peer_ip) == g.visitor(b, b.peer_ip)) is same
    assert GraceWindow(10).visitor(a, a.peer_ip) != g.visitor(a, a.peer_ip)  # a key per process, never stored


def test_hold_take_and_expire():
    g = GraceWindow(10)
    v, w = g.visitor(facts(), "1"), g.visitor(facts(), "2")
    assert not g and g.take(v) == []
    due = g.hold(v, ev(1), facts(), now=100)
    assert due == 110 and g.hold(v, ev(2), facts(), now=105) == 110  # one window per visitor
    g.hold(w, ev(3), facts(), now=108)
    assert len(g) == 3
    assert [e.event_id for e, _ in g.take(v, now=109)] == ["e1", "e2"]
    assert g.take(v, now=109) == []  # taken once
    g.expire(now=118.5)
    assert len(g) == 0 and not g  # w's window ended: its rows go out minimal by themselves
    for i in range(MAX_EVENTS_PER_VISITOR + 5):
        g.hold(v, ev(i), facts(), now=200)
    assert len(g) == MAX_EVENTS_PER_VISITOR  # bounded


NAV = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Accept-Language": "en-GB"}
GRANTED = "cookieyes-consent=consentid:abc,consent:yes,action:yes,advertisement:yes"
DENIED = "cookieyes-consent=consentid:abc,consent:no,action:yes,advertisement:no"


async def test_held_page_views_go_out_full_after_a_grant_minimal_after_a_denial_or_the_timeout(
        origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url, capture={"pageviews": {}},
                                          consent={"grace_window_s": 4}))
    visitors = {name: {**NAV, "User-Agent": f"Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 {name}"}
                for name in ("grants", "denies", "silent")}
    started = time.monotonic()
    async with aiohttp.ClientSession() as s:
        for name, headers in visitors.items():  # the first page, before the banner is answered
            async with s.get(f"{sc.url}/landing-{name}", headers=headers) as r:
                assert r.status == 200
        for _ in range(40):  # the page views are decided after the pages went out
            async with s.get(sc.url + "/_pc/events?source=pageview") as r:
                rows = (await r.json())["events"]
            if len(rows) == 3:
                break
            await asyncio.sleep(0.05)
        assert len(rows) == 3 and all(row["status"] == "queued" and "waiting up to 4 s" in row["reason"]
                                      for row in rows)
        assert tiktok.events == []  # nothing sent while the visitors may still answer
        # the banner answered: the next request of each (an image, here) carries the cookie
        async with s.get(sc.url + "/binary", headers={**visitors["grants"], "Cookie": GRANTED}) as r:
            assert r.status == 200
        async with s.get(sc.url + "/binary", headers={**visitors["denies"], "Cookie": DENIED}) as r:
            assert r.status == 200
        got = await wait_for(lambda: len(tiktok.events) >= 2 and tiktok.events, timeout=10)
        assert time.monotonic() - started < 4  # at once, not at the timeout
        by_page = {e["page"]["url"].rsplit("-", 1)[1]: e for e in got}
        assert by_page["grants"]["limited_data_use"] is False and "user_agent" in by_page["grants"]["user"]
        assert by_page["denies"]["limited_data_use"] is True and set(by_page["denies"]["user"]) == {"ip"}
        # the silent visitor's page view goes out minimal when the window ends
        await wait_for(lambda: len(tiktok.events) == 3, timeout=15)
        silent = next(e for e in tiktok.events if e["page"]["url"].endswith("-silent"))
        assert silent["limited_data_use"] is True
        assert time.monotonic() - started >= 3.5
        async with s.get(sc.url + "/_pc/events?source=pageview") as r:
            verdicts = {row["payload"]["page"]["url"].rsplit("-", 1)[1]: row["verdict"]
                        for row in (await r.json())["events"]}
        async with s.get(sc.url + "/_pc/metrics") as r:
            metrics = await r.text()
    assert verdicts == {"grants": "granted", "denies": "denied", "silent": "unknown"}
    assert 'pixelscleared_grace_settled_total{verdict="granted"} 1.0' in metrics
    assert 'pixelscleared_events_captured_total{source="pageview"} 3.0' in metrics  # counted once each


async def test_off_by_default_unknown_goes_out_minimal_at_once(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url, capture={"pageviews": {}}))
    async with aiohttp.ClientSession() as s, s.get(f"{sc.url}/page", headers={**NAV, "User-Agent": "Mozilla/5.0 X"}):
        pass
    [e] = await wait_for(lambda: tiktok.events, timeout=10)
    assert e["limited_data_use"] is True
