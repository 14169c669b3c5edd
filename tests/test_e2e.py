"""End to end: origin + `pixelscleared run` (a real process) + the TikTok stand-in, on loopback."""

from __future__ import annotations

import json
import signal

import aiohttp
import pytest

from conftest import sidecar_config, wait_for

PIXEL = "CKTESTPIXEL000000001"


@pytest.fixture
async def stack(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url))
    return origin, tiktok, sc


async def fetch(session: aiohttp.ClientSession, url: str, **kw) -> tuple[int, dict[str, str], bytes]:
    async with session.get(url, **kw) as r:
        return r.status, dict(r.headers), await r.read()


async def test_pages_pass_through_byte_identical(stack):
    origin, _tiktok, sc = stack
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        for path in ("/", "/binary", "/some/page?x=1"):
            direct = await fetch(s, origin.url + path)
            proxied = await fetch(s, sc.url + path)
            assert proxied[0] == direct[0]
            assert proxied[2] == direct[2]
            for h in ("Content-Type", "Set-Cookie", "X-Origin"):
                assert proxied[1].get(h) == direct[1].get(h)


async def test_origin_sees_visitor_host_and_forwarded_headers(stack):
    origin, _tiktok, sc = stack
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/echo", headers={"Host": "shop.example"}) as r:
            assert (await r.json())["host"] == "shop.example"
    seen = origin.seen[-1]["headers"]
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert seen["X-Forwarded-Host"] == "shop.example"


@pytest.mark.parametrize("trusted, proto, host", [
    ([], "http", "shop.example"),                  # a visitor's own claims are replaced
    (["127.0.0.0/8"], "https", "www.shop.example"),  # a trusted load balancer's are kept
])
async def test_forwarded_proto_and_host_are_believed_only_from_trusted_proxies(
        origin, tiktok, run_sidecar, tmp_path, trusted, proto, host):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url, identity={"trusted_proxies": trusted}))
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/echo", headers={"Host": "shop.example", "X-Forwarded-Proto": "https",
                                                    "X-Forwarded-Host": "www.shop.example"}) as r:
            assert r.status == 200
    seen = origin.seen[-1]["headers"]
    assert (seen["X-Forwarded-Proto"], seen["X-Forwarded-Host"]) == (proto, host)


async def test_streamed_response_passes_through(stack):
    _origin, _tiktok, sc = stack
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/events-stream") as r:
            body = await r.read()
    assert body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


async def test_collect_call_reaches_tiktok_not_origin(stack):
    origin, tiktok, sc = stack
    event = {"event": "ClickButton", "event_id": "evt-0001",
             "properties": {"value": "19.90", "currency": "eur", "email": "jane.doe@example.com",
                            "contents": [{"content_id": 42, "quantity": 1, "price": 19.9}]},
             "url": "http://shop.example/product/42?utm_source=x"}
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", json=event,
                          headers={"Cookie": "cookieyes-consent=consent:yes,advertisement:yes; shop_session=abc",
                                   "User-Agent": "TestBrowser/1.0"}) as r:
            assert r.status == 204
    assert not any(req["path"].startswith("/_pc/") for req in origin.seen)
    got = await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == "evt-0001"])
    ev = got[0]
    assert ev["pixel_id"] == PIXEL
    assert ev["event"] == "ClickButton"
    assert ev["properties"]["value"] == 19.9
    assert ev["properties"]["currency"] == "EUR"
    assert ev["properties"]["contents"][0]["content_id"] == "42"
    assert "jane.doe" not in json.dumps(ev)
    assert ev["user"]["user_agent"] == "TestBrowser/1.0"
    assert len(ev["user"]["ip"]) == 64  # hashed by default
    assert ev["limited_data_use"] is False
    # the stand-in only accepts the right token for the pixel: check it saw it as valid
    reqs = [r for r in tiktok.requests if r.get("token_ok")]
    assert reqs, tiktok.requests


async def test_events_log_shows_fate(stack):
    _origin, tiktok, sc = stack
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": "evt-log-1",
                                                          "url": "http://shop.example/?email=a%40b.co"}) as r:
            assert r.status == 204
        await wait_for(lambda: tiktok.events)

        async def delivered():
            async with s.get(sc.url + "/_pc/events?event_id=evt-log-1") as r:
                rows = (await r.json())["events"]
            return rows and rows[0]["status"] == "delivered" and rows

        rows = None
        for _ in range(100):
            if rows := await delivered():
                break
            await __import__("asyncio").sleep(0.05)
    assert rows, "event never marked delivered"
    row = rows[0]
    assert row["verdict"] == "unknown"
    assert row["payload"]["limited_data_use"] is True
    assert "user_agent" not in row["payload"]["user"]
    assert row["response"]["code"] == 0
    assert any(r["path"].startswith("page.url") for r in row["removed"])
    assert "a%40b.co" not in json.dumps(row) and "a@b.co" not in json.dumps(row)


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b'{"event": 5}', 400),
    (b'[]', 400),
    (b'{"event": "PageView", "event_id": {"x": 1}}', 400),
])
async def test_bad_collect_calls_are_answered_not_forwarded(stack, body, status):
    origin, _tiktok, sc = stack
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", data=body, headers={"Content-Type": "application/json"}) as r:
            assert r.status == status
            assert "error" in await r.json()
    assert not any(req["path"].startswith("/_pc/") for req in origin.seen)


async def test_sidecar_stops_cleanly_and_token_never_logged(stack):
    _origin, tiktok, sc = stack
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", json={"event": "PageView"}) as r:
            assert r.status == 204
    await wait_for(lambda: tiktok.events)
    sc.proc.send_signal(signal.SIGINT)
    assert sc.proc.wait(15) == 0
    log = sc.log()
    assert "test-token-abcdef" not in log
    assert "Traceback" not in log


async def test_visitor_cookie_set_on_pages_only_with_consent(origin, tiktok, run_sidecar, tmp_path):
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url,
                         identity={"salt": "test-salt-value", "session_cookie": "", "visitor_cookie": "_pc_vid"})
    sc = await run_sidecar(cfg)
    granted = "cookieyes-consent=consent:yes,advertisement:yes"
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/", headers={"Cookie": granted}) as r:
            cookies = r.headers.getall("Set-Cookie")
        assert any(c.startswith("_pc_vid=") and "HttpOnly" in c and "SameSite=Lax" in c for c in cookies)
        assert any(c.startswith("shop_session=") for c in cookies)  # the site's own cookie is kept
        async with s.get(sc.url + "/", headers={"Cookie": "cookieyes-consent=consent:no,advertisement:no"}) as r:
            assert not any(c.startswith("_pc_vid=") for c in r.headers.getall("Set-Cookie"))
        async with s.get(sc.url + "/", headers={"Cookie": granted + "; _pc_vid=already"}) as r:
            assert not any(c.startswith("_pc_vid=") for c in r.headers.getall("Set-Cookie"))
        async with s.get(sc.url + "/binary", headers={"Cookie": granted}) as r:
            assert "Set-Cookie" not in r.headers  # only HTML pages
        vid = "abc123visitor"
        async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": "vid-1"},
                          headers={"Cookie": f"{granted}; _pc_vid={vid}"}) as r:
            assert r.status == 204
    [ev] = await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == "vid-1"])
    import hashlib
    assert ev["user"]["external_id"] == hashlib.sha256(("test-salt-value" + vid).encode()).hexdigest()


async def test_no_event_lost_while_tiktok_is_down_across_a_restart(origin, tiktok, run_sidecar, tmp_path):
    """TikTok failing → events wait on disk; the sidecar restarts; they are delivered once, same ids."""
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url)
    tiktok.set_control(mode="http_503")
    sc = await run_sidecar(cfg)
    ids = [f"down-{i}" for i in range(20)]
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", json=[{"event": "PageView", "event_id": i} for i in ids]) as r:
            assert r.status == 204
    await wait_for(lambda: any(r.get("http_status") == 503 for r in tiktok.requests))
    sc.proc.send_signal(signal.SIGTERM)
    assert sc.proc.wait(15) == 0
    assert not tiktok.events
    tiktok.set_control(mode="ok")
    sc2 = await run_sidecar(cfg)  # same outbox file
    await wait_for(lambda: {e["event_id"] for e in tiktok.events} >= set(ids), timeout=15)
    assert sorted(e["event_id"] for e in tiktok.events) == sorted(ids)  # each exactly once
    async with aiohttp.ClientSession() as s:
        async with s.get(sc2.url + "/_pc/events?status=delivered&limit=100") as r:
            rows = (await r.json())["events"]
    assert {row["event_id"] for row in rows} == set(ids)
    assert all(row["attempts"] >= 2 for row in rows)


@pytest.mark.parametrize("request_line", [
    b"GET http://127.0.0.2:{port}/steal HTTP/1.1\r\nHost: 127.0.0.2:{port}\r\n\r\n",
    b"CONNECT 127.0.0.2:{port} HTTP/1.1\r\nHost: 127.0.0.2:{port}\r\n\r\n",
])
async def test_never_an_open_forward_proxy(stack, request_line):
    """Absolute-form and CONNECT requests go only to the configured upstream (or nowhere): a real
    listener at the target they name must receive nothing."""
    import asyncio
    from urllib.parse import urlsplit

    origin, _tiktok, sc = stack
    reached: list[bytes] = []

    async def target(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(await reader.read(100))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstolen")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(target, "127.0.0.2", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        u = urlsplit(sc.url)
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        writer.write(request_line.replace(b"{port}", str(port).encode()))
        await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.read(4096), 10)
        finally:
            writer.close()
        await asyncio.sleep(0.2)
    finally:
        server.close()
        await server.wait_closed()
    assert reached == [] and b"stolen" not in answer  # never relayed to the named host
    if answer.startswith(b"HTTP/1.1 200"):  # or answered by our own origin, which recorded it
        assert origin.seen and origin.seen[-1]["path"].startswith("/steal")


async def test_large_bodies_stream_both_ways(stack):
    from conftest import LARGE_BODY

    origin, _tiktok, sc = stack
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/large") as r:
            assert await r.read() == LARGE_BODY
        async with s.post(sc.url + "/echo", data=LARGE_BODY) as r:
            assert (await r.json())["len"] == len(LARGE_BODY)
    assert origin.seen[-1]["body"] == LARGE_BODY


async def test_websocket_passes_through(stack):
    _origin, _tiktok, sc = stack
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(sc.url + "/ws") as ws:
            for text in ("hello", "second"):
                await ws.send_str(text)
                assert (await ws.receive(timeout=5)).data == f"echo:{text}"


async def raw_request(url: str, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request with the target sent as written (clients normalise `//` and `%5F`)."""
    import asyncio
    from urllib.parse import urlsplit

    u = urlsplit(url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    head = (f"{method} {target} HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    writer.write(head.encode() + body)
    await writer.drain()
    try:
        response = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_our_endpoints_in_disguise_never_reach_the_site(stack):
    origin, tiktok, sc = stack
    event = json.dumps({"event": "PageView", "event_id": "evt-disguised-1"}).encode()
    assert (await raw_request(sc.url, "POST", "/%5Fpc/collect", event))[0] == 204
    assert await raw_request(sc.url, "GET", "//_pc/health") == (200, b'{"status":"ok"}')
    await wait_for(lambda: [e for e in tiktok.events if e["event_id"] == "evt-disguised-1"])
    status, body = await raw_request(sc.url, "GET", "/%5fpc/events?event_id=evt-disguised-1")
    assert status == 200 and json.loads(body)["events"][0]["event_id"] == "evt-disguised-1"
    assert origin.seen == []
    # a site path with escapes is still the site's, as sent
    assert (await raw_request(sc.url, "GET", "/some/caf%C3%A9?q=%5Fpc%2F"))[0] == 200
    assert [r["path"] for r in origin.seen] == ["/some/caf%C3%A9?q=%5Fpc%2F"]
