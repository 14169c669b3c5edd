"""The demo shop (`pixelscleared.demo.shop`) served for real on loopback, driven like a browser without JS."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.consent.engine import ConsentEngine
from pixelscleared.demo.shop import (
    CATALOGUE,
    CONSENT_COOKIE,
    SESSION_COOKIE,
    FormError,
    consent_cookie_value,
    form_field,
    parse_consent_cookie,
    safe_next,
    start_shop,
)

COOKIEYES = re.compile(
    r"cookieyes-consent=consentid:(?P<id>[A-Za-z0-9_-]+),consent:(?P<c>yes|no),action:yes,necessary:yes,"
    r"functional:no,analytics:no,performance:no,advertisement:(?P<ad>yes|no); Path=/; Max-Age=\d+; SameSite=Lax$")


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    server = await start_shop("127.0.0.1", 0)
    yield server.url
    await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A cookie-keeping client that does not follow redirects by itself (tests read them)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        yield s


def page_events(body: str) -> list[dict]:
    """The first-party tracking calls a page makes on load (what the inline script sends)."""
    m = re.search(r'<script type="application/json" id="pc-config">(.*?)</script>', body, re.S)
    assert m, "page has no tracking config"
    cfg = json.loads(m.group(1))
    assert cfg["collect"] == "/_pc/collect"
    return cfg["events"]


def form_event(body: str) -> tuple[str, dict, str]:
    """(event, properties, fields) a page's tracked form sends on submit."""
    m = re.search(r"data-pc-event=\"(\w+)\" data-pc-props='([^']*)'(?: data-pc-fields=\"([^\"]*)\")?", body)
    assert m, "page has no tracked form"
    return m.group(1), json.loads(html.unescape(m.group(2))), m.group(3) or ""


async def get(s: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with s.get(url, allow_redirects=False) as r:
        return r.status, await r.text()


async def post(s: aiohttp.ClientSession, url: str, data) -> aiohttp.ClientResponse:
    async with s.post(url, data=data, allow_redirects=False) as r:
        await r.read()
        return r


# --- pages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, title", [
    ("/", "Small things, made well"),
    ("/product/1001", "Linen Tote Bag"),
    ("/cart", "Your cart"),
    ("/contact", "Contact us"),
    ("/contact/thanks", "we got your message"),
    ("/consent", "Cookie settings"),
])
async def test_every_page_renders_and_tracks_a_pageview(shop, browser, path, title):
    status, body = await get(browser, shop + path)
    assert status == 200
    assert title in body
    assert page_events(body)[0] == {"event": "Pageview", "properties": {}}
    assert "fetch(cfg.collect" in body and "keepalive: true" in body
    # no choice made yet: the banner asks, except on the settings page that asks in full
    assert ('id="consent-banner"' in body) is (path != "/consent")


async def test_session_cookie_is_random_and_httponly(shop, browser):
    async with browser.get(shop + "/") as r:
        first = r.cookies[SESSION_COOKIE]
    assert first["httponly"] and first["path"] == "/"
    assert len(first.value) >= 24
    async with aiohttp.ClientSession() as other, other.get(shop + "/") as r:
        assert r.cookies[SESSION_COOKIE].value != first.value
    async with browser.get(shop + "/") as r:  # a known session is kept, not re-issued
        assert SESSION_COOKIE not in r.cookies


async def test_product_page_add_to_cart_sends_click_button(shop, browser):
    _, body = await get(browser, shop + "/product/1003")
    event, props, fields = form_event(body)
    assert event == "ClickButton"
    assert props["currency"] == "EUR" and props["value"] == 29.9
    assert props["contents"] == [{"content_id": "1003", "content_name": "Merino Beanie", "price": 29.9, "quantity": 1}]
    assert fields == ""
    assert 'action="/cart/add"' in body and 'name="quantity"' in body


async def test_purchase_flow_ends_on_thank_you_with_total(shop, browser):
    r = await post(browser, shop + "/cart/add", {"product_id": "1001", "quantity": "2"})
    assert r.status == 303 and r.headers["Location"] == "/cart"
    await post(browser, shop + "/cart/add", {"product_id": "1004", "quantity": "1"})
    _, cart = await get(browser, shop + "/cart")
    assert 'id="cart-total">€57.95<' in cart
    assert '<span class="count">3</span>' in cart

    status, checkout = await get(browser, shop + "/checkout")
    assert status == 200 and "Pay €57.95" in checkout
    for name in ("name", "email", "phone", "address"):
        assert f'name="{name}"' in checkout

    r = await post(browser, shop + "/checkout", {"name": "Anna Schmidt", "email": "anna@example.com",
                                                 "phone": "+49 151 23456789", "address": "Hauptstraße 12, Berlin"})
    assert r.status == 303
    location = r.headers["Location"]
    m = re.fullmatch(r"/checkout/thank-you\?order=(ORD-[0-9A-F]{10})", location)
    assert m, location
    order_id = m.group(1)

    status, thanks = await get(browser, shop + location)
    assert status == 200
    assert order_id in thanks and 'id="order-total">€57.95<' in thanks and "57.95 EUR" in thanks
    pageview, payment = page_events(thanks)
    assert pageview["event"] == "Pageview"
    assert payment == {"event": "CompletePayment", "properties": {
        "value": 57.95, "currency": "EUR", "order_id": order_id, "content_type": "product",
        "contents": [{"content_id": "1001", "content_name": "Linen Tote Bag", "price": 24.0, "quantity": 2},
                     {"content_id": "1004", "content_name": "Dotted Notebook A5", "price": 9.95, "quantity": 1}]}}
    _, cart = await get(browser, shop + "/cart")
    assert "Your cart is empty" in cart


def counted(body: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}">([^<]*)<', body)
    assert m, f"no #{element_id} on the page"
    return m.group(1)


@pytest.mark.parametrize("adds, items, total", [
    ([("1002", 1), ("1002", 1)], "2 items", "€29.00"),  # the same product twice is two items
    ([("1001", 2), ("1004", 1)], "3 items", "€57.95"),
    ([("1006", 1)], "1 item", "€8.50"),
    ([("1003", 1), ("1003", 2), ("1005", 1)], "4 items", "€101.70"),
])
async def test_item_count_and_total_agree_on_cart_checkout_and_thank_you(shop, browser, adds, items, total):
    for pid, qty in adds:
        await post(browser, shop + "/cart/add", {"product_id": pid, "quantity": str(qty)})
    badge = f'<span class="count">{items.split()[0]}</span>'
    _, cart = await get(browser, shop + "/cart")
    assert (counted(cart, "cart-items"), counted(cart, "cart-total")) == (items, total)
    assert badge in cart
    _, checkout = await get(browser, shop + "/checkout")
    assert (counted(checkout, "checkout-items"), counted(checkout, "checkout-total")) == (items, total)
    assert badge in checkout and f"Pay {total}" in checkout
    r = await post(browser, shop + "/checkout", {"name": "A", "email": "a@example.com",
                                                 "phone": "+4915112345678", "address": "Street 1"})
    _, thanks = await get(browser, shop + r.headers["Location"])
    assert (counted(thanks, "order-items"), counted(thanks, "order-total")) == (items, total)
    quantities = sum(c["quantity"] for c in page_events(thanks)[1]["properties"]["contents"])
    assert f"{quantities} item" in items  # what TikTok is told agrees with the page


@pytest.mark.parametrize("path, content_type, magic", [
    ("/favicon.ico", "image/x-icon", b"\x00\x00\x01\x00\x01\x00"),  # ICO header, one image
    ("/favicon.svg", "image/svg+xml", b"<svg "),
])
async def test_favicon_is_served_without_a_session_cookie(shop, browser, path, content_type, magic):
    async with browser.get(shop + path) as r:
        assert r.status == 200 and r.content_type == content_type
        body = await r.read()
        assert body.startswith(magic) and len(body) < 2048
        assert SESSION_COOKIE not in r.cookies  # racing the first page's cookie would lose its cart
    _, page = await get(browser, shop + "/")
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in page


async def test_remove_from_cart(shop, browser):
    await post(browser, shop + "/cart/add", {"product_id": "1002", "quantity": "1"})
    r = await post(browser, shop + "/cart/remove", {"product_id": "1002"})
    assert r.status == 303
    _, cart = await get(browser, shop + "/cart")
    assert "Your cart is empty" in cart


async def test_checkout_with_empty_cart_goes_back_to_cart(shop, browser):
    for method in ("GET", "POST"):
        async with browser.request(method, shop + "/checkout", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/cart"


@pytest.mark.parametrize("missing", ["name", "email", "phone", "address"])
async def test_checkout_names_the_missing_field(shop, browser, missing):
    await post(browser, shop + "/cart/add", {"product_id": "1001", "quantity": "1"})
    data = {"name": "A", "email": "a@example.com", "phone": "+4915112345678", "address": "Street 1"}
    data[missing] = "   "
    async with browser.post(shop + "/checkout", data=data, allow_redirects=False) as r:
        assert r.status == 400
        assert f"{missing} is required" in await r.text()


async def test_unknown_order_is_not_found(shop, browser):
    status, body = await get(browser, shop + "/checkout/thank-you?order=ORD-NOPE")
    assert status == 404 and "Page not found" in body


async def test_contact_form_tracks_raw_email_and_message(shop, browser):
    _, body = await get(browser, shop + "/contact")
    event, props, fields = form_event(body)
    assert (event, props, fields.split()) == ("SubmitForm", {"form": "contact"}, ["email", "message"])
    r = await post(browser, shop + "/contact", {"name": "Anna", "email": "anna@example.com", "message": "Hello"})
    assert r.status == 303 and r.headers["Location"] == "/contact/thanks"
    _, thanks = await get(browser, shop + "/contact/thanks")
    assert [e["event"] for e in page_events(thanks)] == ["Pageview", "Contact"]


async def test_contact_without_message_is_refused(shop, browser):
    async with browser.post(shop + "/contact", data={"name": "A", "email": "a@example.com"}) as r:
        assert r.status == 400 and "message is required" in await r.text()


# --- consent --------------------------------------------------------------------------------

@pytest.mark.parametrize("choice, consent, ad, verdict", [
    ("accept", "yes", "yes", "granted"),
    ("reject", "no", "no", "denied"),
])
async def test_consent_banner_writes_cookieyes_cookie(shop, browser, choice, consent, ad, verdict):
    r = await post(browser, shop + "/consent", {"choice": choice, "next": "/product/1001"})
    assert r.status == 303 and r.headers["Location"] == "/product/1001"
    raw = [h for h in r.headers.getall("Set-Cookie") if h.startswith(CONSENT_COOKIE + "=")]
    assert len(raw) == 1
    m = COOKIEYES.fullmatch(raw[0])
    assert m and (m["c"], m["ad"]) == (consent, ad), raw[0]
    assert "HttpOnly" not in raw[0]  # CookieYes' cookie is readable by page scripts

    # the sidecar's own consent engine reads it as the CMP's real cookie
    cookie = raw[0].split(";", 1)[0]
    assert ConsentEngine().evaluate(cookie, {}).state == verdict

    _, body = await get(browser, shop + "/")
    assert 'id="consent-banner"' not in body


async def test_consent_can_be_changed_and_keeps_its_id(shop, browser):
    _, body = await get(browser, shop + "/cart")
    assert 'href="/consent?next=/cart"' in body  # the footer link
    r1 = await post(browser, shop + "/consent", {"choice": "accept", "next": "/"})
    r2 = await post(browser, shop + "/consent", {"choice": "reject", "next": "/"})
    first, second = (COOKIEYES.fullmatch(next(h for h in r.headers.getall("Set-Cookie")
                                              if h.startswith(CONSENT_COOKIE))) for r in (r1, r2))
    assert first and second
    assert first["id"] == second["id"] and second["c"] == "no"
    _, page = await get(browser, shop + "/consent")
    assert 'id="consent-state">rejected<' in page


async def test_consent_rejects_unknown_choice(shop, browser):
    async with browser.post(shop + "/consent", data={"choice": "maybe"}, allow_redirects=False) as r:
        assert r.status == 400 and "choice must be accept or reject" in await r.text()


@pytest.mark.parametrize("given, expected", [
    ("/cart", "/cart"),
    ("/checkout/thank-you?order=ORD-1", "/checkout/thank-you?order=ORD-1"),
    ("//evil.example/", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("", "/"),
    (None, "/"),
    ("/" + "a" * 600, "/"),
])
def test_safe_next_only_allows_local_paths(given, expected):
    assert safe_next(given) == expected


@pytest.mark.parametrize("value, expected", [
    ("consentid:abc,consent:yes,advertisement:no", {"consentid": "abc", "consent": "yes", "advertisement": "no"}),
    ("", {}),
    (None, {}),
    ("garbage,,:,x", {"": ""}),
])
def test_parse_consent_cookie(value, expected):
    assert parse_consent_cookie(value) == expected


def test_consent_cookie_value_round_trips():
    assert parse_consent_cookie(consent_cookie_value("accept", "id1")) == {
        "consentid": "id1", "consent": "yes", "action": "yes", "necessary": "yes", "functional": "no",
        "analytics": "no", "performance": "no", "advertisement": "yes"}


# --- hostile input --------------------------------------------------------------------------

@pytest.mark.parametrize("data, status", [
    ({"product_id": "1001", "quantity": "abc"}, 400),
    ({"product_id": "1001", "quantity": "0"}, 400),
    ({"product_id": "1001", "quantity": "100"}, 400),
    ({"product_id": "1001", "quantity": "9" * 5000}, 400),
    ({"product_id": "9999", "quantity": "1"}, 404),
    ({"quantity": "1"}, 404),
])
async def test_bad_add_to_cart_gives_a_page_not_a_crash(shop, browser, data, status):
    async with browser.post(shop + "/cart/add", data=data, allow_redirects=False) as r:
        assert r.status == status
        assert "Fieldnote Goods" in await r.text()


@pytest.mark.parametrize("path, body, headers, status", [
    ("/cart/add", b"\x00\xff" * 100_000, {"Content-Type": "application/x-www-form-urlencoded"}, 413),
    ("/contact", b"\xff\xfe\x00garbage", {"Content-Type": "multipart/form-data; boundary=x"}, 400),
    ("/checkout", b"", {}, 303),
    ("/nope", b"", {}, 404),
])
async def test_hostile_bodies_are_answered_cleanly(shop, browser, path, body, headers, status):
    async with browser.post(shop + path, data=body, headers=headers, allow_redirects=False) as r:
        assert r.status == status
        assert r.status == 303 or "Fieldnote Goods" in await r.text()


@pytest.mark.parametrize("cookie", ["", "x", "a" * 500, "é-not-ascii", "abc;def", "../../etc"])
async def test_bad_session_cookie_is_replaced(shop, cookie):
    async with aiohttp.ClientSession() as s, s.get(shop + "/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as r:
        assert r.status == 200
        fresh = r.cookies[SESSION_COOKIE].value
    assert fresh != cookie and len(fresh) >= 24


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "email", "message"]), st.text(max_size=300)))
def test_form_field_accepts_or_names_the_problem(form):
    try:
        value = form_field(form, "name")
    except FormError as e:
        assert str(e).startswith("name ")
        assert form.get("name", "") not in str(e) or not form.get("name", "").strip()
    else:
        assert value == form["name"].strip() and 0 < len(value) <= 200


def test_catalogue_prices_and_ids_suit_tiktok():
    for pid, p in CATALOGUE.items():
        assert pid == p.id and p.id.isdigit() and isinstance(p.id, str)
        assert p.price > Decimal("0") and p.price == p.price.quantize(Decimal("0.01"))
        assert p.content(2)["content_id"] == pid
