"""Scrubbing throughput: median µs per typical event and MB/s on a ~1 MB body.

Run: `.venv/bin/python bench/bench_scrub.py` (part of `make bench`). One core, no network;
finishes in well under a minute. The target is ≥ 10,000 typical events/s so scrubbing never
limits the proxy.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from machine import reference_line

from pixelscleared.scrub import Scrubber, ScrubSettings

TARGET_EVENTS_PER_S = 10_000
RUNS = 5


def pixel_beacon(i: int) -> dict[str, Any]:
    """A TikTok-pixel-style beacon of about 2 KB, with a little personal data in it."""
    return {
        "event": "CompletePayment",
        "event_id": f"evt-{i:08d}-7f3a9c",
        "timestamp": "2024-05-01T12:00:00.000Z",
        "context": {
            "ad": {"callback": "E.C.P.CqgBqkZ2b3JkJ0oVEhC2dGlrdG9rLXBpeGVs", "sdk_version": "2.1.0"},
            "page": {
                "url": f"https://shop.example/checkout/thank-you?order_id=100{i}&utm_source=tiktok&utm_medium=paid"
                       "&utm_campaign=spring_sale_2024&email=jane.doe%40example.com",
                "referrer": "https://shop.example/checkout/payment?step=3&lang=en-GB",
            },
            "user": {"email": "jane.doe@example.com", "phone_number": "+44 20 7946 0958", "external_id": "u-1"},
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                          "Chrome/124.0.0.0 Safari/537.36",
            "library": {"name": "pixel.js", "version": "2.1.0"},
            "locale": "en-GB",
        },
        "properties": {
            "value": 129.9, "currency": "GBP", "order_id": f"100{i}", "content_type": "product",
            "contents": [
                {"content_id": f"SKU-{1000 + k}-BLK-M", "content_name": f"Organic cotton T-shirt, black, size M ({k})",
                 "content_category": "Apparel > Tops > T-shirts", "quantity": k + 1, "price": 19.95 + k,
                 "brand": "Acme Basics"}
                for k in range(6)
            ],
            "shipping_method": "Standard (3-5 working days)",
            "coupon": "SPRING24",
            "description": "Thanks for your order! Questions? Call us any time or reply to this email.",
            "note": "please leave the parcel at the door",
        },
    }


def ga4_hit(i: int) -> str:
    return (
        "https://shop.example/g/collect?v=2&tid=G-ABC123XYZ&gtm=45je4580v9&_p=1716200000000&gcd=13l3l3l3l1"
        f"&npa=0&dma=0&cid=1234567890.{1716200000 + i}&ul=en-gb&sr=1920x1080&uaa=x86&uab=64"
        "&uafvl=Chromium%3B124.0.6367.91%7CGoogle%2520Chrome%3B124.0.6367.91&uamb=0&uam=&uap=Windows&uapv=15.0.0"
        "&uaw=0&are=1&frm=0&pscdl=noapi&_eu=AAI&_s=3&sid=1716200000&sct=4&seg=1"
        "&dl=https%3A%2F%2Fshop.example%2Fcheckout%2Fthank-you%3Forder_id%3D1001%26email%3Djane.doe%2540example.com"
        "&dr=https%3A%2F%2Fshop.example%2Fcheckout%2Fpayment&dt=Thank%20you%20for%20your%20order%20%7C%20Shop"
        "&en=purchase&_c=1&pr1=id1001~nmOrganic%20cotton%20T-shirt~pr19.95~qt1&epn.value=129.9&ep.currency=GBP"
        "&ep.transaction_id=T-1001&ep.email=jane.doe%40example.com&up.phone=%2B442079460958&_et=1520&tfd=5412"
    )


def big_body() -> dict[str, Any]:
    events = []
    i = 0
    while len(json.dumps(events)) < 1_000_000:
        events.append(pixel_beacon(i))
        i += 1
    return {"batch": events}


def median_us(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def main() -> None:
    s = Scrubber()
    beacon = pixel_beacon(1)
    beacon_size = len(json.dumps(beacon))
    hit = ga4_hit(1)
    # sanity: the personal data really goes
    assert "jane.doe" not in json.dumps(s.scrub_value(beacon).value)
    assert "jane.doe" not in s.scrub_url(hit).value

    # Each event differs (ids, order numbers, URLs) as in real traffic; product names and
    # categories repeat, as they do on a real shop.
    n = 3000
    beacons = [pixel_beacon(i) for i in range(n)]
    hits = [ga4_hit(i) for i in range(n)]
    for i in range(200):  # warm-up
        s.scrub_value(beacons[i])
        s.scrub_url(hits[i])
    # Three passes, each a median over every event; the best pass is reported, since on a
    # shared machine a neighbour's burst only ever makes a pass slower.
    beacon_us = ga4_us = float("inf")
    for k in range(RUNS):
        # every pass sees events it has not seen (new ids and order numbers, as in real traffic)
        it_b = iter(beacons if k == 0 else [pixel_beacon(i) for i in range(k * n, (k + 1) * n)])
        it_h = iter(hits if k == 0 else [ga4_hit(i) for i in range(k * n, (k + 1) * n)])
        beacon_us = min(beacon_us, median_us(lambda it=it_b: s.scrub_value(next(it), "properties"), n))
        ga4_us = min(ga4_us, median_us(lambda it=it_h: s.scrub_url(next(it), "url"), n))

    def cold(fn):
        # no value seen before (keys stay known, as on a live site): every string examined in full
        for cache in (s.detectors.clean, s.detectors.clean_light, s.detectors.clean_thing, s.clean_urls, s.clean_pairs,
                      s.clean_paths, s.clean_maps):
            cache.clear()
        return fn()

    it_b, it_h = iter(beacons), iter(hits)
    cold_beacon_us = median_us(lambda: cold(lambda: s.scrub_value(next(it_b), "properties")), 500)
    cold_ga4_us = median_us(lambda: cold(lambda: s.scrub_url(next(it_h), "url")), 500)

    body = big_body()
    raw = json.dumps(body).encode()
    big = Scrubber(ScrubSettings(max_bytes=4_000_000, time_budget_ms=30_000))
    big.scrub_json_bytes(raw)  # warm-up, as for the events
    mb_s = len(raw) / (median_us(lambda: big.scrub_json_bytes(raw), 5) / 1e6) / 1e6

    print(f"scrub benchmark (one core; medians, best of {RUNS} passes)")
    print(f"  pixel beacon ({beacon_size} B JSON): median {beacon_us:7.1f} µs/event  -> {1e6 / beacon_us:8.0f} events/s")
    print(f"  GA4 hit      ({len(hit)} B URL):   median {ga4_us:7.1f} µs/event  -> {1e6 / ga4_us:8.0f} events/s")
    print(f"  first sight (no value seen before): beacon {cold_beacon_us:7.1f} µs, GA4 hit {cold_ga4_us:7.1f} µs")
    print(f"  large body   ({len(raw) / 1e6:.1f} MB JSON):  {mb_s:6.1f} MB/s")
    print(f"  {reference_line()}")
    worst = max(beacon_us, ga4_us)
    verdict = "meets" if 1e6 / worst >= TARGET_EVENTS_PER_S else "BELOW"
    print(f"  target {TARGET_EVENTS_PER_S} events/s: {verdict} ({1e6 / worst:.0f} events/s for the slower kind)")
    # for bench/run.py, which records the figures beside the throughput ones
    print("RESULT " + json.dumps({"scrub_beacon_us": round(beacon_us, 1), "scrub_ga4_us": round(ga4_us, 1),
                                  "scrub_mb_s": round(mb_s, 1), "target_events_per_s": TARGET_EVENTS_PER_S}))


if __name__ == "__main__":
    main()
