"""scrub/secrets.py through the engine: secrets in URLs removed, ids and campaign data kept."""

from __future__ import annotations

import pytest

from pixelscleared.scrub.engine import Scrubber
from pixelscleared.scrub.secrets import looks_opaque, looks_random, secret_param

S = Scrubber()


def scrub_url(url: str) -> tuple[str, list[str]]:
    res = S.scrub_value({"page_url": url})
    return res.value["page_url"], [r.kind for r in res.removed]


@pytest.mark.parametrize(("url", "secret"), [
    ("https://shop.example/12345/orders/abcdef0123456789abcdef0123456789/authenticate?key=6c8f0e2f5d3b4a1e9c7d2b0a8f6e4d2c",
     "6c8f0e2f5d3b4a1e9c7d2b0a8f6e4d2c"),                                           # Shopify order status
    ("https://shop.example/12345/orders/abcdef0123456789abcdef0123456789/authenticate?key=x",
     "abcdef0123456789abcdef0123456789"),                                           # … and its path token
    ("https://shop.example/checkout/order-received/4321/?key=wc_order_AbC123xYz789Q", "wc_order_AbC123xYz789Q"),
    ("https://shop.example/cart;jsessionid=0AB12CD34EF56789ABCDEF0123456789?x=1", "0AB12CD34EF56789"),
    ("https://shop.example/app;JSESSIONID=abc123def456/page", "abc123def456"),
    ("https://shop.example/account/reset-password/Mx9kQ2vL7pR4tZ8wN3bY6cF1hJ5sD0aE", "Mx9kQ2vL7pR4tZ8w"),
    ("https://shop.example/password/reset/550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b"),
    ("https://news.example/unsubscribe/8f3a2c91d4e5b6a7?list=weekly", "8f3a2c91d4e5b6a7"),
    ("https://shop.example/unsubscribe?u=a8Kd93jLqP0zXv7Yt2Wm&id=77", "a8Kd93jLqP0zXv7Yt2Wm"),
    ("https://app.example/login/magic?t=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", "Zm9vYmFyYmF6cXV4"),
    ("https://app.example/auth/verify-email/eyJ1c2VyIjo0Mn0xAbCdEf123", "eyJ1c2VyIjo0Mn0x"),
    ("https://b.s3.amazonaws.com/x.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
     "%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe",
     "AKIAIOSFODNN7EXAMPLE"),
    ("https://b.s3.amazonaws.com/x.pdf?X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe", "fe5f80f77d5fa3"),
    ("https://cdn.example/img.jpg?expires=1700000000&sig=9f86d081884c7d659a2feaa0c55ad015", "9f86d081884c7d"),
    ("https://storage.example/f?sv=2022-11-02&sp=r&sig=Qm9vZ3VzU2lnbmF0dXJlMTIz%3D", "Qm9vZ3VzU2ln"),  # Azure SAS
    ("https://x.example/?Token=abc123def456ghi789", "abc123def456ghi789"),
    ("https://x.example/?TOKEN=abc123def456ghi789", "abc123def456ghi789"),
    ("https://x.example/?oauth_token=Hdk39dLq02kd&state=af0ifjsldkj9234", "af0ifjsldkj9234"),
    ("https://x.example/cb?code=4/0AX4XfWh8dJq2Lr7sT9uV1wX3yZ5aB7cD9e", "0AX4XfWh8dJq2L"),     # OAuth code
    ("https://x.example/page?ref=campaign&data=R3JlYXRTZWNyZXRWYWx1ZTIwMjZ4eXo", "R3JlYXRTZWNyZXRW"),  # random under any key
])
def test_secrets_in_urls_are_removed(url, secret):
    out, kinds = scrub_url(url)
    assert secret not in out, out
    assert "secret" in kinds


@pytest.mark.parametrize("url", [
    "https://shop.example/?utm_source=tiktok&utm_medium=paid&utm_campaign=BlackFriday2026_DE_Retargeting",
    "https://shop.example/?ttclid=E.C.P.CsQBabcdefghijklmnopqrstuvwxyz0123456789ABCDEFghIJ",
    "https://shop.example/?gclid=Cj0KCQiA4L67BhDUARIsADWrl7GcXoZ1aBcD2eF3gH4iJ5kL6mN7oP8qR9s_wcB",
    "https://shop.example/?fbclid=IwAR2xYz9AbCdEfGhIjKlMnOpQrStUvWx1234567890aBcDeF",
    "https://shop.example/?srsltid=AfmBOoqXyZ1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT",
    "https://shop.example/?msclkid=8f3a2c91d4e5b6a7c8d9e0f1a2b3c4d5&_gl=1*abc123*_ga*MTIzNDU2Nzg5LjE3MDAwMDAwMDA.",
    "https://shop.example/orders/550e8400-e29b-41d4-a716-446655440000",                  # an order UUID
    "https://shop.example/products/7c9e6679-7425-40de-944b-e07fc1f90ae7?variant=44012345678901",
    "https://shop.example/p/5f8d0d55b54764421b7156c9",                                     # a Mongo ObjectId
    "https://shop.example/?_ga=GA1.2.1234567890.1699999999&cid=1234567890.1699999999",
    "https://shop.example/?sid=1782755500&sct=3&seg=1",                                     # GA4 session fields
    "https://shop.example/?code=SUMMER2026&promo=SummerSale2026Campaign",                   # coupons are words
    "https://shop.example/c/mens-shoes/running?page=2&sort=price-asc&size=44",
    "https://shop.example/product/B07XJ8C8F5?tag=shop-21&th=1",
    "https://shop.example/search?q=iPhone15ProMax256GB",
    "https://shop.example/id/dQw4w9WgXcQ",                                                  # an 11-char video id
    "https://shop.example/reset-your-style/summer-collection",                              # a secret word, no token
    "https://shop.example/?event_hash=9b74c9897bac770ffc029102a200c5de",                   # an analytics hash
])
def test_ids_and_campaign_data_in_urls_are_kept(url):
    out, kinds = scrub_url(url)
    assert (out, kinds) == (url, [])


@pytest.mark.parametrize(("value", "random"), [
    ("a8Kd93jLqP0zXv7Yt2Wm", True), ("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", True), ("SummerSale2026Campaign", False),
    ("BlackFriday2026_DE_Retargeting", False), ("9b74c9897bac770ffc029102a200c5de", False),
    ("iPhone15ProMax256GB", False), ("AKIAIOSFODNN7EXAMPLE", False), ("short1A", False),
])
def test_looks_random(value, random):
    assert looks_random(value) is random


@pytest.mark.parametrize(("value", "opaque"), [
    ("wc_order_AbC123xYz789Q", True), ("6c8f0e2f5d3b4a1e", True), ("SUMMER2026", True), ("summer", False),
    ("12345678", False), ("1.299,99", False), ("abc12", False),
])
def test_looks_opaque(value, opaque):
    assert looks_opaque(value) is opaque


@pytest.mark.parametrize(("key", "value", "secret"), [
    ("key", "wc_order_AbC123", True), ("KEY", "6c8f0e2f5d3b4a1e9c7d", True), ("key", "blue", False),
    ("code", "SUMMER2026", False), ("code", "4/0AX4XfWh8dJq2Lr7sT9u", True), ("sig", "abcd", True),
    ("ttclid", "a8Kd93jLqP0zXv7Yt2Wm", False), ("utm_content", "a8Kd93jLqP0zXv7Yt2Wm", False),
    ("sid", "1782755500", False), ("sid", "s3ss10nAbc123", True),
])
def test_secret_param(key, value, secret):
    assert secret_param(key, value) is secret


@pytest.mark.parametrize(("text", "email"), [
    ("contact: jane.doe@example。com", "jane.doe"),           # ideographic full stop U+3002
    ("jane.doe@example．com", "jane.doe"),                    # fullwidth full stop U+FF0E
    ("jane.doe@example｡com", "jane.doe"),                     # halfwidth ideographic U+FF61
    ("jane.doe＠example．co。uk", "jane.doe"),
    ('write to "jane doe"@example.com please', "jane doe"),   # quoted local part
    ('"jane.q.doe+shop"@example.org', "jane.q.doe"),
])
def test_disguised_emails_in_text(text, email):
    res = S.scrub_text(text)
    assert email not in res.value and [r.kind for r in res.removed] == ["email"]


@pytest.mark.parametrize("url", [
    "https://x.example/?to=jane.doe&#64;example.com",
    "https://x.example/?to=jane.doe&#x40;example.com&x=1",
    "https://x.example/share?to=jane.doe&commat;example.com",
])
def test_entity_encoded_at_inside_urls(url):
    out, kinds = scrub_url(url)
    assert "jane.doe" not in out and "email" in kinds


@pytest.mark.parametrize(("doc", "kept"), [
    ({"description": "Order OD4111111111111111 confirmed"}, True),
    ({"description": "Ref ORD-4111-1111-1111-1111"}, True),
    ({"description": "Invoice INV_4111111111111111"}, True),
    ({"items": [{"gtin": "4111111111111111", "ean": "5901234123457"}]}, True),
    ({"items": [{"barcode": 4111111111111111}]}, True),
    ({"description": "card 4111 1111 1111 1111"}, False),
    ({"description": "card: 4111111111111111"}, False),
    ({"description": "カード番号4111111111111111"}, False),
    ({"note": "ref4111 1111 1111 1111"}, False),
])
def test_order_ids_and_barcodes_are_not_cards(doc, kept):
    res = S.scrub_value(doc)
    assert (res.value == doc) is kept, res.value
