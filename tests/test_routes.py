"""routes.py and capture/access_log.py: route-only mode — the web server serves the site, the
sidecar gets only what it must, and page views come from the access log. End to end with a real
nginx (Debian's package; skipped where it is missing)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from conftest import BIN, free_port, sidecar_config, wait_for, wait_port
from pixelscleared.capture.access_log import AccessLogSettings, BadRecord, listen_for_records, parse_record
from pixelscleared.config import ConfigError, parse_config
from pixelscleared.routes import SidecarPaths, _quoted, caddy, nginx, warnings

CADDY = shutil.which("caddy")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
RULES = [{"name": "order-complete", "match": {"path": "/checkout/thank-you*"}, "event": "CompletePayment"},
         {"name": "contact", "match": {"method": "POST", "path": "/contact"}, "event": "Contact"}]


def cfg_with(**capture):
    raw = sidecar_config(Path("/tmp"), "http://127.0.0.1:3000", "http://127.0.0.1:9", capture=capture,
                         identity={"trusted_proxies": ["127.0.0.1/32"]})
    raw["destinations"]["tiktok"][0]["access_token"] = "x"
    return parse_config(raw)


@pytest.mark.parametrize(("capture", "expected", "absent"), [
    ({}, ["location ^~ /_pc/ {", "location / { proxy_pass http://pixelscleared_site; }",
          "access_log syslog:server=127.0.0.1:5140,tag=pixelscleared,nohostname pixelscleared if=$pixelscleared_page;"],
     ["location = /g/collect"]),
    ({"ga4": {"paths": ["/g/collect"]}, "tiktok_pixel": {"paths": ["/api/v2/pixel"]}},
     ["location = /g/collect {", "location = /g/collect/ {", "location = /api/v2/pixel {"], []),
    ({"rules": RULES}, ['location ~ "^/checkout/thank\\\\-you[^/]*$" {', 'location ~ "^/contact$" {'], []),
    ({"access_log": {"listen": "127.0.0.1:6000"}}, ["syslog:server=127.0.0.1:6000,"], []),
])
def test_nginx_config_sends_the_sidecar_only_what_it_must(capture, expected, absent):
    text = nginx([cfg_with(**capture)], "http://127.0.0.1:3000", ["127.0.0.1:8080"], "80", "config.yaml")
    for line in expected:
        assert line in text
    for line in absent:
        assert line not in text
    assert "upstream pixelscleared_site { server 127.0.0.1:3000; keepalive 32; }" in text
    assert "mirror" not in text  # a mirror subrequest would hold the next request on the connection


@pytest.mark.parametrize(("path", "sent"), [
    ("/_pc/collect", True), ("/_pc/ttq.js?v=1", True), ("//_pc/events", True),
    ("/g/collect", True), ("/g/collect/", True), ("/g/collect?v=2&tid=G-1", True), ("/G/collect", True),
    ("/checkout/thank-you", True), ("/checkout/thank-you-123?x=1", True), ("/contact", True),
    ("/", False), ("/checkout", False), ("/contact/us", False), ("/g/collector", False), ("/pc/collect", False),
])
def test_the_sidecar_skips_in_the_log_exactly_what_the_web_server_sends_it(path, sent):
    """One owner (SidecarPaths) for the routes printed and the access-log records the sidecar skips."""
    cfg = cfg_with(ga4={"paths": ["/g/collect"]}, rules=RULES)
    paths = SidecarPaths.of(cfg)
    assert paths.sends(path) is sent
    text = nginx([cfg], "http://127.0.0.1:3000", ["127.0.0.1:8080"], "80", "config.yaml")
    assert all(f"location = {p} " in text for p in paths.exact)
    assert all(rx.replace("\\", "\\\\") in text for _, rx in paths.rules)


@pytest.mark.parametrize("text", ["/a", r"^/a\-b[^/]*$", 'say "hi"', "back\\slash"])
def test_quoted_tokens_read_back_as_written(text):
    q = _quoted(text)
    # nginx's reader: \\ → \, \" → "; any other backslash is kept
    out, i = [], 1
    while i < len(q) - 1:
        if q[i] == "\\" and q[i + 1] in '\\"':
            out.append(q[i + 1])
            i += 2
        else:
            out.append(q[i])
            i += 1
    assert "".join(out) == text


def test_caddy_config_and_warnings():
    text = caddy([cfg_with(rules=RULES, ga4={"paths": ["/g/collect"]})], "http://127.0.0.1:3000",
                 ["http://127.0.0.1:8080"], ":8443", "config.yaml")
    assert "@pixelscleared path /_pc/* /g/collect /g/collect/" in text
    assert "path_regexp `^/checkout/thank\\-you[^/]*$`" in text  # raw: Caddy keeps backslashes in quotes
    assert "output net udp/127.0.0.1:5140" in text and "log_credentials" in text
    assert any("capture.access_log is not set" in w for w in warnings([cfg_with()]))
    assert not warnings([cfg_with(access_log={})])
    assert any("cpu_share below 1 over UDP" in w for w in warnings([cfg_with(access_log={"cpu_share": 0.5})]))
    assert not warnings([cfg_with(access_log={"cpu_share": 0.5, "file": "/var/log/nginx/pages.log"})])


@pytest.mark.parametrize("share", [0, -0.5, 1.5, "half"])
def test_cpu_share_is_a_fraction_of_one_core(share: object) -> None:
    with pytest.raises(ConfigError, match="cpu_share"):
        cfg_with(access_log={"cpu_share": share})


NGINX_RECORD = {"v": 1, "method": "GET", "uri": "/shop?x=1", "status": "200", "ct": "text/html; charset=utf-8",
                "host": "shop.example", "scheme": "https", "ip": "203.0.113.9", "cookie": "a=1; b=2",
                "ua": "Mozilla/5.0", "ref": "", "dest": "document", "mode": "navigate", "gpc": "1"}


@pytest.mark.parametrize(("datagram", "method", "status", "path", "url"), [
    (b"<190>Dec  3 15:00:00 pixelscleared: " + json.dumps(NGINX_RECORD).encode(), "GET", 200, "/shop",
     "https://shop.example/shop?x=1"),
    (json.dumps({"request": {"client_ip": "203.0.113.9", "method": "GET", "host": "shop.example", "uri": "/p/1",
                             "tls": {"proto": "h2"}, "headers": {"Cookie": ["a=1; b=2"], "User-Agent": ["Mozilla/5.0"],
                                                                "Sec-Fetch-Dest": ["document"], "Sec-Gpc": ["1"]}},
                 "status": 200, "resp_headers": {"Content-Type": ["text/html"]}}).encode(),
     "GET", 200, "/p/1", "https://shop.example/p/1"),
])
def test_records_of_nginx_and_caddy(datagram, method, status, path, url):
    r = parse_record(datagram)
    assert (r.method, r.status, r.path, r.facts.url) == (method, status, path, url)
    assert r.facts.cookie_header == "a=1; b=2" and r.facts.peer_ip == "203.0.113.9"
    assert r.facts.user_agent == "Mozilla/5.0" and r.facts.headers["sec-gpc"] == "1"
    assert r.content_type.startswith("text/html") and r.facts.host == "shop.example"


@pytest.mark.parametrize("datagram", [
    b"", b"hello", b"<190>Dec  3 other-tag: {}", b"<190>x pixelscleared: {not json",
    b"<190>x pixelscleared: []", b'<190>x pixelscleared: {"v": 2}', b'{"v": 1, "status": "abc"}',
    b'{"request": {}, "status": "200"}', b"\xff\xfe" * 100, b"{" * 70_000,
])
def test_anything_else_is_a_bad_record(datagram):
    with pytest.raises(BadRecord):
        parse_record(datagram)


def test_only_allowed_peers_may_send_records():
    s = AccessLogSettings()
    assert s.allowed("127.0.0.1") and s.allowed("::1") and not s.allowed("203.0.113.9")
    assert not s.allowed("not-an-ip")


# -- end to end: a real nginx in front of the origin, the sidecar beside it ---------------------

def nginx_conf(tmp: Path, http_snippet: str) -> Path:
    """A whole nginx.conf around `pixelscleared routes`' output, everything under tmp."""
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the temp dirs
    conf = tmp / "nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{http_snippet}
}}
""")
    return conf


def routes(*args: str) -> str:
    """`pixelscleared routes …`: its output, after checking it warned about nothing."""
    out = subprocess.run([str(BIN / "pixelscleared"), "routes", *args], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "TEST_TIKTOK_TOKEN": "t"})
    assert out.returncode == 0 and out.stderr == "", out.stderr  # no warning: access_log, trusted_proxies set
    return out.stdout


@asynccontextmanager
async def nginx_serving(tmp_path: Path, snippet: str, port: int) -> AsyncIterator[str]:
    """A real nginx with `snippet` (checked by `nginx -t` first) until the block ends; its URL."""
    conf = nginx_conf(tmp_path, snippet)
    test = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    try:
        await wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)")
@pytest.mark.parametrize("source", ["udp", "file", "udp, endpoints direct"])
async def test_route_only_mode_with_a_real_nginx(origin, tiktok, run_sidecar, tmp_path, source):
    log_port, nginx_port = free_port(), free_port()
    log = {"file": str(tmp_path / "pages.log")} if source == "file" else {"listen": f"127.0.0.1:{log_port}"}
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url, identity={"trusted_proxies": ["127.0.0.1/32"]},
                         capture={"access_log": log, "ga4": {"paths": ["/g/collect"]}, "rules": RULES})
    direct = "direct" in source
    if direct:
        cfg["listen"]["endpoints_port"] = free_port()
    sc = await run_sidecar(cfg)
    snippet = routes("-c", str(tmp_path / "config0.yaml"), "--site", origin.url, "--sidecar", sc.url,
                     "--listen", f"127.0.0.1:{nginx_port}")
    assert ("buffer=64k flush=1s" in snippet) is (source == "file")
    assert ("location ^~ /_pc/ { proxy_pass http://pixelscleared_endpoints; }" in snippet) is direct
    if direct:
        assert f"server 127.0.0.1:{cfg['listen']['endpoints_port']};" in snippet
    async with nginx_serving(tmp_path, snippet, nginx_port) as site:
        browser = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Accept": "text/html",
                   "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
                   "Cookie": "cookieyes-consent=consentid:abc,consent:yes,action:yes,advertisement:yes"}
        sc.proc.send_signal(signal.SIGSTOP)  # the sidecar frozen: the site's pages must not notice
        try:
            async with aiohttp.ClientSession() as s:
                started = time.monotonic()
                for i in range(5):
                    async with s.get(f"{site}/shop/item-{i}?utm_source=tiktok&email=jane%40example.com",
                                     headers=browser) as r:
                        assert r.status == 200 and "Hello" in await r.text()  # nginx → origin
                async with s.get(f"{site}/img/logo.png", headers={**browser, "Sec-Fetch-Dest": "image"}) as r:
                    assert r.status == 200
                assert time.monotonic() - started < 5  # served while the sidecar could answer nothing
        finally:
            sc.proc.send_signal(signal.SIGCONT)
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{site}/_pc/collect", json={"event": "ClickButton", "event_id": "route-click-1"},
                              headers={"Cookie": browser["Cookie"]}) as r:
                assert r.status == 204  # the sidecar's endpoint, through nginx
            async with s.get(f"{site}/checkout/thank-you", headers=browser) as r:
                assert r.status == 200  # a rule path: through the sidecar, to the origin
        events = await wait_for(lambda: len(tiktok.events) >= 8 and tiktok.events, timeout=20)
        pageviews = [e for e in events if e["event"] == "Pageview"]
        assert len(pageviews) == 6  # five shop pages and the thank-you page, not the image
        assert all("jane" not in e["page"]["url"] for e in pageviews)  # scrubbed like every event
        assert {e["event"] for e in events} >= {"ClickButton", "CompletePayment"}
        shop = next(e for e in pageviews if "/shop/item-0" in e["page"]["url"])
        assert shop["limited_data_use"] is False and "user_agent" in shop["user"]  # consent read from the log
        thank_you_pageviews = [e for e in pageviews if "/checkout/thank-you" in e["page"]["url"]]
        assert len(thank_you_pageviews) == 1  # seen by the sidecar itself, not again from the log
        await asyncio.sleep(0.3)
        assert len([e for e in tiktok.events if e["event"] == "Pageview"]) == 6


def test_access_log_implies_page_views():
    cfg = cfg_with(access_log={})
    assert cfg.capture.pageviews is not None  # what the log is for


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)")
async def test_several_sidecar_processes_share_the_work_and_count_each_page_once(origin, tiktok, run_sidecar,
                                                                                 tmp_path):
    """One core each: collect calls are balanced across the processes, and each page's log record
    goes to exactly one of them."""
    nginx_port = free_port()
    sidecars, paths = [], []
    for i in range(2):
        cfg = sidecar_config(tmp_path, origin.url, tiktok.url, identity={"trusted_proxies": ["127.0.0.1/32"]},
                             outbox={"path": str(tmp_path / f"outbox{i}.sqlite")},
                             capture={"access_log": {"listen": f"127.0.0.1:{free_port()}"}})
        sidecars.append(await run_sidecar(cfg))
        paths.append(str(tmp_path / f"config{i}.yaml"))
    snippet = routes("-c", paths[0], "-c", paths[1], "--site", origin.url, "--listen", f"127.0.0.1:{nginx_port}")
    async with nginx_serving(tmp_path, snippet, nginx_port) as site:
        nav = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "User-Agent": "Mozilla/5.0 Chrome/126.0"}
        async with aiohttp.ClientSession() as s:
            for i in range(30):
                async with s.get(f"{site}/page-{i}", headers=nav) as r:
                    assert r.status == 200
                async with s.post(f"{site}/_pc/collect", json={"event": "ClickButton", "event_id": f"mp-{i}"}) as r:
                    assert r.status == 204
        await wait_for(lambda: len(tiktok.events) >= 60, timeout=20)
        await asyncio.sleep(0.5)
        pages = sorted(e["page"]["url"].rsplit("/", 1)[1] for e in tiktok.events if e["event"] == "Pageview")
        assert pages == sorted(f"page-{i}" for i in range(30))  # each page once, none lost
        per_process = [{row[0] for row in sqlite3.connect(tmp_path / f"outbox{i}.sqlite").execute(
            "SELECT source FROM events")} for i in range(2)]  # each process's own outbox
        assert per_process == [{"collect", "pageview"}] * 2  # both did both kinds of work


@pytest.mark.skipif(CADDY is None, reason="caddy is not installed (Debian: apt-get install caddy)")
@pytest.mark.parametrize("direct", [False, True], ids=["through the proxy", "endpoints direct"])
async def test_route_only_mode_with_a_real_caddy(origin, tiktok, run_sidecar, tmp_path, direct):
    log_port, caddy_port = free_port(), free_port()
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url, identity={"trusted_proxies": ["127.0.0.1/32"]},
                         capture={"access_log": {"listen": f"127.0.0.1:{log_port}"}, "rules": RULES})
    if direct:
        cfg["listen"]["endpoints_port"] = free_port()
    await run_sidecar(cfg)  # its listen port is the one the generated Caddyfile proxies to
    snippet = routes("-c", str(tmp_path / "config0.yaml"), "--server", "caddy", "--site", origin.url,
                     "--listen", f"http://127.0.0.1:{caddy_port}")
    assert ("@pixelscleared_endpoints path /_pc/*" in snippet) is direct
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(snippet.replace("{\n    servers", "{\n    admin off\n    servers", 1))
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.Popen([CADDY, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        await wait_port(caddy_port)
        site = f"http://127.0.0.1:{caddy_port}"
        browser = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Accept": "text/html",
                   "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
                   "Cookie": "cookieyes-consent=consentid:abc,consent:yes,action:yes,advertisement:yes"}
        async with aiohttp.ClientSession() as s:
            for path, extra in (("/shop/a", {}), ("/shop/b", {}), ("/img/x.png", {"Sec-Fetch-Dest": "image"})):
                async with s.get(site + path, headers={**browser, **extra}) as r:
                    assert r.status == 200
            async with s.get(f"{site}/checkout/thank-you", headers=browser) as r:
                assert r.status == 200  # a rule path: through the sidecar
            async with s.post(f"{site}/_pc/collect", json={"event": "ClickButton", "event_id": "caddy-1"}) as r:
                assert r.status == 204
        await wait_for(lambda: len(tiktok.events) >= 5, timeout=20)
        await asyncio.sleep(0.5)
        pages = sorted(e["page"]["url"].split(site, 1)[-1] for e in tiktok.events if e["event"] == "Pageview")
        assert pages == ["/checkout/thank-you", "/shop/a", "/shop/b"]  # each once, the image not
        shop = next(e for e in tiktok.events if e["event"] == "Pageview")
        assert shop["limited_data_use"] is False  # the Cookie header reached the sidecar (log_credentials)
        assert {e["event"] for e in tiktok.events} >= {"ClickButton", "CompletePayment"}
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_followed_log_file_is_read_line_by_line_through_rotation(tmp_path):
    """FileTail: only what is written after it starts; partial lines wait for their end; a
    rotated (renamed and recreated) or truncated file is followed; a missing file is waited for."""
    from pixelscleared.capture.access_log import FileTail

    path = tmp_path / "pages.log"
    path.write_bytes(b'{"old": 1}\n')  # logged before the sidecar started: not replayed
    got: list[bytes] = []
    tail = FileTail(path, lambda line, peer: got.append(line), asyncio.get_running_loop())
    tail.POLL_S = 0.02
    tail.start()
    try:
        await asyncio.sleep(0.1)
        with path.open("ab") as f:
            f.write(b'{"n": 1}\n{"n": 2')
            f.flush()
            await wait_for(lambda: got == [b'{"n": 1}'], timeout=5)
            f.write(b'}\n')  # the rest of the line
        await wait_for(lambda: got[-1:] == [b'{"n": 2}'], timeout=5)
        path.rename(tmp_path / "pages.log.1")  # logrotate: moved away, a new file in its place
        (tmp_path / "pages.log").write_bytes(b'{"n": 3}\n')
        await wait_for(lambda: got[-1:] == [b'{"n": 3}'], timeout=5)
        path.write_bytes(b"")  # copytruncate: emptied in place, then written on
        await asyncio.sleep(0.1)
        with path.open("ab") as f:
            f.write(b'{"n": 4}\n')
        await wait_for(lambda: got[-1:] == [b'{"n": 4}'], timeout=5)
        path.unlink()
        await asyncio.sleep(0.1)
        path.write_bytes(b'{"n": 5}\n')  # gone for a while, then back
        await wait_for(lambda: got[-1:] == [b'{"n": 5}'], timeout=5)
        assert got == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}', b'{"n": 4}', b'{"n": 5}']
    finally:
        await asyncio.get_running_loop().run_in_executor(None, tail.stop)


async def test_a_burst_in_the_log_file_waits_in_the_file_not_dropped(tmp_path):
    """The file is the buffer: 20,000 lines appended at once while deciding each takes a while
    are all decided, none dropped (the UDP source drops past its backlog; the file must not)."""
    path = tmp_path / "pages.log"
    path.write_bytes(b"")
    got: list[bytes] = []
    dropped: list[int] = []

    def handle(line: bytes, peer: str) -> None:
        time.sleep(0.00002)  # a record decided slower than the file is read
        got.append(line)

    listener = await listen_for_records(AccessLogSettings(file=path), handle, lambda: dropped.append(1))
    try:
        await asyncio.sleep(0.3)  # the tail is at the (empty) file's end
        lines = [b'{"n": %d}' % i for i in range(20_000)]
        path.write_bytes(b"\n".join(lines) + b"\n")
        await wait_for(lambda: len(got) + len(dropped) >= len(lines), timeout=60)
        assert not dropped and got == lines
    finally:
        await listener.close()


@pytest.mark.parametrize("share", [1.0, 0.25])
async def test_a_cpu_share_rests_between_batches(share: float) -> None:
    """`cpu_share` 0.25: after each batch the decider rests three times as long as it worked, so
    deciding takes at least 4× its work; every record is still decided, in order."""
    from pixelscleared.capture.access_log import Backlog

    got: list[bytes] = []

    def work(data: bytes, peer: str) -> None:
        until = time.perf_counter() + 0.002
        while time.perf_counter() < until:  # 2 ms of CPU per record
            pass
        got.append(data)

    backlog = Backlog(work, lambda: None, per_turn=4, cpu_share=share)
    task = asyncio.get_running_loop().create_task(backlog.run())
    try:
        started = time.perf_counter()
        for i in range(40):
            backlog.put(b"%d" % i, "file")
        await wait_for(lambda: len(got) == 40, timeout=30)
        elapsed = time.perf_counter() - started
        assert got == [b"%d" % i for i in range(40)]
        if share < 1:
            assert elapsed >= 40 * 0.002 / share * 0.9  # the rests: a lower bound, whatever the machine's load
    finally:
        task.cancel()


async def test_records_wait_while_the_outbox_has_no_room():
    """A full outbox holds records back in the backlog (and a followed file) instead of having
    their events refused; they are decided once there is room."""
    from pixelscleared.capture.access_log import Backlog

    room = False
    asked: list[int] = []
    got: list[bytes] = []

    def has_room(n: int) -> bool:
        asked.append(n)
        return room

    backlog = Backlog(lambda data, peer: got.append(data), lambda: None, per_turn=4, room=has_room)
    task = asyncio.get_running_loop().create_task(backlog.run())
    try:
        for i in range(10):
            backlog.put(b"%d" % i, "file")
        await wait_for(lambda: len(asked) >= 2, timeout=5)
        assert got == [] and len(backlog) == 10 and set(asked) == {4}
        room = True
        await wait_for(lambda: len(got) == 10, timeout=5)
        assert got == [b"%d" % i for i in range(10)]
    finally:
        task.cancel()


@pytest.mark.parametrize(("max_bytes", "sizes", "kept"), [
    (10_000, [100] * 5, 5),                      # all fit
    (1_000, [300, 300, 300], 2),                 # a record takes its data and Backlog.OVERHEAD
    (1_000, [200, 5_000, 200], 2),               # one too big for the rest of the room is dropped alone
])
async def test_the_udp_backlog_is_bounded_in_bytes(max_bytes: int, sizes: list[int], kept: int) -> None:
    """Records wait (a burst larger than the decider) up to `backlog_mb`; past it new ones are
    dropped and counted, and decided ones give their room back."""
    from pixelscleared.capture.access_log import Backlog

    dropped: list[int] = []
    got: list[bytes] = []
    backlog = Backlog(lambda data, peer: got.append(data), lambda: dropped.append(1), limit=10**9,
                      max_bytes=max_bytes)
    for n in sizes:
        backlog.put(b"x" * n, "127.0.0.1")
    assert len(backlog) == kept and len(dropped) == len(sizes) - kept
    task = asyncio.get_running_loop().create_task(backlog.run())
    try:
        await wait_for(lambda: len(got) == kept, timeout=5)
        backlog.put(b"y" * 100, "127.0.0.1")  # the room is free again
        await wait_for(lambda: len(got) == kept + 1, timeout=5)
        assert len(dropped) == len(sizes) - kept
    finally:
        task.cancel()


# 20,000 records of 1.2 KB, about as fast as nginx serves pages (another process, as nginx is).
UDP_SENDER = """
import socket, sys, time
port = int(sys.argv[1])
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
    for i in range(20_000):
        out.sendto(b'{"n": %d, "pad": "%s"}' % (i, b"x" * 1200), ("127.0.0.1", port))
        if i % 100 == 99:
            time.sleep(0.002)
"""


async def test_a_udp_burst_larger_than_the_old_count_limit_is_all_decided() -> None:
    """20,000 records sent as fast as a thread can (four times the 5,000 records that were the
    limit) wait within the 64 MiB default, taken off the socket ahead of a slower decider, and are
    all decided: none dropped by us or by the kernel."""
    got: list[bytes] = []
    dropped: list[int] = []

    def handle(data: bytes, peer: str) -> None:
        until = time.perf_counter() + 0.0002  # a decider far slower than the sender (5,000/s)
        while time.perf_counter() < until:
            pass
        got.append(data)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener = await listen_for_records(AccessLogSettings(listen=f"127.0.0.1:{port}"), handle,
                                        lambda: dropped.append(1))
    try:
        sender = await asyncio.create_subprocess_exec(sys.executable, "-c", UDP_SENDER, str(port))  # as nginx is
        assert await asyncio.wait_for(sender.wait(), timeout=60) == 0
        await wait_for(lambda: len(got) + len(dropped) >= 20_000, timeout=60)
        assert not dropped and len(got) == 20_000
    finally:
        await listener.close()
