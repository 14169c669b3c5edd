from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.capture import MAX_EVENTS_PER_CALL, CaptureError, beacon_pixel_code, parse_tiktok_beacon
from pixelscleared.event import RequestFacts

FIXTURES = Path(__file__).parent / "fixtures" / "capture"
ATC = (FIXTURES / "tiktok_beacon_add_to_cart.json").read_bytes()
PAGEVIEW = (FIXTURES / "tiktok_beacon_pageview.json").read_bytes()
BEACON_TIME = 1782755533  # 2026-06-29T17:52:13.505Z
NOW = BEACON_TIME + 60.0
FACTS = RequestFacts(peer_ip="127.0.0.1", headers={"referer": "https://shop.example/from-header"},
                     url="https://shop.example/api/v2/pixel")
PII = ("jane.doe@example.com", "+4915112345678", "cust-00042", "01J1W8Y3ZQ5T0ZK3G8V0X2M4HN")


def parse(doc, query: str = ""):
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return parse_tiktok_beacon(body, query, FACTS, now=NOW)


def b64(doc, alphabet=base64.b64encode) -> str:
    return alphabet(json.dumps(doc).encode()).decode()


def test_add_to_cart_beacon():
    [e] = parse(ATC)
    assert (e.name, e.event_id, e.event_time, e.source) == ("AddToCart", "atc-7f3c2a9e-1", BEACON_TIME, "tiktok_pixel")
    assert e.url.startswith("https://shop.example/products/red-shirt?")
    assert e.referrer == "https://www.tiktok.com/"
    assert e.ttclid == "E.C.P.Cq4BbSmWz1pvqAzxL1"
    # copied as sent: string value and numeric content_id are the shape stage's to fix
    assert e.properties["value"] == "99.95"
    assert e.properties["contents"][0]["content_id"] == 119
    assert e.properties == json.loads(ATC)["properties"]


@pytest.mark.parametrize("body", [ATC, PAGEVIEW])
def test_context_user_never_reaches_the_event(body):
    events = parse(body)
    text = repr(events)
    for value in PII:
        assert value not in text
        assert value.lower() not in text.lower()


def test_pageview_without_event_id_gets_a_uuid():
    a, b = parse(PAGEVIEW), parse(PAGEVIEW)
    assert a[0].name == "Pageview"
    assert len(a[0].event_id) == 36 and a[0].event_id != b[0].event_id
    assert a[0].url == "https://shop.example/" and a[0].referrer == "" and a[0].ttclid == ""


@pytest.mark.parametrize("query", [
    "analytics_message=" + quote(b64(json.loads(ATC))),  # percent-encoded, as a browser sends it
    "analytics_message=" + b64(json.loads(ATC)),  # raw: a `+` arrives as a space
    "analytics_message=" + b64(json.loads(ATC), base64.urlsafe_b64encode).rstrip("="),
    "sdkid=CKTESTPIXEL000000001&analytics_message=" + quote(
        base64.b64encode(quote(json.dumps(json.loads(ATC))).encode()).decode()),  # btoa(encodeURIComponent(…))
])
def test_act_message_in_the_query(query):
    [e] = parse_tiktok_beacon(b"", query, FACTS, now=NOW)
    assert (e.name, e.event_id, e.ttclid) == ("AddToCart", "atc-7f3c2a9e-1", "E.C.P.Cq4BbSmWz1pvqAzxL1")
    assert "jane.doe@example.com" not in repr(e)


@pytest.mark.parametrize("body", [
    ("analytics_message=" + quote(b64(json.loads(ATC)))).encode(),
    b64(json.loads(ATC)).encode() + b"\n",
])
def test_act_message_in_the_body(body):
    [e] = parse_tiktok_beacon(body, "", FACTS, now=NOW)
    assert e.event_id == "atc-7f3c2a9e-1"


def test_batch_and_list():
    one = json.loads(ATC)
    two = {**json.loads(PAGEVIEW), "event_id": "pv-1"}
    for doc in ({"batch": [one, two]}, [one, two]):
        assert [e.event_id for e in parse(doc)] == ["atc-7f3c2a9e-1", "pv-1"]


@pytest.mark.parametrize("item, expect", [
    ({"timestamp": "2026-06-29T17:52:13.505+00:00"}, {"event_time": BEACON_TIME}),
    ({"timestamp": "2026-06-29T19:52:13+02:00"}, {"event_time": BEACON_TIME}),
    ({"timestamp": (BEACON_TIME - 10) * 1000}, {"event_time": BEACON_TIME - 10}),
    ({"timestamp": "2026-06-29T17:52:13"}, {"event_time": int(NOW)}),  # no offset: unusable
    ({"timestamp": "2027-01-01T00:00:00Z"}, {"event_time": int(NOW)}),  # future
    ({"timestamp": "2026-05-01T00:00:00Z"}, {"event_time": int(NOW)}),  # older than 7 days
    ({"timestamp": "yesterday"}, {"event_time": int(NOW)}),
    ({"timestamp": 10**400}, {"event_time": int(NOW)}),
    ({"timestamp": float("nan")}, {"event_time": int(NOW)}),
    ({"timestamp": True}, {"event_time": int(NOW)}),
    ({"event_id": 12345}, {"event_id": "12345"}),
    ({"context": {"page": {"url": "https://s/p"}, "ad": {"callback": "CB1"}}}, {"ttclid": "CB1", "url": "https://s/p"}),
    ({"context": {"page": {"url": "https://s/p?ttclid=URL1"}, "ad": {"callback": "CB1"}}}, {"ttclid": "URL1"}),
    ({"context": {"ad": {"callback": 5}}}, {"ttclid": ""}),
    ({"context": {}}, {"url": "https://shop.example/from-header", "referrer": ""}),
    ({"properties": None}, {"properties": {}}),
    ({"event": " Purchase "}, {"name": "Purchase"}),
    # some pixel builds send page.url percent-encoded whole
    ({"context": {"page": {"url": "https%3A%2F%2Fshop.example%2Fp%3Fttclid%3DT9"}}},
     {"url": "https://shop.example/p?ttclid=T9", "ttclid": "T9"}),
])
def test_fields(item, expect):
    doc = {"event": "ViewContent", "event_id": "E1", "timestamp": "2026-06-29T17:52:13Z", **item}
    [e] = parse(json.dumps(doc, allow_nan=True).encode())
    for key, value in expect.items():
        assert getattr(e, key) == value


@pytest.mark.parametrize("doc, kept", [
    ({"event": "Click"}, []),
    ({"event": "Metadata"}, []),
    ({"event": ""}, []),
    ({"event": None}, []),
    ([{"event": "Metadata"}, {"event": "AddToCart", "event_id": "a1"}, {"event": "Click"}], ["a1"]),
])
def test_the_pixels_automatic_pings_are_left_out_not_refused(doc, kept):
    """Auto-click and metadata pings are no conversions: answered, ignored, and not bad calls."""
    assert [e.event_id for e in parse(json.dumps(doc).encode())] == kept


def test_without_page_url_or_referer_there_is_no_page_url():
    facts = RequestFacts(peer_ip="127.0.0.1", headers={}, url="https://shop.example/api/v2/pixel")
    [e] = parse_tiktok_beacon(b'{"event": "X"}', "", facts, now=NOW)
    assert e.url == ""


def test_pixel_code():
    assert beacon_pixel_code(ATC, "") == "CKTESTPIXEL000000001"
    assert beacon_pixel_code(b'{"event":"X"}', "") == ""
    assert beacon_pixel_code(b'{"event":"X","context":{"pixel":{"code":"<b>"}}}', "") == ""
    with pytest.raises(CaptureError):
        beacon_pixel_code(b"", "")


@pytest.mark.parametrize("body, query, reason", [
    (b"", "", "no beacon in the body or the query"),
    (b"{not json", "", "body: not JSON"),
    (b"[" * 100_000, "", "body: nested too deeply"),
    (b"\xff\xfe\x00", "", "body is neither JSON nor an analytics_message"),
    (b"", "analytics_message=%%%%", "analytics_message is not base64"),
    (b"", "analytics_message=" + base64.b64encode(b"not json").decode(), "analytics_message: not JSON"),
    (b"", "&".join(["a=1"] * 1001) + "&analytics_message=x", "too many query parameters"),
    (b"x" * (256 * 1024 + 1), "", "call larger than"),
    (b"[]", "", "no events"),
    (b'{"batch": []}', "", "no events"),
    (b"[1]", "", "event: must be a JSON object"),
    (b'[{"event":"X"}, 2]', "", "events[1]: must be a JSON object"),
    (b'{"event": "<script>"}', "", "event.event: must be a name"),
    (b'{"event": "X", "event_id": true}', "", "event.event_id: must be a string"),
    (b'{"event": "X", "event_id": "has space"}', "", "event.event_id: must be a string"),
    (b'{"event": "X", "properties": [1]}', "", "event.properties: must be a JSON object"),
    (b'{"event": "X", "context": "c"}', "", "event.context: must be a JSON object"),
    (b'{"event": "X", "context": {"page": 1}}', "", "event.context.page: must be a JSON object"),
    (b'{"event": "X", "context": {"ad": []}}', "", "event.context.ad: must be a JSON object"),
    (b'{"event": "X", "context": {"page": {"url": 1}}}', "", "event.context.page.url: must be a string"),
    (b'{"event": "X", "context": {"page": {"referrer": {}}}}', "", "event.context.page.referrer: must be a string"),
    (json.dumps([{"event": "X"}] * (MAX_EVENTS_PER_CALL + 1)).encode(), "", "more than 50 events"),
])
def test_bad_beacons_raise_capture_error(body, query, reason):
    with pytest.raises(CaptureError) as e:
        parse_tiktok_beacon(body, query, FACTS, now=NOW)
    assert str(e.value).startswith(reason)


def test_reasons_never_echo_values():
    secret = "jane.doe@example.com"
    for body in ([{"event": secret}], {"event": "X", "event_id": secret + " x"}, {"event": "X", "context": secret}):
        with pytest.raises(CaptureError) as e:
            parse(body)
        assert secret not in str(e.value)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)
_user = st.fixed_dictionaries({}, optional={
    "email": st.uuids().map(lambda u: f"pii-{u.hex}@example.com"),
    "phone_number": st.uuids().map(lambda u: f"+49{u.int % 10**11:011d}"),
    "external_id": st.uuids().map(lambda u: f"ext-{u.hex}"),
})
_beacon = st.fixed_dictionaries(
    {"context": st.fixed_dictionaries({"user": _user}, optional={
        "page": st.dictionaries(st.sampled_from(["url", "referrer"]), st.text(max_size=30)),
        "ad": st.dictionaries(st.sampled_from(["callback", "x"]), st.text(max_size=20) | _json_values),
        "pixel": st.dictionaries(st.sampled_from(["code"]), _json_values),
    })},
    optional={"event_id": st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=10) | st.integers()
              | st.text(max_size=5) | st.none(),
              "timestamp": st.text(max_size=30) | st.integers() | st.floats(),
              "properties": st.dictionaries(st.text(max_size=8), _json_values, max_size=4) | _json_values},
).flatmap(lambda d: st.sampled_from(["Pageview", "AddToCart"]).map(lambda name: {"event": name, **d})
          | st.text(max_size=10).map(lambda name: {"event": name, **d}))


@settings(max_examples=300, deadline=None)
@given(_beacon, st.sampled_from(["body", "query", "batch"]))
def test_context_user_never_leaks(doc, transport):
    body, query = json.dumps(doc).encode(), ""
    if transport == "query":
        body, query = b"", "analytics_message=" + quote(base64.b64encode(body).decode())
    elif transport == "batch":
        body = json.dumps({"batch": [doc, doc]}).encode()
    try:
        events = parse_tiktok_beacon(body, query, FACTS, now=NOW)
    except CaptureError:
        return
    text = repr(events)
    for value in doc["context"]["user"].values():
        assert value not in text
    assert all(isinstance(e.event_id, str) and e.event_id for e in events)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000) | _json_values.map(lambda d: json.dumps(d).encode()), st.text(max_size=200))
def test_no_input_crashes_the_parser(body, query):
    try:
        events = parse_tiktok_beacon(body, query, FACTS, now=NOW)
    except CaptureError:
        return
    assert all(isinstance(e.event_time, int) for e in events)
