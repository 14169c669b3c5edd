"""Decide: which pixels take an event and its fate for each, as the rows to write (pure)."""

from __future__ import annotations

import pytest

from pixelscleared.config import parse_config
from pixelscleared.consent import Verdict
from pixelscleared.decide import NO_PIXEL, Drop, decide
from pixelscleared.event import CapturedEvent
from pixelscleared.outbox import Status
from pixelscleared.scrub import Removed
from pixelscleared.scrub.event import ScrubbedEvent

PIXELS = parse_config({"upstream": "http://x:1", "destinations": {"tiktok": [
    {"pixel_id": "CKPIX", "access_token": "tok-123456", "events": ["PageView", "CompletePayment", "MyCustom"],
     "test_event_code": "TEST1"},
    {"pixel_id": "OTHER", "access_token": "tok-654321", "events": ["CompletePayment"]},
]}}, env={}).destinations.tiktok
PIXEL = PIXELS[0]
GRANTED = Verdict("granted", ("cookieyes:cookieyes-consent",))
DENIED = Verdict("denied", ("gpc:Sec-GPC",))
PAYLOAD = {"event": "Purchase", "event_id": "e1"}


@pytest.mark.parametrize("name, wanted", [
    ("page_view", True), ("purchase", True), ("AddToCart", False), ("MyCustom", True),
    # renamed events match in either spelling: the config lists CompletePayment
    ("Purchase", True), ("CompletePayment", True), ("Lead", False), ("mycustom", False),
])
def test_pixel_takes_only_its_events(name, wanted):
    assert PIXEL.takes(name) is wanted


def pixel(events: list[str], **over):
    return parse_config({"upstream": "http://x:1", "destinations": {"tiktok": [
        {"pixel_id": "P", "access_token": "tok-123456", "events": events, **over}]}}, env={}).destinations.tiktok[0]


@pytest.mark.parametrize("events, spelling, captured, sent", [
    (["CompletePayment"], "as_captured", "Purchase", "Purchase"),
    (["CompletePayment"], "as_captured", "CompletePayment", "CompletePayment"),
    (["CompletePayment"], "as_captured", "purchase", "Purchase"),          # GA4: TikTok's current name
    (["Purchase"], "legacy", "Purchase", "CompletePayment"),
    (["Purchase"], "legacy", "purchase", "CompletePayment"),
    (["SubmitForm"], "current", "SubmitForm", "Lead"),
    (["Lead"], "current", "generate_lead", "Lead"),
    (["Lead"], "legacy", "Lead", "SubmitForm"),
    (["PageView"], "legacy", "Pageview", "Pageview"),                      # not renamed: as it is
])
def test_each_pixel_gets_the_spelling_it_asked_for(events, spelling, captured, sent):
    p = pixel(events, event_names=spelling)
    assert p.takes(captured)
    [row] = decide(captured, scrubbed(captured), GRANTED, {"event": "x", "event_id": "e1"}, [p], "minimal").rows
    assert (row.event_name, row.payload["event"]) == (sent, sent)


def scrubbed(name: str = "purchase", problem: str = "", test_event_code: str = "") -> ScrubbedEvent:
    ev = CapturedEvent(name=name, event_id="e1", event_time=1, source="collect", test_event_code=test_event_code)
    return ScrubbedEvent(ev, [Removed("properties.email", "email")], problem)


@pytest.mark.parametrize("name, problem, verdict, unconsented, fates, drop", [
    ("purchase", "", GRANTED, "minimal", {"CKPIX": ("queued", ""), "OTHER": ("queued", "")}, None),
    ("purchase", "", DENIED, "minimal", {"CKPIX": ("queued", ""), "OTHER": ("queued", "")}, None),
    ("purchase", "", DENIED, "drop",
     {p: ("dropped", "consent denied and unconsented: drop") for p in ("CKPIX", "OTHER")}, Drop.CONSENT),
    ("purchase", "", GRANTED, "drop", {"CKPIX": ("queued", ""), "OTHER": ("queued", "")}, None),
    ("PageView", "", GRANTED, "minimal", {"CKPIX": ("queued", "")}, None),
    ("AddToCart", "", GRANTED, "minimal", {NO_PIXEL: ("dropped", "no pixel takes this event")}, Drop.NO_PIXEL),
    ("purchase", "too deep", GRANTED, "minimal",
     {p: ("dropped", "scrub failed: too deep") for p in ("CKPIX", "OTHER")}, Drop.SCRUB_FAILED),
    # a failed scrub wins over consent: the reason a tester reads is the first that stopped it
    ("purchase", "too deep", DENIED, "drop",
     {p: ("dropped", "scrub failed: too deep") for p in ("CKPIX", "OTHER")}, Drop.SCRUB_FAILED),
])
def test_fates(name, problem, verdict, unconsented, fates, drop):
    decision = decide(name, scrubbed(name, problem), verdict, PAYLOAD, PIXELS, unconsented)
    assert {r.pixel_id: (r.status, r.reason) for r in decision.rows} == fates
    assert decision.drop == drop
    for r in decision.rows:
        # nothing dropped carries data; a queued row carries the payload under the name it is sent as
        assert r.payload == ({**PAYLOAD, "event": r.event_name} if r.status == Status.QUEUED else None)
        assert (r.verdict, r.consent_sources) == (verdict.state, list(verdict.sources))
        assert r.removed == [{"path": "properties.email", "kind": "email"}]


def test_rows_carry_the_tiktok_name_and_the_test_code():
    decision = decide("purchase", scrubbed(test_event_code="REQ1"), GRANTED, PAYLOAD, PIXELS, "minimal")
    assert {(r.pixel_id, r.event_name, r.test_event_code) for r in decision.rows} == {
        ("CKPIX", "Purchase", "REQ1"), ("OTHER", "Purchase", "REQ1")}
    decision = decide("purchase", scrubbed(), GRANTED, PAYLOAD, PIXELS, "minimal")
    assert {(r.pixel_id, r.test_event_code) for r in decision.rows} == {("CKPIX", "TEST1"), ("OTHER", "")}


def test_a_pixel_listing_a_name_the_scrubber_redacted_still_records_the_drop():
    """The captured name chooses the pixels; the row shows the redacted one."""
    ev = ScrubbedEvent(CapturedEvent(name="Redacted", event_id="e1", event_time=1, source="collect"), [],
                       "event name holds personal data")
    [row] = decide("MyCustom", ev, GRANTED, PAYLOAD, PIXELS, "minimal").rows
    assert (row.pixel_id, row.event_name, row.status) == ("CKPIX", "Redacted", "dropped")


@pytest.mark.parametrize("over, host, fates", [
    ({}, "shop.example", {"P": ("queued", "TEST9")}),                                  # no hosts: all, code everywhere
    ({"hosts": ["shop.example"]}, "shop.example", {"P": ("queued", "TEST9")}),
    ({"hosts": ["shop.example"]}, "other.example", {NO_PIXEL: ("dropped", "")}),
    ({"hosts": ["*.shop.example"]}, "de.shop.example", {"P": ("queued", "TEST9")}),
    ({"hosts": ["*.shop.example"]}, "SHOP.EXAMPLE", {NO_PIXEL: ("dropped", "")}),
    ({"test_event_code_hosts": ["staging.*"]}, "staging.shop.example", {"P": ("queued", "TEST9")}),
    ({"test_event_code_hosts": ["staging.*"]}, "shop.example", {"P": ("queued", "")}),   # production: live
])
def test_hosts_and_test_codes_per_host(over, host, fates):
    p = pixel(["PageView"], test_event_code="TEST9", **over)
    rows = decide("PageView", scrubbed("PageView"), GRANTED, PAYLOAD, [p], "minimal", host).rows
    assert {r.pixel_id: (r.status, r.test_event_code) for r in rows} == fates


@pytest.mark.parametrize("over, problem", [
    ({"test_event_code_hosts": ["staging.*"]}, "test_event_code_hosts: set test_event_code too"),
    ({"hosts": ["shop example"]}, "'shop example' is not a host name or pattern"),
])
def test_host_settings_are_checked(over, problem):
    from pixelscleared.config import ConfigError

    with pytest.raises(ConfigError) as e:
        pixel(["PageView"], **over)
    assert problem in str(e.value)


@pytest.mark.parametrize("headers, url, host", [
    ({"host": "Shop.Example:8080"}, "", "shop.example"),
    ({"host": "[2001:db8::1]:443"}, "", "2001:db8::1"),
    ({}, "https://staging.shop.example/p", "staging.shop.example"),
])
def test_request_host(headers, url, host):
    from pixelscleared.event import RequestFacts

    assert RequestFacts(peer_ip="", headers=headers, url=url).host == host
