"""guard.py: header hygiene, slow senders, oversized bodies and the plain error page — the pure
rules on their own, then each through a real sidecar process in front of a real origin."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
import pytest

from conftest import free_port, sidecar_config, wait_for
from pixelscleared.guard import DEFAULT_PAGE, GuardSettings, error_page, header_problem

S = GuardSettings()
OK = ((b"Host", b"shop.example"), (b"User-Agent", b"Mozilla/5.0"))


@pytest.mark.parametrize(("fields", "version", "expected"), [
    (OK, "HTTP/1.1", None),
    (OK[1:], "HTTP/1.0", None),                                         # HTTP/1.0 may omit Host
    (OK[1:], "HTTP/2.0", None),                                         # HTTP/2 carries :authority
    (OK[1:], "HTTP/1.1", (400, "bad_host")),
    (OK + ((b"host", b"evil.example"),), "HTTP/1.1", (400, "bad_host")),
    (OK + ((b"host", b"evil.example"),), "HTTP/2.0", (400, "bad_host")),
    (OK + ((b"X-A", b"b\r\n c"),), "HTTP/1.1", (400, "bad_header")),    # obs-fold as mitmproxy joins it
    (OK + ((b"X-A", b"b\rc"),), "HTTP/1.1", (400, "bad_header")),
    (OK + ((b"X-A", b"b\x00c"),), "HTTP/1.1", (400, "bad_header")),
    (OK + ((b"Cookie", b"a" * 60_000),), "HTTP/1.1", None),             # big, under 64 KiB
    (OK + ((b"Cookie", b"a" * 70_000),), "HTTP/1.1", (431, "header_too_large")),
    (OK + tuple((b"X-%d" % i, b"v") for i in range(98)), "HTTP/1.1", None),
    (OK + tuple((b"X-%d" % i, b"v") for i in range(99)), "HTTP/1.1", (431, "header_too_large")),
])
def test_header_problem(fields, version, expected):
    problem = header_problem(20, fields, version, S)
    assert ((problem.status, problem.reason) if problem else None) == expected


def test_a_long_request_line_counts_toward_the_header_limit():
    assert header_problem(70_000, OK, "HTTP/1.1", S) is not None
    assert header_problem(1_000, OK, "HTTP/1.1", S) is None


def test_the_error_page_names_status_and_reason_and_escapes_nothing_internal():
    page = error_page(DEFAULT_PAGE, 502).decode()
    assert "502 Bad Gateway" in page and "mitmproxy" not in page
    assert error_page("<p>{status} {reason}</p>", 431) == b"<p>431 Request Header Fields Too Large</p>"


# --- through a running sidecar ----------------------------------------------------------------

async def raw(port: int, data: bytes, *, read_timeout: float = 5.0) -> bytes:
    """Send raw bytes, return everything read until the sidecar closes (or `read_timeout`)."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(data)
    try:
        await w.drain()
    except ConnectionError:
        pass
    out = b""
    try:
        while chunk := await asyncio.wait_for(r.read(65536), read_timeout):
            out += chunk
    except (TimeoutError, ConnectionError):
        pass
    w.close()
    return out


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def open_sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:  # closed between the listing and the look: not open any more
            pass
    return count


HEAD = b"GET /page HTTP/1.1\r\nHost: shop.example\r\n"


@pytest.mark.parametrize(("name", "request_bytes", "status"), [
    ("huge header", HEAD + b"Cookie: " + b"a" * 100_000 + b"\r\n\r\n", 431),
    ("many headers", HEAD + b"".join(b"X-%d: v\r\n" % i for i in range(500)) + b"\r\n", 431),
    ("obs-fold", HEAD + b"X-A: b\r\n c\r\n\r\n", 400),
    ("bare CR", HEAD + b"X-A: b\rc\r\n\r\n", 400),
    ("NUL", HEAD + b"X-A: b\x00c\r\n\r\n", 400),
    ("two Host", HEAD + b"Host: evil.example\r\n\r\n", 400),
    ("no Host", b"GET /page HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
])
async def test_bad_header_blocks_are_refused_before_the_origin(origin, tiktok, run_sidecar, tmp_path,
                                                               name, request_bytes, status):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url))
    seen_before = len(origin.seen)
    out = await raw(port_of(sc.url), request_bytes)
    assert out.startswith(b"HTTP/1.1 %d " % status), (name, out[:200])
    assert b"mitmproxy" not in out.lower() and b"Connection: close" in out
    assert len(origin.seen) == seen_before, f"{name} reached the origin"
    async with aiohttp.ClientSession() as s, s.get(sc.url + "/_pc/metrics") as r:
        assert "pixelscleared_requests_refused_total{reason=" in await r.text()


async def test_a_body_over_a_mebibyte_is_cut_and_its_socket_freed(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url))
    body = b"x" * (2 << 20)
    baseline = open_sockets(sc.proc.pid)
    for _ in range(5):
        out = await raw(port_of(sc.url), b"POST /_pc/collect HTTP/1.1\r\nHost: a\r\nContent-Type: application/json"
                        b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body, read_timeout=3)
        assert out == b""
    # before the fix each stayed open (ESTABLISHED, then CLOSE-WAIT) for mitmproxy's 600 s tcp_timeout
    await wait_for(lambda: open_sockets(sc.proc.pid) <= baseline, timeout=5)
    async with aiohttp.ClientSession() as s, s.get(sc.url + "/") as r:
        assert r.status == 200  # the site is still served


async def test_slow_header_and_body_senders_are_cut_off_and_healthy_clients_are_not(origin, tiktok, run_sidecar,
                                                                                    tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url,
                                          guard={"header_timeout_s": 1, "body_timeout_s": 1}))
    port = port_of(sc.url)

    async def trickle(first: bytes, drip: bytes) -> float:
        """Send `first`, then one byte of `drip` every 0.2 s; seconds until the sidecar hangs up."""
        r, w = await asyncio.open_connection("127.0.0.1", port)
        start = time.monotonic()
        w.write(first)
        try:
            for b in drip:
                await w.drain()
                w.write(bytes([b]))
                await asyncio.sleep(0.2)
                if r.at_eof():
                    break
            while await asyncio.wait_for(r.read(1024), 10):
                pass
        except (ConnectionError, TimeoutError):
            pass
        w.close()
        return time.monotonic() - start

    slow_headers = trickle(b"GET / HTTP/1.1\r\nHost: a\r\n", b"X-Slow: " + b"a" * 200)
    slow_body = trickle(b"POST /_pc/collect HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 100\r\n\r\n", b"[" + b" " * 99)

    async def healthy() -> list[int]:
        statuses = []
        async with aiohttp.ClientSession() as s:  # one keep-alive connection, busy the whole time
            for _ in range(12):
                async with s.get(sc.url + "/") as r:
                    statuses.append(r.status)
                await asyncio.sleep(0.25)
        return statuses

    async def slow_site_upload() -> bytes:
        """A form posted to the site from a slow phone: 30 bytes over ~3 s, past body_timeout_s."""
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 30\r\nConnection: close\r\n\r\n")
        for _ in range(10):
            await w.drain()
            w.write(b"abc")
            await asyncio.sleep(0.3)
        out = await asyncio.wait_for(r.read(), 10)
        w.close()
        return out

    header_s, body_s, statuses, upload = await asyncio.gather(slow_headers, slow_body, healthy(), slow_site_upload())
    assert header_s < 5 and body_s < 5  # ~1 s deadline, 1 s sweep; the drip alone would take 40 s / 20 s
    assert statuses == [200] * 12
    assert upload.startswith(b"HTTP/1.1 200") and b'"len": 30' in upload  # the site's own upload went through
    async with aiohttp.ClientSession() as s, s.get(sc.url + "/_pc/metrics") as r:
        text = await r.text()
    assert 'pixelscleared_requests_refused_total{reason="header_timeout"}' in text
    assert 'pixelscleared_requests_refused_total{reason="body_timeout"}' in text


async def test_origin_down_gets_a_plain_page_while_events_still_flow(tiktok, run_sidecar, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    page = tmp_path / "down.html"
    page.write_text("<h1>Back soon ({status})</h1>")
    sc = await run_sidecar(sidecar_config(tmp_path, dead, tiktok.url, guard={"error_page": str(page)}))
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/") as r:
            body = await r.text()
            assert r.status == 502
            assert body == "<h1>Back soon (502)</h1>"
            assert "Server" not in r.headers
            assert dead.rsplit(":", 1)[1] not in body
        ids = [f"down-{i}" for i in range(5)]
        for event_id in ids:
            async with s.post(sc.url + "/_pc/collect", json={"event": "ClickButton", "event_id": event_id}) as r:
                assert r.status == 204
        async with s.get(sc.url + "/_pc/ready") as r:
            assert r.status == 503 and (await r.json())["checks"]["origin"]["ok"] is False
    await wait_for(lambda: len(tiktok.events) >= 5, timeout=15)
    sent = sorted(e["event_id"] for e in tiktok.events)
    assert sent == sorted(ids)  # each once


async def test_the_default_error_page_names_nothing_internal(tiktok, run_sidecar, tmp_path):
    dead_port = free_port()
    sc = await run_sidecar(sidecar_config(tmp_path, f"http://127.0.0.1:{dead_port}", tiktok.url))
    async with aiohttp.ClientSession() as s, s.get(sc.url + "/") as r:
        body = await r.text()
        assert r.status == 502 and "Server" not in r.headers
        assert "mitmproxy" not in body.lower() and str(dead_port) not in body and "127.0.0.1" not in body


def test_the_guard_section_is_validated_with_key_paths(tmp_path: Path):
    from pixelscleared.config import ConfigError, load_config
    cfg = tmp_path / "c.yaml"
    cfg.write_text("upstream: http://127.0.0.1:1\nguard: {max_headers: 1, error_page: /nonexistent.html}\n")
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    text = "\n".join(e.value.problems)
    assert "guard.max_headers" in text and "guard.error_page" in text
