from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.capture import MAX_EVENTS_PER_CALL, CaptureError, parse_collect
from pixelscleared.event import RequestFacts

NOW = 1_790_000_000.0
FACTS = RequestFacts(peer_ip="127.0.0.1", headers={"referer": "http://shop/ref-page"}, url="http://shop/_pc/collect")


def parse(doc):
    return parse_collect(json.dumps(doc).encode(), FACTS, now=NOW)


@pytest.mark.parametrize("doc, expect", [
    ({"event": "PageView"}, {"name": "PageView", "url": "http://shop/ref-page", "event_time": int(NOW)}),
    ({"event": "AddToCart", "event_id": 123}, {"event_id": "123"}),
    ({"event": "X", "event_id": "abc-1"}, {"event_id": "abc-1"}),
    ({"event": "X", "event_time": NOW - 60}, {"event_time": int(NOW - 60)}),
    ({"event": "X", "event_time": (NOW - 60) * 1000}, {"event_time": int(NOW - 60)}),
    ({"event": "X", "event_time": NOW + 86400}, {"event_time": int(NOW)}),
    ({"event": "X", "event_time": NOW - 30 * 86400}, {"event_time": int(NOW)}),
    ({"event": "X", "event_time": float("nan")}, {"event_time": int(NOW)}),
    ({"event": "X", "event_time": 10**400}, {"event_time": int(NOW)}),
    ({"event": "X", "url": "http://s/p?ttclid=CLICK1&a=b"}, {"ttclid": "CLICK1"}),
    ({"event": "X", "properties": None}, {"properties": {}}),
    ({"event": "X", "referrer": "http://r/"}, {"referrer": "http://r/"}),
])
def test_parse_collect_fields(doc, expect):
    [event] = parse(doc)
    for key, value in expect.items():
        assert getattr(event, key) == value


def test_without_url_or_referer_the_page_is_unknown_not_the_collect_url():
    [event] = parse_collect(b'{"event": "X"}', RequestFacts(peer_ip="1.2.3.4", headers={}, url="http://shop/_pc/collect"))
    assert event.url == ""


def test_missing_event_id_gets_a_uuid():
    a, b = parse([{"event": "X"}, {"event": "Y"}])
    assert len(a.event_id) == 36 and a.event_id != b.event_id


@pytest.mark.parametrize("body, reason", [
    (b"not json", "body: not JSON"),
    (b"\xff\xfe", "body: not JSON"),
    (b"[" * 100_000, "body: nested too deeply"),
    (b"[]", "no events"),
    (b"5", "event: must be a JSON object"),
    (b'{"event": ""}', "event.event: must be a name"),
    (b'{"name": "X"}', "event: unknown key 'name' (known: event, event_id, event_time, properties, url, referrer)"),
    (b'{"event": "X", "propeties": {}}', "event: unknown key 'propeties'"),
    (b'{"event": "X", "jane@example.com": 1}', "event: unknown key (not shown)"),
    (b'{"properties": {}}', 'event.event: missing; every event needs a name such as "PageView"'),
    (b'{"event": "X", "event_id": 1.5}', "event.event_id: must be a string (or integer) of 1-128 printable characters"),
    (b'{"event": "<script>"}', "event.event: must be a name"),
    (b'{"event": "X", "event_id": true}', "event.event_id: must be a string"),
    (b'{"event": "X", "event_id": "has space"}', "event.event_id: must be a string"),
    (b'{"event": "X", "properties": []}', "event.properties: must be a JSON object"),
    (b'{"event": "X", "url": 5}', "event.url: must be a string"),
    (b'{"event": "X", "event_time": "2024-05-01T12:00:00Z"}', "event.event_time: must be a number"),
    (b'{"event": "X", "event_time": true}', "event.event_time: must be a number"),
    (b'[{"event": "X"}, {"event": 1}]', "events[1].event: must be a name"),
    (json.dumps([{"event": "X"}] * (MAX_EVENTS_PER_CALL + 1)).encode(), "more than"),
])
def test_bad_calls_raise_capture_error(body, reason):
    with pytest.raises(CaptureError) as e:
        parse_collect(body, FACTS, now=NOW)
    assert reason in str(e.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20).map(lambda d: json.dumps(d).encode()))
def test_no_input_crashes_the_parser(body):
    try:
        events = parse_collect(body, FACTS, now=NOW)
    except CaptureError:
        return
    assert all(isinstance(e.event_id, str) and e.event_id for e in events)
