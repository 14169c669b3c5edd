from __future__ import annotations

import pytest

from pixelscleared.event import CapturedEvent
from pixelscleared.shape import clean_properties, shape_event


@pytest.mark.parametrize("props, expected", [
    ({"value": "99.95", "currency": "eur"}, {"value": 99.95, "currency": "EUR"}),
    ({"value": "12,50"}, {"value": 12.5}),
    ({"value": "abc", "currency": "euro"}, {}),
    ({"value": float("nan")}, {}),
    ({"value": True}, {}),
    ({"value": 10**400, "num_items": -(10**400), "contents": [{"content_id": "a", "price": 10**400, "quantity": 10**20}]},
     {"contents": [{"content_id": "a"}], "content_type": "product"}),  # a 400-digit integer is dropped, not a crash
    ({"value": 1e308 * 10}, {}),
    ({"contents": [{"content_id": 119, "quantity": "2", "price": "9.5", "junk": 1}]},
     {"contents": [{"content_id": "119", "quantity": 2, "price": 9.5}], "content_type": "product"}),
    ({"contents": {"content_id": 7}}, {"contents": [{"content_id": "7"}], "content_type": "product"}),
    ({"contents": [{"content_id": "g1"}], "content_type": "product_group"},
     {"contents": [{"content_id": "g1"}], "content_type": "product_group"}),
    # the names sites and GA4 use for the same things
    ({"search_term": "red shoes"}, {"query": "red shoes", "search_string": "red shoes"}),
    ({"search_string": "mug"}, {"query": "mug", "search_string": "mug"}),
    ({"query": "mug", "search_term": "cup"}, {"query": "mug", "search_string": "mug"}),
    ({"transaction_id": "T-1"}, {"order_id": "T-1"}),
    ({"transaction_id": "T-1", "order_id": "O-1"}, {"order_id": "O-1"}),
    ({"items": [{"item_id": "SKU_1", "item_name": "Mug", "price": "9.5", "quantity": 2, "item_brand": "B",
                 "item_category": "Kitchen", "coupon": "X"}, "junk"]},
     {"contents": [{"content_id": "SKU_1", "content_name": "Mug", "price": 9.5, "quantity": 2, "brand": "B",
                    "content_category": "Kitchen"}], "content_type": "product"}),
    ({"items": [{"item_id": "a"}], "contents": [{"content_id": "b"}]},
     {"contents": [{"content_id": "b"}], "content_type": "product"}),
    ({"contents": ["x", None]}, {}),
    ({"content_ids": [1, "a", None]}, {"content_ids": ["1", "a"]}),
    ({"content_type": "product"}, {"content_type": "product"}),
    ({"content_type": "bogus"}, {}),
    ({"order_id": 1001, "num_items": "3"}, {"order_id": "1001", "num_items": 3}),
    ({"custom_field": "x", "email": "[email]"}, {}),
])
def test_clean_properties(props, expected):
    assert clean_properties(props) == expected


def test_shape_event():
    ev = CapturedEvent(name="purchase", event_id="e1", event_time=1_790_000_000, source="collect",
                       url="https://shop/done", referrer="https://shop/cart", properties={"value": 5, "currency": "usd"})
    obj = shape_event(ev, {"ip": "a" * 64}, True)
    assert obj == {"event": "Purchase", "event_time": 1_790_000_000, "event_id": "e1",
                   "user": {"ip": "a" * 64}, "properties": {"value": 5, "currency": "USD"},
                   "limited_data_use": True, "page": {"url": "https://shop/done", "referrer": "https://shop/cart"}}


@pytest.mark.parametrize("url, referrer, page", [
    ("https://shop/a", "", {"url": "https://shop/a"}),
    ("/relative/path", "http://r/", {"referrer": "http://r/"}),
    ("javascript:alert(1)", "", None),
])
def test_only_absolute_page_urls_are_sent(url, referrer, page):
    ev = CapturedEvent(name="Pageview", event_id="e", event_time=1, source="collect", url=url, referrer=referrer)
    assert shape_event(ev, {}, True).get("page") == page
