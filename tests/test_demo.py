"""`pixelscleared demo`: the shop, the sidecar and the TikTok stand-in started as one real process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from conftest import chromium_browser, free_port
from pixelscleared.config import parse_config
from pixelscleared.demo import DEMO_PIXEL_ID, DemoPorts, demo_config, port_problems

EXE = Path(sys.executable).parent / "pixelscleared"


def demo_cmd(ports: DemoPorts, data_dir: Path, *extra: str) -> list[str]:
    return [str(EXE), "demo", "--host", ports.host, "--port", str(ports.port), "--shop-port", str(ports.shop_port),
            "--tiktok-port", str(ports.tiktok_port), "--data-dir", str(data_dir), *extra]


def three_free_ports() -> DemoPorts:
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    a, b, c = ports
    return DemoPorts("127.0.0.1", a, b, c)


# --- config and port checks -----------------------------------------------------------------

def test_demo_config_is_valid(tmp_path):
    ports = DemoPorts("127.0.0.1", 8080, 3000, 9300)
    cfg = parse_config(demo_config(ports, tmp_path), env={})
    assert cfg.upstream == "http://127.0.0.1:3000"
    assert (cfg.listen.host, cfg.listen.port) == ("127.0.0.1", 8080)
    (pixel,) = cfg.destinations.tiktok
    assert pixel.pixel_id == DEMO_PIXEL_ID and pixel.api_base == "http://127.0.0.1:9300"
    assert pixel.events == ["Pageview", "ClickButton", "SubmitForm", "CompletePayment", "Contact"]
    assert pixel.test_event_code == "DEMO"
    assert cfg.identity.session_cookie == "shop_session"
    assert cfg.outbox.path == tmp_path / "outbox.sqlite"


@pytest.mark.parametrize("host, upstream", [("0.0.0.0", "http://127.0.0.1:3000"), ("::", "http://[::1]:3000"),
                                            ("::1", "http://[::1]:3000")])
def test_demo_config_connects_to_wildcard_listeners_on_loopback(tmp_path, host, upstream):
    cfg = parse_config(demo_config(DemoPorts(host, 8080, 3000, 9300), tmp_path), env={})
    assert cfg.upstream == upstream


def test_same_port_twice_is_refused():
    p = free_port()
    assert port_problems(DemoPorts("127.0.0.1", p, p, free_port())) == [
        (f"--shop-port {p} is the same as --port — pick another: pixelscleared demo --shop-port N, "
         "or make run DEMO_ARGS='--shop-port N'")]


@pytest.mark.parametrize("option", ["--port", "--shop-port", "--tiktok-port"])
def test_busy_port_gives_one_clear_line_and_exit_1(tmp_path, option):
    ports = three_free_ports()
    busy = {"--port": ports.port, "--shop-port": ports.shop_port, "--tiktok-port": ports.tiktok_port}[option]
    with socket.socket() as s:
        s.bind(("127.0.0.1", busy))
        s.listen()
        proc = subprocess.run(demo_cmd(ports, tmp_path / "data"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == (f"error: port {busy} on 127.0.0.1 is already in use — pick another: "
                           f"pixelscleared demo {option} N, or make run DEMO_ARGS='{option} N'\n")
    assert "Traceback" not in proc.stdout + proc.stderr


# --- make run DEMO_ARGS=... -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
VENV = EXE.parent.parent


def make_run(demo_args: str | None, *extra: str) -> list[str]:
    """`make run` with this venv, never reinstalling it (`-o` the install stamp)."""
    cmd = ["make", "--no-print-directory", "-C", str(ROOT), "-o", f"{VENV}/.installed", *extra, "run", f"VENV={VENV}"]
    return cmd if demo_args is None else [*cmd, f"DEMO_ARGS={demo_args}"]


@pytest.mark.parametrize("demo_args, command", [
    (None, f"{VENV}/bin/pixelscleared demo"),  # plain `make run`, as before
    ("--port 8081 --shop-port 3001 --tiktok-port 9301",
     f"{VENV}/bin/pixelscleared demo --port 8081 --shop-port 3001 --tiktok-port 9301"),
])
def test_make_run_passes_demo_args(demo_args, command):
    proc = subprocess.run(make_run(demo_args, "-n"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].rstrip() == command


def test_make_run_with_a_busy_port_says_how_to_pick_another(tmp_path):
    ports = three_free_ports()
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.port))
        s.listen()
        proc = subprocess.run(make_run(" ".join(f"{o} {p}" for o, p in ports.options())
                                       + f" --data-dir {tmp_path / 'data'}"),
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert (f"error: port {ports.port} on 127.0.0.1 is already in use — pick another: pixelscleared demo --port N, "
            "or make run DEMO_ARGS='--port N'") in proc.stderr


class Output:
    """A process's output read on a thread, so a test can wait for a line while the process runs."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    async def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline or (self.proc.poll() is not None and not self._reader.is_alive()):
                raise AssertionError(f"{text!r} was not printed:\n{''.join(self.lines)}")
            await asyncio.sleep(0.05)

    def rest(self, timeout: float = 20.0) -> str:
        """Everything printed, once the process has ended (killed if it does not within `timeout`)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._reader.join(timeout=10)
        return "".join(self.lines)


async def test_make_run_serves_on_the_ports_given(tmp_path):
    ports = three_free_ports()
    demo_args = " ".join(f"{o} {p}" for o, p in ports.options()) + f" --data-dir {tmp_path / 'data'}"
    proc = subprocess.Popen(make_run(demo_args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    output = Output(proc)
    try:
        # the banner is the promise that the URLs it prints answer: wait for it, then check them
        await output.wait_for(f"Open the shop (through the sidecar): http://127.0.0.1:{ports.port}/")
        await wait_serving(proc, f"http://127.0.0.1:{ports.port}/")
        await wait_serving(proc, f"http://127.0.0.1:{ports.tiktok_port}/_fake/events")
        await wait_serving(proc, f"http://127.0.0.1:{ports.shop_port}/")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches make and the demo, as in a terminal
        out = output.rest()
    assert "demo stopped" in out and "Traceback" not in out


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "0 is not a port number (1-65535)"),
    (["--shop-port", "http"], "'http' is not a port number"),
])
def test_bad_port_option_is_a_usage_error(tmp_path, args, message):
    proc = subprocess.run([str(EXE), "demo", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_unusable_data_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = subprocess.run(demo_cmd(three_free_ports(), blocker / "demo"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: cannot create the data directory {blocker / 'demo'}: ")
    assert "Traceback" not in proc.stderr


# --- the running demo -----------------------------------------------------------------------

@dataclass
class Demo:
    proc: subprocess.Popen[str]
    shop: str  # through the sidecar
    tiktok: str
    direct_shop: str

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise AssertionError("demo did not stop within 20 s:\n" + out) from None
        return self.proc.returncode, out


async def wait_serving(proc: subprocess.Popen[str], url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"demo exited early with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                async with s.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@asynccontextmanager
async def running_demo(tmp_path: Path, data_dir: Path, *extra: str) -> AsyncIterator[Demo]:
    ports = three_free_ports()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(demo_cmd(ports, data_dir, *extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=tmp_path)
    d = Demo(proc, f"http://127.0.0.1:{ports.port}", f"http://127.0.0.1:{ports.tiktok_port}",
             f"http://127.0.0.1:{ports.shop_port}")
    try:
        await wait_serving(proc, d.shop + "/")
        await wait_serving(proc, d.tiktok + "/_fake/events")
        yield d
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
async def demo(tmp_path) -> AsyncIterator[Demo]:
    async with running_demo(tmp_path, tmp_path / "data") as d:
        yield d


async def tiktok_events(s: aiohttp.ClientSession, tiktok: str, event_id: str) -> list[dict]:
    async with s.get(tiktok + "/_fake/events", params={"event_id": event_id}) as r:
        return (await r.json())["events"]


async def wait_event(s: aiohttp.ClientSession, tiktok: str, event_id: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if events := await tiktok_events(s, tiktok, event_id):
            return events[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"event {event_id} did not reach the stand-in within {timeout} s")


class Browser:
    """Keeps cookies as a browser does: values verbatim. (aiohttp's jar re-quotes a value holding
    commas as `"a\\054b"`, which no browser sends, so CookieYes' cookie is kept here instead.)"""

    def __init__(self, session: aiohttp.ClientSession):
        self.s = session
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, url: str, **kw) -> tuple[int, str, str]:
        """Follows redirects (up to 5); returns (status, final path, body)."""
        for _ in range(5):
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
            async with self.s.request(method, url, headers=headers, allow_redirects=False, **kw) as r:
                for line in r.headers.getall("Set-Cookie", []):
                    name, _, rest = line.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
                body = await r.text()
                if r.status not in (301, 302, 303, 307):
                    return r.status, r.url.path, body
                url, method, kw = str(r.url.join(URL(r.headers["Location"]))), "GET", {}
        raise AssertionError("too many redirects")


async def test_demo_serves_the_shop_and_delivers_events_then_stops_cleanly(demo):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        browser = Browser(s)
        status, _, page = await browser.request("GET", demo.shop + "/product/1001")
        assert status == 200
        assert "Linen Tote Bag" in page and "/_pc/collect" in page
        status, path, _ = await browser.request("POST", demo.shop + "/consent",
                                                data={"choice": "accept", "next": "/contact"})
        assert (status, path) == (200, "/contact")
        assert browser.cookies["cookieyes-consent"].startswith("consentid:")

        pageview, form = str(uuid.uuid4()), str(uuid.uuid4())
        calls = [
            {"event": "Pageview", "event_id": pageview, "properties": {},
             "url": demo.shop + "/contact", "referrer": demo.shop + "/product/1001"},
            {"event": "SubmitForm", "event_id": form,
             "properties": {"form": "contact", "email": "anna.schmidt@example.com",
                            "message": "Call me on +49 151 23456789 or write to anna.schmidt@example.com"},
             "url": demo.shop + "/contact", "referrer": demo.shop + "/contact"},
        ]
        for call in calls:
            status, _, body = await browser.request("POST", demo.shop + "/_pc/collect", json=call)
            assert status == 204, body

        sent = await wait_event(s, demo.tiktok, pageview)
        assert sent["pixel_id"] == DEMO_PIXEL_ID and sent["event"] == "Pageview"
        assert sent["test_event_code"] == "DEMO"
        assert sent["user"].get("external_id")  # consent was accepted in the banner
        scrubbed = await wait_event(s, demo.tiktok, form)
        assert scrubbed["event"] == "SubmitForm"
        text = str(scrubbed)
        assert "anna.schmidt@example.com" not in text and "23456789" not in text

        async with s.get(demo.shop + "/_pc/events") as r:
            assert r.status == 200
            logged = {e.get("event_id") for e in (await r.json())["events"]}
        assert {pageview, form} <= logged

    code, out = demo.stop(signal.SIGINT)
    assert code == 0, out
    assert "Traceback" not in out
    assert f"Open the shop (through the sidecar): {demo.shop}/" in out
    assert f"{demo.tiktok}/_fake/events" in out and f"{demo.shop}/_pc/events" in out
    assert "Ctrl-C to stop" in out


async def logged_ids(s: aiohttp.ClientSession, shop: str) -> set[str]:
    async with s.get(shop + "/_pc/events") as r:
        assert r.status == 200
        return {e["event_id"] for e in (await r.json())["events"]}


async def test_each_run_starts_with_an_empty_events_log_like_the_stand_in(tmp_path):
    data_dir = tmp_path / "data"
    old = str(uuid.uuid4())
    async with running_demo(tmp_path, data_dir) as first, aiohttp.ClientSession() as s:
        async with s.post(first.shop + "/_pc/collect", json={"event": "Pageview", "event_id": old}) as r:
            assert r.status == 204
        await wait_event(s, first.tiktok, old)
        assert old in await logged_ids(s, first.shop)
        code, out = first.stop()
        assert code == 0, out
    assert "It starts empty at each demo run, like the stand-in" in out
    assert (data_dir / "outbox.sqlite").exists()  # kept after the run, for a look at it

    async with running_demo(tmp_path, data_dir) as second, aiohttp.ClientSession() as s:
        new = str(uuid.uuid4())
        async with s.post(second.shop + "/_pc/collect", json={"event": "Pageview", "event_id": new}) as r:
            assert r.status == 204
        await wait_event(s, second.tiktok, new)
        assert await logged_ids(s, second.shop) == {new}  # nothing from the first run
        async with s.get(second.tiktok + "/_fake/events") as r:
            assert [e["event_id"] for e in (await r.json())["events"]] == [new]
        code, out = second.stop()
    assert code == 0 and "Traceback" not in out, out


async def test_sigterm_stops_all_three(demo):
    code, out = demo.stop(signal.SIGTERM)
    assert code == 0 and "Traceback" not in out, out
    async with aiohttp.ClientSession() as s:
        for url in (demo.shop, demo.tiktok, demo.direct_shop):
            with pytest.raises(aiohttp.ClientConnectionError):
                async with s.get(url + "/"):
                    pass


# --- a real browser (optional: skipped without Playwright and Debian's chromium) ------------

async def test_a_real_browser_sends_the_shops_events(demo):
    async with chromium_browser() as chromium:
        page = await chromium.new_page()
        failed: list[str] = []  # e.g. a /favicon.ico 404
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        await page.goto(demo.shop + "/")
        await page.click("#consent-banner button[value=accept]")
        await page.wait_for_url(demo.shop + "/")
        await page.goto(demo.shop + "/product/1001")
        await page.fill("input[name=quantity]", "2")
        await page.click("#add-to-cart")
        await page.wait_for_url(demo.shop + "/cart")
        await page.click("text=Checkout")
        assert (await page.text_content("#checkout-items")) == "2 items"  # two totes, one line
        await page.click("text=Pay €48.00")
        await page.wait_for_url("**/checkout/thank-you?order=*")
        order_id = (await page.text_content(".order-id")).strip()
        await page.goto(demo.shop + "/contact")
        await page.click("text=Send")
        await page.wait_for_url(demo.shop + "/contact/thanks")
    assert failed == []

    wanted = {"ClickButton", "CompletePayment", "SubmitForm", "Contact", "Pageview"}
    async with aiohttp.ClientSession() as s:
        deadline = time.monotonic() + 20
        while True:
            async with s.get(demo.tiktok + "/_fake/events") as r:
                events = (await r.json())["events"]
            by_name = {e["event"]: e for e in events}
            if wanted <= by_name.keys() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    assert wanted <= by_name.keys(), sorted(by_name)
    assert sum(e["event"] == "Pageview" for e in events) >= 7  # every page load
    click = by_name["ClickButton"]["properties"]
    assert click["value"] == 48.0 and click["currency"] == "EUR"
    assert click["contents"][0]["content_id"] == "1001" and click["contents"][0]["quantity"] == 2
    payment = by_name["CompletePayment"]["properties"]
    assert payment["value"] == 48.0 and payment["currency"] == "EUR"
    assert order_id in str(payment)
    assert "anna.schmidt@example.com" not in str(events) and "23456789" not in str(events)
    # only the first page view came before the visitor accepted in the banner
    limited = [e["event"] for e in events if not (e["user"].get("external_id") and e["user"].get("user_agent"))]
    assert limited == ["Pageview"], [(e["event"], sorted(e["user"])) for e in events]
    assert len({e["event_id"] for e in events}) == len(events)  # the page makes a fresh id per event



async def test_the_no_code_demo_gets_pageviews_the_form_and_the_purchase_from_traffic_alone(tmp_path):
    """`pixelscleared demo --no-tag`: the shop sends no tracking call; the sidecar's rules read its pages."""
    chrome = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"}
    async with running_demo(tmp_path, tmp_path / "data", "--no-tag") as demo, \
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), headers=chrome) as s:
        browser = Browser(s)
        status, _, page = await browser.request("GET", demo.shop + "/product/1001")
        assert status == 200 and "/_pc/collect" not in page  # no tag on the page
        await browser.request("POST", demo.shop + "/consent", data={"choice": "accept", "next": "/"})
        status, path, _ = await browser.request("POST", demo.shop + "/contact", data={
            "name": "Anna Schmidt", "email": "anna.schmidt@example.com", "message": "Where is my order?"})
        assert (status, path) == (200, "/contact/thanks")
        await browser.request("POST", demo.shop + "/cart/add", data={"product_id": "1001", "quantity": "2"})
        status, path, page = await browser.request("POST", demo.shop + "/checkout", data={
            "name": "Anna Schmidt", "email": "anna.schmidt@example.com", "phone": "+49 151 23456789",
            "address": "Hauptstraße 12, 10115 Berlin"})
        assert status == 200 and path == "/checkout/thank-you"
        order_id = page.split('data-order-id="', 1)[1].split('"', 1)[0]
        deadline = time.monotonic() + 20
        while True:
            async with s.get(demo.tiktok + "/_fake/events") as r:
                events = (await r.json())["events"]
            names = {e["event"] for e in events}
            if {"Pageview", "Contact", "CompletePayment"} <= names or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert {"Pageview", "Contact", "CompletePayment"} <= names, names
        [purchase] = [e for e in events if e["event"] == "CompletePayment"]
        assert purchase["event_id"] == order_id and purchase["properties"]["currency"] == "EUR"
        assert purchase["properties"]["value"] > 0 and purchase["properties"].get("order_id") == order_id
        assert "anna" not in json.dumps(events).lower()
        code, out = demo.stop(signal.SIGINT)
    assert code == 0 and "Traceback" not in out, out
