from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.capture import MAX_EVENTS_PER_CALL, CaptureError, parse_ga4_hit
from pixelscleared.event import RequestFacts

HITS = json.loads((Path(__file__).parent / "fixtures" / "capture" / "ga4_hits.json").read_text())
NOW = 1_782_755_600.0
FACTS = RequestFacts(peer_ip="127.0.0.1", headers={"referer": "https://shop.example/from-header"},
                     url="https://shop.example/g/collect")


def hit(name: str):
    h = HITS[name]
    return parse_ga4_hit(h["method"], h["query"], h["body"].encode(), FACTS, now=NOW)


def one(query: str, body: bytes = b"", method: str = "POST"):
    [event] = parse_ga4_hit(method, query, body, FACTS, now=NOW)
    return event


def test_page_view():
    [e] = hit("page_view")
    assert (e.name, e.source, e.event_time) == ("page_view", "ga4", int(NOW))
    assert e.url == "https://shop.example/?ttclid=E.C.P.Cq4BbSmWz1pvqAzxL1"
    assert e.referrer == "https://www.tiktok.com/"
    assert e.ttclid == "E.C.P.Cq4BbSmWz1pvqAzxL1"
    assert e.properties == {}
    assert len(e.event_id) == 36


def test_add_to_cart_items():
    [e] = hit("add_to_cart")
    assert e.name == "add_to_cart"
    assert e.properties == {
        "value": 49.97,
        "currency": "EUR",
        "item_list_name": "Summer",
        "contents": [
            {"content_id": "SKU-1", "content_name": "Red Shirt", "price": 19.99, "quantity": 2,
             "content_category": "Apparel", "brand": "Acme"},
            {"content_id": "SKU-2", "content_name": "Blue Cap", "price": 9.99, "quantity": 1,
             "content_category": "Accessories", "brand": "Acme"},
        ],
    }


def test_purchase_keeps_order_and_event_id():
    [e] = hit("purchase")
    assert e.event_id == "purchase-ORDER-10042"
    assert e.properties["order_id"] == "ORDER-10042"
    assert e.properties["value"] == 49.97 and e.properties["currency"] == "EUR"
    assert e.properties["tax"] == 7.98 and e.properties["coupon"] == "SUMMER10"
    assert not {"transaction_id", "event_id"} & set(e.properties)
    assert [c["content_id"] for c in e.properties["contents"]] == ["SKU-1", "SKU-2"]


def test_multi_event_body_overrides_shared_params():
    events = hit("batch")
    assert [e.name for e in events] == ["view_item", "scroll", "add_to_wishlist"]
    assert {e.url for e in events} == {"https://shop.example/products/red-shirt"}
    assert events[0].properties == {"value": 19.99, "currency": "EUR",
                                    "contents": [{"content_id": "SKU-1", "content_name": "Red Shirt", "price": 19.99}]}
    assert events[1].properties == {"percent_scrolled": 90}
    assert len({e.event_id for e in events}) == 3


def test_personal_params_are_passed_on_for_the_scrubber():
    """Capture only reads; ep.email reaches the event under its name, for the scrub stage to remove."""
    events = hit("pii")
    assert [e.name for e in events] == ["sign_up", "contact"]
    assert events[0].properties["email"] == "jane.doe@example.com"
    assert "email=jane.doe%40example.com" in events[0].url
    text = repr(events)
    assert "cust-00042" not in text  # uid is never read
    assert "+4915112345678" not in text  # nor are user properties (up.*)
    assert "1234567890.1782755500" not in text  # nor the client id


@pytest.mark.parametrize("query, body, expect", [
    ("v=2&en=x&epn.value=12", b"", {"properties": {"value": 12}}),
    ("v=2&en=x&ep.value=12.50", b"", {"properties": {"value": "12.50"}}),
    ("v=2&en=x&ep.value=1&epn.value=2", b"", {"properties": {"value": 2}}),
    ("v=2&en=x&epn.value=nan", b"", {"properties": {"value": "nan"}}),
    ("v=2&en=x&epn.value=1e999", b"", {"properties": {"value": "1e999"}}),
    ("v=2&en=x&ep.currency=USD", b"", {"properties": {"currency": "USD"}}),
    ("v=2&en=x&cu=EUR&ep.currency=USD", b"", {"properties": {"currency": "EUR"}}),
    ("v=2&en=x&ep.a=1&epn.a=2", b"", {"properties": {"a": 2}}),
    ("v=2&en=x&ep.=1&epn=2&foo.bar=3", b"", {"properties": {}}),
    ("v=2&en=x&pr1=nmOnly%20a%20name~qt1.0", b"", {"properties": {"contents": [{"content_name": "Only a name",
                                                                                 "quantity": 1}]}}),
    ("v=2&en=x&pr1=idA~idB~prabc~qt", b"", {"properties": {"contents": [{"content_id": "A", "price": "abc"}]}}),
    ("v=2&en=x&pr2=idB&pr10=idC&pr1=idA&pr0=idZ&pr201=idY", b"",
     {"properties": {"contents": [{"content_id": "A"}, {"content_id": "B"}, {"content_id": "C"}]}}),
    ("v=2&en=x&pr1=k0size~v0M", b"", {"properties": {}}),
    ("v=2&en=x", b"", {"url": "https://shop.example/from-header", "referrer": ""}),
    ("v=2&en=x&dl=https%3A%2F%2Fs%2Fp%3Fttclid%3DT1", b"", {"ttclid": "T1"}),
    ("v=2&en=x&ep.event_id=123", b"", {"event_id": "123"}),
    ("v=2&en=page_view", b"en=scroll", {"name": "scroll"}),
    ("v=2&en=page_view&dl=a", b"\r\n\r\ndl=b\r\n", {"name": "page_view", "url": "b"}),
    ("v=2&en=purchase&ep.transaction_id=T1", b"ep.transaction_id=T2", {"properties": {"order_id": "T2"}}),
    # no event id: the transaction id is one, so the browser pixel's copy with that id deduplicates
    ("v=2&en=purchase&ep.transaction_id=T-10042", b"", {"event_id": "T-10042"}),
    ("v=2&en=purchase&ep.transaction_id=T1&ep.event_id=E1", b"", {"event_id": "E1"}),
    # gtag writes a `~` inside a value as `~~`
    ("v=2&en=x&pr1=idA~~B~nmMug~~s%20%26%20Cups~qt2", b"",
     {"properties": {"contents": [{"content_id": "A~B", "content_name": "Mug~s & Cups", "quantity": 2}]}}),
    ("v=2&en=search&ep.search_term=red%20shoes", b"", {"properties": {"search_term": "red shoes"}}),
    ("v=2&en=x&dt=Title&tid=G-1&_et=5&up.plan=gold&upn.age=40", b"", {"properties": {}}),
])
def test_fields(query, body, expect):
    e = one(query, body)
    for key, value in expect.items():
        assert getattr(e, key) == value


def test_without_dl_or_referer_there_is_no_page_url():
    facts = RequestFacts(peer_ip="127.0.0.1", headers={}, url="https://shop.example/g/collect")
    [e] = parse_ga4_hit("GET", "v=2&en=x", b"", facts, now=NOW)
    assert e.url == ""


def test_a_transaction_id_that_cannot_be_an_event_id_is_only_the_order_id():
    e = one("v=2&en=purchase&ep.transaction_id=order%20one", b"")
    assert len(e.event_id) == 36 and e.properties["order_id"] == "order one"


def test_get_hit_ignores_the_body():
    assert one("v=2&en=page_view", b"en=scroll", method="GET").name == "page_view"


@pytest.mark.parametrize("query, body", [
    ("v=1&en=page_view", b""),
    ("en=page_view", b""),
    ("v=2&en=page_view", b"v=1&en=a\nv=1&en=b"),
    ("tid=UA-1&t=pageview", b""),
])
def test_other_versions_are_ignored(query, body):
    assert parse_ga4_hit("POST", query, body, FACTS, now=NOW) == []


def test_mixed_versions_keep_the_v2_lines():
    events = parse_ga4_hit("POST", "v=2", b"en=a\nv=1&en=b\nen=c", FACTS, now=NOW)
    assert [e.name for e in events] == ["a", "c"]


@pytest.mark.parametrize("query, body, reason", [
    ("v=2", b"", "event.en: must be a name"),
    ("v=2&en=", b"", "event.en: must be a name"),
    ("v=2&en=%3Cscript%3E", b"", "event.en: must be a name"),
    ("v=2&en=a", b"en=b\nen=", "events[1].en: must be a name"),
    ("v=2&en=a&ep.event_id=has%20space", b"", "event.ep.event_id: must be a string"),
    ("v=2&en=a&ep.event_id=" + "x" * 129, b"", "event.ep.event_id: must be a string"),
    ("v=2&en=a", b"\xff\xfe", "body is not UTF-8 text"),
    ("v=2&en=a", "\n".join(["en=x"] * (MAX_EVENTS_PER_CALL + 1)).encode(), "more than 50 events"),
    ("&".join(["a=1"] * 1001), b"", "query: more than 1000 parameters"),
    ("v=2", "&".join(["a=1"] * 1001).encode(), "body line 1: more than 1000 parameters"),
    ("v=2&en=" + "x" * (256 * 1024), b"", "hit larger than"),
])
def test_bad_hits_raise_capture_error(query, body, reason):
    with pytest.raises(CaptureError) as e:
        parse_ga4_hit("POST", query, body, FACTS, now=NOW)
    assert str(e.value).startswith(reason)


def test_reasons_never_echo_values():
    secret = "jane.doe@example.com"
    for query in (f"v=2&en={quote(secret)}", f"v=2&en=a&ep.event_id={quote(secret)}%20x"):
        with pytest.raises(CaptureError) as e:
            parse_ga4_hit("GET", query, b"", FACTS, now=NOW)
        assert secret not in str(e.value)


_keys = st.sampled_from(["v", "en", "dl", "dr", "cu", "ep.value", "epn.value", "ep.event_id", "ep.transaction_id",
                         "ep.x", "epn.y", "pr1", "pr2", "pr999", "uid", "cid"]) | st.text(max_size=8)
_params = st.lists(st.tuples(_keys, st.text(max_size=20) | st.sampled_from(
    ["2", "1", "page_view", "idA~nmB~pr1.5~qt2", "~~pr~qt~id", "1e309", "-0", "NaN"])), max_size=12)


def _qs(pairs) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["GET", "POST", "post"]), _params.map(_qs) | st.text(max_size=200),
       st.lists(_params.map(_qs), max_size=4).map(lambda ls: "\n".join(ls).encode()) | st.binary(max_size=500))
def test_no_input_crashes_the_parser(method, query, body):
    try:
        events = parse_ga4_hit(method, query, body, FACTS, now=NOW)
    except CaptureError:
        return
    for e in events:
        assert e.source == "ga4" and e.event_id and e.event_time == int(NOW)
        json.dumps(e.properties)  # plain JSON types only
