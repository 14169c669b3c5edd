"""Shared test parts: real servers on loopback ephemeral ports and a real sidecar process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Origin:
    """A real aiohttp origin that records what reached it."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None


BINARY_BODY = bytes(range(256)) * 64  # 16 KiB of every byte value
LARGE_BODY = BINARY_BODY * 192  # 3 MiB: above stream_large_bodies


def origin_app(origin: Origin) -> web.Application:
    async def record(request: web.Request) -> None:
        origin.seen.append({"method": request.method, "path": request.path_qs, "headers": dict(request.headers),
                            "body": await request.read()})

    async def page(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=b"<html><body>Hello \xc3\xa9 shop</body></html>",
                            headers={"Content-Type": "text/html; charset=utf-8", "X-Origin": "yes",
                                     "Set-Cookie": "shop_session=abc123; Path=/; HttpOnly"})

    async def binary(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=BINARY_BODY, content_type="application/octet-stream")

    async def chunked(request: web.Request) -> web.StreamResponse:
        await record(request)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(3):
            await resp.write(f"data: {i}\n\n".encode())
            await asyncio.sleep(0.05)
        await resp.write_eof()
        return resp

    async def echo(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"host": request.headers.get("Host"), "len": len(await request.read())})

    async def large(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=LARGE_BODY, content_type="application/octet-stream")

    async def ws_echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str("echo:" + msg.data)
        return ws

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/large", large)
    app.router.add_get("/ws", ws_echo)
    app.router.add_get("/", page)
    app.router.add_get("/binary", binary)
    app.router.add_get("/events-stream", chunked)
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/{tail:.*}", page)
    return app


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    o = Origin()
    o.runner = web.AppRunner(origin_app(o))
    await o.runner.setup()
    site = web.TCPSite(o.runner, "127.0.0.1", 0)
    await site.start()
    port = o.runner.addresses[0][1]
    o.url = f"http://127.0.0.1:{port}"
    yield o
    await o.runner.cleanup()


@pytest.fixture
async def tiktok() -> AsyncIterator[Any]:
    from pixelscleared.fake_tiktok import start_fake_tiktok

    server = await start_fake_tiktok({"CKTESTPIXEL000000001": "test-token-abcdef"})
    yield server
    await server.close()
    # whatever the sidecar sent in a test, TikTok's documentation covers it: no stand-in warnings
    assert [(e["event"], e["warnings"]) for e in server.events if e["warnings"]] == []


def sidecar_config(tmp_path: Path, upstream: str, api_base: str, **overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "upstream": upstream,
        "outbox": {"path": str(tmp_path / "outbox.sqlite"), "flush_interval_ms": 5},
        "identity": {"salt": "test-salt-value", "session_cookie": "shop_session"},
        "delivery": {"backoff_base_s": 0.2, "backoff_max_s": 1},
        "destinations": {"tiktok": [{
            "pixel_id": "CKTESTPIXEL000000001",
            "access_token": "${TEST_TIKTOK_TOKEN}",
            "events": ["PageView", "ClickButton", "SubmitForm", "CompletePayment", "Contact"],
            "api_base": api_base,
        }]},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


@dataclass
class SidecarProc:
    url: str
    proc: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


async def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while True:
            try:
                async with s.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout}s")
            await asyncio.sleep(0.1)


@contextmanager
def spawn(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                env={**os.environ, **(env or {})})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
async def run_sidecar(tmp_path: Path):
    """Start `pixelscleared run -c <cfg>` as a real process; yields a starter coroutine."""
    stack: list[Any] = []

    async def start(cfg: dict[str, Any], *, env: dict[str, str] | None = None) -> SidecarProc:
        path = tmp_path / f"config{len(stack)}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        log_path = tmp_path / f"sidecar{len(stack)}.log"
        cm = spawn([str(BIN / "pixelscleared"), "run", "-c", str(path)], log_path,
                   {"TEST_TIKTOK_TOKEN": "test-token-abcdef", **(env or {})})
        proc = cm.__enter__()
        stack.append(cm)
        url = f"http://127.0.0.1:{cfg['listen']['port']}"
        try:
            await wait_http(url + "/_pc/health")
        except TimeoutError:
            raise AssertionError("sidecar did not start:\n" + log_path.read_text()) from None
        return SidecarProc(url, proc, log_path)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


async def wait_port(port: int, timeout: float = 20.0) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:port (sends no request)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {port} did not open within {timeout}s") from None
            await asyncio.sleep(0.1)


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    """An events log with one queued and one dropped event."""
    from pixelscleared.metrics import Metrics
    from pixelscleared.outbox import Outbox, OutboxRow

    ob = Outbox(tmp_path / "o.sqlite", Metrics())
    await ob.open()
    ob.put(OutboxRow("e1", "P1", "Pageview", "collect", "granted", ["cookieyes:cookieyes-consent"],
                     [{"path": "page.url.query.email", "kind": "email"}], "queued",
                     payload={"event": "Pageview", "event_id": "e1"}))
    ob.put(OutboxRow("e2", "P1", "Contact", "collect", "denied", ["gpc:Sec-GPC"], [], "dropped",
                     reason="consent denied and unconsented: drop"))
    await ob.close()
    return tmp_path / "o.sqlite"


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def fresh_tc(tc: str, when: float | None = None) -> str:
    """A TC string with its Created and LastUpdated set to `when` (default now): the recorded
    fixtures were made years ago, and a consent that old is no longer a current grant."""
    from pixelscleared.consent.tcf import Bits

    core, dot, rest = tc.partition(".")
    b = Bits(core)
    ds, n, length = int((time.time() if when is None else when) * 10), b.n, b.length
    for start in (6, 42):  # Created, LastUpdated: 36 bits each, deciseconds
        shift = length - start - 36
        n = (n & ~(((1 << 36) - 1) << shift)) | (ds << shift)
    return "".join(_B64URL[(n >> (length - 6 * (i + 1))) & 63] for i in range(length // 6)) + dot + rest


CHROMIUM = Path("/usr/bin/chromium")


@asynccontextmanager
async def chromium_browser() -> AsyncIterator[Any]:
    """Debian's chromium driven by Playwright (never `playwright install`); the test skips
    where either is missing."""
    playwright_api = pytest.importorskip("playwright.async_api")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """A real aiohttp server for `app` on a loopback ephemeral port, until the block ends; its URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
