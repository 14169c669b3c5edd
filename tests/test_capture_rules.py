"""capture/rules.py: events from a site's ordinary traffic — a form post, a thank-you page, the
site's own tracking endpoint — with values read from the request and the response."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import serving, sidecar_config, wait_for
from pixelscleared.capture.rules import (
    MAX_RESPONSE_BYTES,
    RequestParts,
    ResponseTee,
    ValueSource,
    parse_form,
    read_request,
    read_response,
)
from pixelscleared.config import ConfigError, parse_config


def src(**kw: Any) -> ValueSource:
    return ValueSource.model_validate(kw)


REQ = RequestParts("POST", "/orders/1001/done", "total=49.90&cur=EUR", {"x-shop": "de"}, {"cart": "c-1"},
                   b'{"event": "AddToCart", "items": [{"price": 5}], "total": 10}', "application/json")


@pytest.mark.parametrize(("source", "value"), [
    ({"query": "total"}, "49.90"),
    ({"query": "missing", "default": "0"}, "0"),
    ({"json": "$.event"}, "AddToCart"),
    ({"json": "$.items[0].price"}, 5),
    ({"json": "$.nope"}, None),
    ({"path": r"/orders/(\d+)/"}, "1001"),
    ({"header": "X-Shop"}, "de"),
    ({"cookie": "cart"}, "c-1"),
    ({"const": "EUR"}, "EUR"),
])
def test_read_request(source, value):
    assert read_request(src(**source), REQ) == value


def test_forms_urlencoded_and_multipart():
    assert parse_form(b"name=Jane&msg=hi+there", "application/x-www-form-urlencoded") == {"name": "Jane",
                                                                                          "msg": "hi there"}
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nOrder question\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nsecret\r\n--XyZ--\r\n")
    assert parse_form(body, "multipart/form-data; boundary=XyZ") == {"subject": "Order question"}
    assert parse_form(b"\xff\xfe garbage", "multipart/form-data; boundary=") == {}


HTML = '<html><body><p id="order-number"> 1001 </p><span data-order-id="ORD-1001" data-currency="EUR"></span></body></html>'


@pytest.mark.parametrize(("source", "text", "is_html", "value"), [
    ({"html": "#order-number"}, HTML, True, "1001"),
    ({"html": "[data-order-id]", "attr": "data-order-id"}, HTML, True, "ORD-1001"),
    ({"html": "[data-missing]", "attr": "x", "default": "USD"}, HTML, True, "USD"),
    ({"html": "#order-number"}, "{}", False, None),                     # not HTML: not read
    ({"response_json": "$.order.id"}, '{"order": {"id": 7}}', False, 7),
    ({"response_json": "$.order.id"}, "<not json>", False, None),
])
def test_read_response(source, text, is_html, value):
    assert read_response(src(**source), text, is_html) == value


@pytest.mark.parametrize(("rule", "problem"), [
    ({"name": "x", "match": {"path": "/a"}, "event": {"query": "a", "json": "$.b"}}, "exactly one source"),
    ({"name": "x", "match": {"path": "/a"}, "event": {"json": "$["}}, "not a JSONPath"),
    ({"name": "x", "match": {"path": "/a"}, "event": {"path": "/a/(b)/(c)"}}, "exactly one group"),
    ({"name": "x", "match": {"path": "/a"}, "event": {"html": "p", "attr": "x"}, "respond": 204}, "no response"),
    ({"name": "x", "match": {"path": "a"}, "event": "Contact"}, "capture.rules[0].match.path"),
    ({"name": "x", "match": {"path": "/a", "method": "P OST"}, "event": "Contact"}, "capture.rules[0].match.method"),
    ({"name": "x", "match": {"path": "/a", "status": "2x"}, "event": "Contact"}, "capture.rules[0].match.status"),
])
def test_rules_are_validated_at_load_with_key_paths(rule, problem):
    with pytest.raises(ConfigError) as e:
        parse_config({"upstream": "http://127.0.0.1:1", "capture": {"rules": [rule]}}, {})
    assert any(problem in p for p in e.value.problems), e.value.problems


RULES = [
    {"name": "contact-form", "match": {"method": "POST", "path": "/contact"}, "event": "Contact"},
    {"name": "order-complete", "match": {"path": "/checkout/thank-you*"}, "event": "CompletePayment",
     "event_id": {"html": "[data-order-id]", "attr": "data-order-id"},
     "properties": {"value": {"query": "total"},
                    "currency": {"html": "[data-currency]", "attr": "data-currency", "default": "USD"},
                    "order_id": {"html": "#order-number"}}},
    {"name": "site-tracker", "match": {"method": "POST", "path": "/api/track"}, "event": {"json": "$.event"},
     "properties": {"value": {"json": "$.total"}, "currency": {"json": "$.cur"}}, "forward": "scrubbed"},
    {"name": "beacon", "match": {"method": "POST", "path": "/api/beacon"}, "event": "ClickButton", "respond": 204},
]


@pytest.fixture
async def shop():
    seen: dict[str, bytes] = {}

    async def contact(request: web.Request) -> web.Response:
        seen["contact"] = await request.read()
        return web.Response(text="<html><body>Thanks!</body></html>", content_type="text/html")

    async def thank_you(request: web.Request) -> web.Response:
        resp = web.Response(text=HTML, content_type="text/html", charset="utf-8")
        resp.enable_compression()
        return resp

    async def track(request: web.Request) -> web.Response:
        seen["track"] = await request.read()
        return web.Response(status=204)

    async def beacon(request: web.Request) -> web.Response:
        seen["beacon"] = await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/contact", contact)
    app.router.add_get("/checkout/thank-you", thank_you)
    app.router.add_post("/api/track", track)
    app.router.add_post("/api/beacon", beacon)
    async with serving(app) as url:
        yield url, seen


async def test_forms_thank_you_pages_and_the_sites_own_endpoints(shop, tiktok, run_sidecar, tmp_path):
    origin, seen = shop
    cfg = sidecar_config(tmp_path, origin, tiktok.url, capture={"rules": RULES})
    cfg["destinations"]["tiktok"][0]["events"] += ["AddToCart"]
    sc = await run_sidecar(cfg)
    granted = {"Cookie": "cookieyes-consent=consentid:abc,consent:yes,action:yes,advertisement:yes"}
    async with aiohttp.ClientSession() as s:
        form = {"name": "Jane Doe", "email": "jane@example.com", "message": "Where is my order?"}
        async with s.post(sc.url + "/contact", data=form, headers=granted) as r:
            assert r.status == 200 and "Thanks" in await r.text()
        async with s.get(sc.url + "/checkout/thank-you?total=49.90", headers=granted) as r:
            assert await r.text() == HTML  # the page, byte for byte once decoded (it came compressed)
            assert r.headers.get("Content-Encoding") in ("gzip", "deflate")  # compressed by the origin
        async with s.get(sc.url + "/checkout/thank-you?total=49.90", headers=granted) as r:
            assert r.status == 200  # the visitor reloads the thank-you page: the same order id again
        async with s.post(sc.url + "/api/track", headers=granted,
                          json={"event": "AddToCart", "total": 10, "cur": "EUR", "email": "jane@example.com"}) as r:
            assert r.status == 204
        async with s.post(sc.url + "/api/beacon", json={"x": 1}) as r:
            assert r.status == 204
    await wait_for(lambda: len(tiktok.events) >= 4, timeout=20)
    by_name = {e["event"]: e for e in tiktok.events}
    assert set(by_name) == {"Contact", "CompletePayment", "AddToCart", "ClickButton"}
    purchase = by_name["CompletePayment"]
    assert purchase["event_id"] == "ORD-1001"
    assert purchase["properties"]["value"] == 49.9 and purchase["properties"]["currency"] == "EUR"
    assert purchase["properties"].get("order_id") == "1001"
    assert by_name["AddToCart"]["properties"]["value"] == 10
    # the contact form reached the site as the visitor sent it; the tracker only scrubbed
    assert b"jane%40example.com" in seen["contact"] and b"Jane+Doe" in seen["contact"]
    tracked = json.loads(seen["track"])
    assert tracked == {"event": "AddToCart", "total": 10, "cur": "EUR"}
    assert "beacon" not in seen  # answered by the sidecar
    async with aiohttp.ClientSession() as s, s.get(sc.url + "/_pc/events?source=rule:order-complete") as r:
        rows = (await r.json())["events"]
    assert [(row["event_id"], row["repeats"]) for row in rows] == [("ORD-1001", 1)]
    assert [e["event_id"] for e in tiktok.events].count("ORD-1001") == 1  # a reload is not a second purchase


@pytest.mark.parametrize(("event", "values", "name", "event_id"), [
    ("Contact", {}, "Contact", None),                                          # a fresh id is made
    ({"json": "$.event"}, {"event": "AddToCart", "event_id": "o-1"}, "AddToCart", "o-1"),
    ({"json": "$.event"}, {"event": 7}, None, None),                            # not a name: no event
    ({"json": "$.event"}, {"event": "<script>"}, None, None),
])
def test_rule_event(event, values, name, event_id):
    from pixelscleared.capture.rules import Rule, rule_event
    rule = Rule.model_validate({"name": "r", "match": {"path": "/x"}, "event": event})
    made = rule_event(rule, {**values, "properties.value": 3, "properties.none": None}, "https://s.example/x", "")
    assert (made.name if made else None) == name
    if made:
        assert made.properties == {"value": 3} and made.source == "rule:r" and made.event_id
        assert event_id is None or made.event_id == event_id


# -- property tests: no input crashes extraction, and the response passes unchanged --------------

REQUEST_SOURCES = [src(query="q"), src(form="f"), src(json="$.a.b[0]"), src(json="$..price"),
                   src(path=r"/p/([^/]+)"), src(header="x-h"), src(cookie="c"), src(query="q", default="d")]
RESPONSE_SOURCES = [src(html="[data-order-id]", attr="data-order-id"), src(html="#n"), src(html="p > b"),
                    src(response_json="$.order.id"), src(response_json="$..total", default=0)]
SCALAR = (str, int, float, bool, type(None))


@settings(max_examples=300, deadline=None)
@given(query=st.text(max_size=200), body=st.binary(max_size=2000),
       ctype=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain",
                              "multipart/form-data; boundary=xyz", "multipart/form-data", ""]),
       path=st.text(max_size=80), header=st.text(max_size=80))
def test_any_request_reads_as_a_value_or_the_default_never_an_exception(query, body, ctype, path, header):
    parts = RequestParts("POST", "/p/" + path, query, {"x-h": header}, {"c": header}, body, ctype)
    for source in REQUEST_SOURCES:
        value = read_request(source, parts)
        assert isinstance(value, SCALAR) or isinstance(value, (list, dict))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=3000), st.binary(max_size=3000).map(lambda b: b.decode("latin-1")),
                      st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
                                   lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c,
                                                                                       max_size=4),
                                   max_leaves=20).map(json.dumps)),
       is_html=st.booleans())
def test_any_response_reads_as_a_value_or_the_default_never_an_exception(text, is_html):
    for source in RESPONSE_SOURCES:
        read_response(source, text, is_html)  # raises nothing


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=5000), max_size=12),
       encoding=st.sampled_from(["", "gzip", "br", "deflate", "zstd", "bogus"]))
def test_the_tee_passes_every_chunk_unchanged_and_keeps_a_bounded_copy(chunks, encoding):
    tee = ResponseTee(4096)
    assert [tee(c) for c in chunks] == chunks  # the visitor's bytes, exactly
    assert bytes(tee.data) == b"".join(chunks)[:4096]
    assert isinstance(tee.text(encoding, "text/html; charset=utf-8"), str)  # corrupt data: "", never a raise
    assert MAX_RESPONSE_BYTES >= 4096
