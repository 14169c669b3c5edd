from __future__ import annotations

import pytest

from pixelscleared.config import parse_config
from pixelscleared.event import CapturedEvent
from pixelscleared.shape import build_request, clean_properties, shape_event, tiktok_event_name, wants

PIXEL = parse_config({"upstream": "http://x:1", "destinations": {"tiktok": [{
    "pixel_id": "CKPIX", "access_token": "tok-123456", "events": ["PageView", "CompletePayment", "MyCustom"],
    "test_event_code": "TEST1"}]}}, env={}).destinations.tiktok[0]


@pytest.mark.parametrize("name, expected", [
    ("PageView", "Pageview"), ("Pageview", "Pageview"), ("page_view", "Pageview"), ("purchase", "CompletePayment"),
    ("begin_checkout", "InitiateCheckout"), ("generate_lead", "SubmitForm"), ("MyCustom", "MyCustom"),
])
def test_event_names(name, expected):
    assert tiktok_event_name(name) == expected


@pytest.mark.parametrize("name, wanted", [("page_view", True), ("purchase", True), ("AddToCart", False),
                                          ("MyCustom", True)])
def test_pixel_takes_only_its_events(name, wanted):
    assert wants(PIXEL, name) is wanted


@pytest.mark.parametrize("props, expected", [
    ({"value": "99.95", "currency": "eur"}, {"value": 99.95, "currency": "EUR"}),
    ({"value": "12,50"}, {"value": 12.5}),
    ({"value": "abc", "currency": "euro"}, {}),
    ({"value": float("nan")}, {}),
    ({"value": True}, {}),
    ({"contents": [{"content_id": 119, "quantity": "2", "price": "9.5", "junk": 1}]},
     {"contents": [{"content_id": "119", "quantity": 2, "price": 9.5}]}),
    ({"contents": {"content_id": 7}}, {"contents": [{"content_id": "7"}]}),
    ({"contents": ["x", None]}, {}),
    ({"content_ids": [1, "a", None]}, {"content_ids": ["1", "a"]}),
    ({"content_type": "product"}, {"content_type": "product"}),
    ({"content_type": "bogus"}, {}),
    ({"order_id": 1001, "num_items": "3"}, {"order_id": "1001", "num_items": 3}),
    ({"custom_field": "x", "email": "[email]"}, {}),
])
def test_clean_properties(props, expected):
    assert clean_properties(props) == expected


def test_shape_event_and_request():
    ev = CapturedEvent(name="purchase", event_id="e1", event_time=1_790_000_000, source="collect",
                       url="https://shop/done", referrer="https://shop/cart", properties={"value": 5, "currency": "usd"})
    obj = shape_event(ev, {"ip": "a" * 64}, True)
    assert obj == {"event": "CompletePayment", "event_time": 1_790_000_000, "event_id": "e1",
                   "user": {"ip": "a" * 64}, "properties": {"value": 5, "currency": "USD"},
                   "limited_data_use": True, "page": {"url": "https://shop/done", "referrer": "https://shop/cart"}}
    body = build_request(PIXEL, [obj], "TEST1")
    assert body["event_source"] == "web" and body["event_source_id"] == "CKPIX"
    assert body["test_event_code"] == "TEST1" and body["data"] == [obj]
    assert "test_event_code" not in build_request(PIXEL, [obj])


@pytest.mark.parametrize("url, referrer, page", [
    ("https://shop/a", "", {"url": "https://shop/a"}),
    ("/relative/path", "http://r/", {"referrer": "http://r/"}),
    ("javascript:alert(1)", "", None),
])
def test_only_absolute_page_urls_are_sent(url, referrer, page):
    ev = CapturedEvent(name="Pageview", event_id="e", event_time=1, source="collect", url=url, referrer=referrer)
    assert shape_event(ev, {}, True).get("page") == page
