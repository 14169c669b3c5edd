"""The sidecar's own endpoints served directly (`listen.endpoints_port`), as the proxy serves them."""

from __future__ import annotations

import gzip
import json

import aiohttp
import pytest

from conftest import free_port, sidecar_config, wait_for, wait_http
from pixelscleared.config import ConfigError, parse_config

CONSENTED = {"Cookie": "cookieyes-consent=consentid:abc,consent:yes,action:yes,advertisement:yes"}


@pytest.fixture
async def both(origin, tiktok, run_sidecar, tmp_path):
    """One sidecar: its proxy's URL and its direct endpoints' URL."""
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url, max_body_bytes=4096,
                         admin={"token": "direct-admin-token-123"})
    cfg["listen"]["endpoints_port"] = free_port()
    sc = await run_sidecar(cfg)
    direct = f"http://127.0.0.1:{cfg['listen']['endpoints_port']}"
    await wait_http(direct + "/_pc/health")  # bound as the proxy starts running, a moment after it listens
    return sc.url, direct


async def test_a_collect_call_is_scrubbed_and_delivered(both, tiktok):
    _, direct = both
    call = {"event": "ClickButton", "event_id": "direct-1", "url": "https://shop.example/p?email=jane%40example.com",
            "properties": {"description": "call me at +44 20 7946 0958"}}
    async with aiohttp.ClientSession() as s, s.post(f"{direct}/_pc/collect", json=call, headers=CONSENTED) as r:
        assert r.status == 204 and r.headers["Cache-Control"] == "no-store"
    event = (await wait_for(lambda: tiktok.events, timeout=20))[0]
    assert event["event_id"] == "direct-1" and "jane" not in json.dumps(event) and "7946" not in json.dumps(event)


@pytest.mark.parametrize(("method", "path", "headers", "body"), [
    ("GET", "/_pc/health", {}, b""),
    ("GET", "/_pc/ttq.js", {}, b""),
    ("GET", "/_pc/nothing-here", {}, b""),
    ("GET", "/_pc/events?limit=1", {}, b""),                                        # admin: no token
    ("GET", "/_pc/events?limit=1", {"Authorization": "Bearer direct-admin-token-123"}, b""),
    ("POST", "/_pc/collect", {"Content-Type": "application/json"}, b""),           # empty body: 400
    ("POST", "/_pc/collect", {"Content-Type": "application/json"}, b'{"event": "Click'),  # broken JSON
    ("POST", "/_pc/collect", {"Content-Type": "application/octet-stream"}, bytes(range(256))),  # binary
    ("POST", "/_pc/collect", {"Content-Type": "application/json"}, b'[{"event": 7}]'),  # wrong types
    ("PUT", "/_pc/collect", {}, b""),
])
async def test_answers_are_the_proxys(both, method, path, headers, body):
    proxy, direct = both
    got = []
    async with aiohttp.ClientSession() as s:
        for base in (proxy, direct):
            async with s.request(method, base + path, headers=headers, data=body) as r:
                got.append((r.status, r.headers.get("Content-Type"), r.headers.get("Cache-Control"),
                            await r.read() if "events" not in path else b""))
    assert got[0] == got[1]


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"x" * 5000, {"Content-Type": "application/json"}, 413),                        # past max_body_bytes
    (gzip.compress(b"[" + b" " * 8000 + b"]"), {"Content-Encoding": "gzip"}, 413),   # decodes past it
    (b"not gzip at all", {"Content-Encoding": "gzip"}, 400),
])
async def test_bodies_are_bounded_and_checked(both, body, headers, status):
    _, direct = both
    async with aiohttp.ClientSession() as s, s.post(f"{direct}/_pc/collect", data=body, headers=headers) as r:
        assert r.status == status and "error" in await r.json()


async def test_only_the_endpoints_are_served(both):
    _, direct = both
    async with aiohttp.ClientSession() as s, s.get(f"{direct}/checkout") as r:
        assert r.status == 404  # never the site: its pages are the web server's


def test_the_port_must_differ_from_the_proxys(tmp_path):
    cfg = sidecar_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")
    cfg["listen"]["endpoints_port"] = cfg["listen"]["port"]
    with pytest.raises(ConfigError, match="endpoints_port"):
        parse_config(cfg, {"TEST_TIKTOK_TOKEN": "token"})
