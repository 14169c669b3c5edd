"""Consent a tracking call carries itself: GA4 Consent Mode, us_privacy, gpp — one more signal each."""

from __future__ import annotations

import json

import pytest

from pixelscleared.capture import parse_ga4_hit, parse_tiktok_beacon
from pixelscleared.config import parse_config
from pixelscleared.consent import ConsentEngine
from pixelscleared.consent.hit import consent_params, gcd_state, gcs_state, npa_state
from pixelscleared.consent.settings import ConsentSettings
from pixelscleared.event import RequestFacts
from pixelscleared.outbox import EventsQuery
from pixelscleared.pipeline import Pipeline

GRANTED_COOKIE = "cookieyes-consent=consent:yes,advertisement:yes"


@pytest.mark.parametrize("read, value, state", [
    (gcs_state, "G100", "denied"), (gcs_state, "G101", "denied"), (gcs_state, "G111", "implied"),
    (gcs_state, "G110", "implied"), (gcs_state, "G1", "unknown"), (gcs_state, "X100", "unknown"),
    (gcs_state, "", "unknown"),
    (gcd_state, "13l3l3l3l1", "unknown"),      # nothing set
    (gcd_state, "13p3p3p3p1", "denied"),       # denied by default
    (gcd_state, "13r3r3r3r1", "implied"),      # denied by default, granted by update
    (gcd_state, "13v3v3u3v1", "denied"),       # ad_user_data denied by update
    (gcd_state, "13t3l3t3l1", "implied"),
    (gcd_state, "13", "unknown"),
    (npa_state, "1", "denied"), (npa_state, "0", "unknown"),
])
def test_readers(read, value, state):
    assert read(value) == state


@pytest.mark.parametrize("cookie, params, regime, verdict, source", [
    # an explicit denial in the hit wins over a cookie grant
    (GRANTED_COOKIE, {"gcs": "G100"}, False, "denied", "hit:gcs"),
    (GRANTED_COOKIE, {"npa": "1"}, False, "denied", "hit:npa"),
    (GRANTED_COOKIE, {"us_privacy": "1YYN"}, False, "denied", "hit:us_privacy"),
    (GRANTED_COOKIE, {"gcd": "13q3q3q3q1"}, False, "denied", "hit:gcd"),
    # a Google grant is not a grant for TikTok, except where implied consent counts
    ("", {"gcs": "G111"}, False, "unknown", None),
    ("", {"gcs": "G111"}, True, "granted", "hit:gcs"),
    (GRANTED_COOKIE, {"gcs": "G111"}, False, "granted", "cookieyes:cookieyes-consent"),
    (GRANTED_COOKIE, {}, False, "granted", "cookieyes:cookieyes-consent"),
    (GRANTED_COOKIE, {"gpp": "not-a-gpp-string"}, False, "granted", "cookieyes:cookieyes-consent"),
])
def test_the_hit_is_one_more_signal(cookie, params, regime, verdict, source):
    engine = ConsentEngine(ConsentSettings(opt_out_regime=regime))
    v = engine.with_hit(engine.evaluate(cookie, {}), params)
    assert v.state == verdict
    if source:
        assert source in v.sources


def test_only_consent_parameters_are_kept():
    assert consent_params({"gcs": "G100", "dl": "https://x/", "npa": "", "us_privacy": "1YNN"}) == {
        "gcs": "G100", "us_privacy": "1YNN"}


FACTS = RequestFacts(peer_ip="203.0.113.7", headers={"user-agent": "UA", "referer": "https://shop.example/p"},
                     cookie_header=GRANTED_COOKIE)


def test_capture_reads_them_from_hits_and_beacons():
    [e] = parse_ga4_hit("GET", "v=2&en=page_view&gcs=G100&gcd=13p3p3p3p1&npa=1&cid=1.2", b"", FACTS)
    assert e.consent_params == {"gcs": "G100", "gcd": "13p3p3p3p1", "npa": "1"}
    [b] = parse_tiktok_beacon(json.dumps({"event": "AddToCart"}).encode(), "us_privacy=1YYN&x=1", FACTS)
    assert b.consent_params == {"us_privacy": "1YYN"}


async def test_a_denial_in_the_hit_sends_the_minimal_event(tmp_path):
    cfg = parse_config({"upstream": "http://127.0.0.1:1", "outbox": {"path": str(tmp_path / "o.sqlite")},
                        "identity": {"salt": "s-0123456789", "session_cookie": "sess"},
                        "destinations": {"tiktok": [{"pixel_id": "P1", "access_token": "tok-123456",
                                                     "events": ["PageView"]}]}}, env={})
    p = Pipeline(cfg)
    await p.outbox.open()
    try:
        events = parse_ga4_hit("GET", "v=2&en=page_view&gcs=G100", b"", FACTS)
        [acc] = p.accept(events, FACTS).accepted
        assert (acc.verdict, acc.consent_sources) == ("denied", ["hit:gcs"])
        await p.outbox.flush()
        [row] = await p.outbox.events(EventsQuery())
        assert row["payload"]["limited_data_use"] is True and set(row["payload"]["user"]) == {"ip"}
    finally:
        await p.outbox.close()
