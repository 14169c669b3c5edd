"""`make bench`: every bench/bench_*.py, then throughput side by side, delivery rate and memory.

The micro-benchmarks run first: on a shared VM minutes of saturating load can leave the CPU
throttled for a while, which would show in their absolute figures (not in the ratios). Each ends
with a `RESULT {json}` line: scrubbing events/s on one core (target ≥ 10,000 for a 2 KB pixel
beacon and a GA4 hit) and the consent engine's median µs (target < 50) join the targets below.

Everything runs in one go on this machine, interleaved over rounds, and is reported as medians
and as ratios to a baseline measured in the same rounds (these machines are shared and noisy):

- throughput (wrk, HTTP/1.1 keep-alive): origin direct; plain `mitmdump`; a lean mitmproxy master
  without our addon; the sidecar with capture off and with page views + a rule; nginx as a plain
  reverse proxy and nginx in route-only mode (`pixelscleared routes`) — for navigations, page
  loads (a navigation and its ten assets), collect calls and a mix (90 % page loads, 10 % collect);
- several sidecar processes behind nginx (`routes -c a.yaml -c b.yaml`), nothing pinned: how the
  collect-call rate grows with processes;
- delivery: a full outbox drained to the local TikTok stand-in, events/s (target ≥ 5,000/s);
- memory: the sidecar's RSS after 10k and 100k requests (target: growth < 10 %).

It writes bench/results.json and the table between the bench markers in README.md. Load comes
from wrk on loopback only; every phase is bounded in time and stops by itself. Environment:
BENCH_SECONDS (per run, default 4), BENCH_ROUNDS (default 3), BENCH_RSS_REQUESTS (default 100000),
BENCH_OUTBOX_EVENTS (default 20000).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DURATION_S = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
RSS_REQUESTS = int(os.environ.get("BENCH_RSS_REQUESTS", "100000"))
OUTBOX_EVENTS = int(os.environ.get("BENCH_OUTBOX_EVENTS", "20000"))
CONNECTIONS = 10
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
PIXEL = "CKBENCH0000000000001"
# The site's side (origin, nginx, wrk, the TikTok stand-in) and the proxies under test run on
# separate CPUs where there are two or more, as they would on separate cores in production: a
# sidecar busy with events then shows as its own cost, not as CPU taken from the web server.
_CPUS = sorted(os.sched_getaffinity(0))
SITE_CPUS = ",".join(map(str, _CPUS[:max(1, len(_CPUS) // 2)])) if len(_CPUS) > 1 and shutil.which("taskset") else ""
PROXY_CPUS = ",".join(map(str, _CPUS[max(1, len(_CPUS) // 2):])) if SITE_CPUS else ""
ALL_CPUS = ",".join(map(str, _CPUS))


def pinned(args: list[str], cpus: str) -> list[str]:
    return ["taskset", "-c", cpus, *args] if cpus else args

ORIGIN = r'''
import sys
from aiohttp import web
body = b"<html><body>" + b"x" * 2048 + b"</body></html>"
asset = b"x" * 2048
TYPES = {"css": "text/css", "js": "text/javascript", "png": "image/png", "woff2": "font/woff2"}
async def page(request):
    ext = request.path.rpartition("/")[2].rpartition(".")[2]
    if ext in TYPES:
        return web.Response(body=asset, content_type=TYPES[ext])
    return web.Response(body=body, content_type="text/html")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", page)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
'''

# A browser navigating: every request is a page view when capture.pageviews is on.
NAVIGATE_LUA = r'''
wrk.headers["Accept"] = "text/html"
wrk.headers["Sec-Fetch-Dest"] = "document"
wrk.headers["Sec-Fetch-Mode"] = "navigate"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
wrk.headers["Cookie"] = "cookieyes-consent=consent:yes,advertisement:yes; shop_session=abc"
'''

# A browser loading pages: one navigation, then the page's ten assets, over and over — the mix a
# site serves (assets outnumber pages); only the navigation makes events.
PAGELOAD_LUA = r'''
local assets = {"/static/app.css", "/static/app.js", "/static/vendor.js", "/static/font.woff2",
                "/img/1.png", "/img/2.png", "/img/3.png", "/img/4.png", "/img/5.png", "/img/6.png"}
local dest = {css = "style", js = "script", woff2 = "font", png = "image"}
local n = 0
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
wrk.headers["Cookie"] = "cookieyes-consent=consent:yes,advertisement:yes; shop_session=abc"
request = function()
  local k = n % (#assets + 1)
  n = n + 1
  if k == 0 then
    wrk.headers["Sec-Fetch-Dest"] = "document"
    wrk.headers["Sec-Fetch-Mode"] = "navigate"
    wrk.headers["Accept"] = "text/html"
    return wrk.format("GET", "/p/" .. (n % 50))
  end
  local path = assets[k]
  wrk.headers["Sec-Fetch-Dest"] = dest[path:match("%.(%w+)$")]
  wrk.headers["Sec-Fetch-Mode"] = "no-cors"
  wrk.headers["Accept"] = "*/*"
  return wrk.format("GET", path)
end
'''

COLLECT_LUA = r'''
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "cookieyes-consent=consent:yes,advertisement:yes; shop_session=abc"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
counter = 0
request = function()
  counter = counter + 1
  local body = '{"event":"ClickButton","event_id":"bench-' .. os.getenv("BENCH_RUN") .. '-' .. tid .. '-' .. counter ..
    '","url":"http://shop.example/p/1?email=jane%40example.com","properties":{"value":"19.90","currency":"eur",' ..
    '"contents":[{"content_id":42,"quantity":1,"price":19.9}],"note":"call me at +44 20 7946 0958"}}'
  return wrk.format(nil, "/_pc/collect", nil, body)
end
'''



# 90 % page loads (a navigation and its assets), 10 % collect calls: a site with a tag.
MIX_LUA = PAGELOAD_LUA.replace("local n = 0", "local n = 0\nlocal c = 0").replace(
    "request = function()\n", """request = function()
  c = c + 1
  if c % 10 == 0 then
    wrk.headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/_pc/collect", nil,
      '{"event":"ClickButton","url":"http://shop.example/p/1","properties":{"value":19.9,"currency":"EUR"}}')
  end
""", 1)

LEAN = r'''
import asyncio, sys
from mitmproxy import options
from mitmproxy.addons import core, errorcheck, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master
from pixelscleared.config import load_config
from pixelscleared.runner import proxy_options

async def main():
    opts = options.Options()
    master = Master(opts)
    master.addons.add(core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(),
                      errorcheck.ErrorCheck())
    opts.update(**proxy_options(load_config(sys.argv[1]), None))  # the sidecar's options, without its addon
    await master.run()

asyncio.run(main())
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"bench: {url} did not come up")


def wrk(url: str, script: str | None = None, run: int = 0, seconds: int = DURATION_S,
        cpus: str | None = None) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    if script:
        args[1:1] = ["-s", script]
    args = pinned(args, SITE_CPUS if cpus is None else cpus)
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30,
                         env={**os.environ, "BENCH_RUN": str(run)}).stdout  # event ids unique per run
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"total": total, "rps": rps, "p50": pct("50"), "p99": pct("99"), "non2xx": int(errors.group(1)) if errors else 0}


class Proc:
    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, **(env or {})}, cwd=cwd)

    def stop(self) -> None:
        if self.p.poll() is not None:
            return
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def counts(sidecar: str) -> dict[str, int]:
    req = urllib.request.Request(f"{sidecar}/_pc/events?limit=1",
                                 headers={"Authorization": "Bearer bench-admin-token"})  # behind a trusted proxy
    return json.loads(urllib.request.urlopen(req).read())["counts"]


def drain(sidecar: str, timeout: float = 60) -> tuple[float, dict[str, int]]:
    """Wait until the outbox has nothing pending; return how long that took and the status counts."""
    start = time.monotonic()
    while True:
        c = counts(sidecar)
        if not c.get("queued") and not c.get("retrying") or time.monotonic() - start > timeout:
            return time.monotonic() - start, c
        time.sleep(0.2)


class Bench:
    """The processes of one run, all on loopback ports, stopped at the end whatever happens."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[Proc] = []
        # TikTok's work is done on TikTok's machines, not the site's: one stand-in beside the site for
        # sidecars that serve pages (their own CPU is what is measured) and for the delivery rate, one
        # beside the proxies for route-only sidecars (the web server's CPU is what is measured there).
        self.op, self.tp, self.tp_beside_proxies = free_port(), free_port(), free_port()
        for name, text in (("origin.py", ORIGIN), ("lean.py", LEAN), ("navigate.lua", NAVIGATE_LUA),
                           ("pageload.lua", PAGELOAD_LUA), ("collect.lua", COLLECT_LUA), ("mix.lua", MIX_LUA)):
            (tmp / name).write_text(text)
        self.start(pinned([sys.executable, str(tmp / "origin.py"), str(self.op)], SITE_CPUS))
        for port, cpus in ((self.tp, SITE_CPUS), (self.tp_beside_proxies, PROXY_CPUS)):
            self.start(pinned([str(BIN / "pixelscleared"), "fake-tiktok", "--port", str(port), "--pixel",
                               f"{PIXEL}=bench-token"], cpus))
            wait_http(f"http://127.0.0.1:{port}/_fake/health")
        wait_http(f"http://127.0.0.1:{self.op}/")

    def start(self, args: list[str], **kw: Any) -> Proc:
        p = Proc(args, **kw)
        self.procs.append(p)
        return p

    def config(self, name: str, port: int, capture: str = "", access_log: int | Path = 0,
               route_only: bool = False, endpoints_port: int = 0) -> Path:
        path = self.tmp / f"{name}.yaml"
        tiktok = self.tp_beside_proxies if route_only else self.tp
        direct = f", endpoints_port: {endpoints_port}" if endpoints_port else ""
        extra = capture
        if isinstance(access_log, Path):
            extra = (extra or "capture:\n") + f"  access_log: {{file: {access_log}}}\n"
        elif access_log:
            extra = (extra or "capture:\n") + f"  access_log: {{listen: 127.0.0.1:{access_log}}}\n"
        path.write_text(f"""
listen: {{host: 127.0.0.1, port: {port}{direct}}}
upstream: http://127.0.0.1:{self.op}
outbox: {{path: {self.tmp}/{name}.sqlite}}
identity: {{salt: bench-salt, session_cookie: shop_session, trusted_proxies: [127.0.0.1/32]}}
log: {{level: warning}}
admin: {{token: bench-admin-token}}
destinations:
  tiktok:
    - pixel_id: {PIXEL}
      access_token: bench-token
      events: [PageView, ClickButton]
      api_base: http://127.0.0.1:{tiktok}
""" + extra)
        return path

    def sidecar(self, name: str, capture: str = "", access_log: int | Path = 0,
                route_only: bool = False, cpus: str | None = None, direct: bool = False) -> tuple[str, Proc, Path]:
        port, endpoints_port = free_port(), free_port() if direct else 0
        cfg = self.config(name, port, capture, access_log, route_only, endpoints_port)
        p = self.start(pinned([str(BIN / "pixelscleared"), "run", "-c", str(cfg)], PROXY_CPUS if cpus is None else cpus))
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/_pc/health")
        if endpoints_port:
            wait_http(f"http://127.0.0.1:{endpoints_port}/_pc/health")
        return url, p, cfg

    def nginx(self, name: str, snippet: str, cpus: str | None = None) -> str:
        """nginx (one worker) with an http-level snippet, under tmp; its URL."""
        d = self.tmp / name
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        port = free_port()
        snippet = re.sub(r"listen [^;]+;", f"listen 127.0.0.1:{port};", snippet, count=1)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (d / "nginx.conf").write_text(f"""{user}daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
{snippet}
}}
""")
        self.start(pinned([NGINX, "-c", str(d / "nginx.conf"), "-p", str(d)], SITE_CPUS if cpus is None else cpus))
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/")
        return url

    def plain_nginx(self) -> str:
        """nginx as a plain keep-alive reverse proxy to the origin: every route-only ratio's baseline."""
        return self.nginx("nginx-plain", f"upstream site {{ server 127.0.0.1:{self.op}; keepalive 32; }}\n"
                          "server { listen 8; location / { proxy_pass http://site; proxy_http_version 1.1;"
                          ' proxy_set_header Connection ""; } }')

    def routes(self, configs: list[Path]) -> str:
        args = [str(BIN / "pixelscleared"), "routes", "--site", f"http://127.0.0.1:{self.op}", "--listen", "8"]
        for c in configs:
            args += ["-c", str(c)]
        return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout

    def close(self) -> None:
        for p in reversed(self.procs):
            p.p.send_signal(signal.SIGCONT)  # a frozen one must hear the stop
            p.stop()


CAPTURE = ("capture:\n  pageviews: {}\n  rules:\n    - {name: any-page, match: {path: \"/p/**\"}, event: ViewContent,"
           " properties: {content_id: {path: \"/p/([^/]+)\"}}}\n")


# Route-only: page views from the log, and a rule on a thank-you page (rule paths go through the
# sidecar by design, so a rule on every page would put every page back through it).
ROUTE_CAPTURE = ("capture:\n  pageviews: {}\n  rules:\n    - {name: thanks, match: {path: /thank-you}, "
                 "event: CompletePayment}\n")


def _cpu_times() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per CPU from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            name, *vals = line.split()
            nums = [int(v) for v in vals]
            idle = nums[3] + (nums[4] if len(nums) > 4 else 0)
            out[name[3:]] = (sum(nums) - idle, sum(nums))
    return out


def settle(limit: float = 0.1, timeout: float = 60.0) -> float:
    """Wait until the CPUs are idle (below `limit` busy over 250 ms): a sidecar still deciding the
    last run's page views, or delivering its events, would slow the next run's servers — and
    which setup came before would decide a ratio. Returns the seconds waited."""
    cpus = ALL_CPUS.split(",") if SITE_CPUS else []
    if not cpus or not Path("/proc/stat").exists():
        time.sleep(1)
        return 1.0
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        a = _cpu_times()
        time.sleep(0.25)
        b = _cpu_times()
        busy = sum(b[c][0] - a[c][0] for c in cpus if c in a and c in b)
        total = sum(b[c][1] - a[c][1] for c in cpus if c in a and c in b)
        if total and busy / total < limit:
            break
    return time.monotonic() - start


def rounds(setups: list[tuple[str, str, str | None]], cpus: str | None = None) -> dict[str, list[dict[str, float]]]:
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in setups}
    for r in range(ROUNDS):
        for name, url, script in setups[r % len(setups):] + setups[:r % len(setups)]:
            settle()  # no run starts while the last one's backlog is still being worked off
            runs[name].append(wrk(url, script, run=r, cpus=cpus))
    return runs


def ratio(runs: dict[str, list[dict[str, float]]], a: str, b: str) -> float:
    return median([x["rps"] / y["rps"] for x, y in zip(runs[a], runs[b], strict=True)])


def delivery_rate(b: Bench) -> dict[str, Any]:
    """A full outbox (OUTBOX_EVENTS queued, written while no sidecar runs) drained to the stand-in."""
    from pixelscleared.outbox import connect

    name = "drain"
    port = free_port()
    cfg = b.config(name, port)
    conn = connect(b.tmp / f"{name}.sqlite")
    now = time.time()
    with conn:
        conn.executemany(
            "INSERT INTO events (created_at, updated_at, event_id, pixel_id, event_name, source, verdict,"
            " consent_sources, removed, status, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(now, now, f"drain-{i}", PIXEL, "PageView", "collect", "granted", "[]", "[]", "queued",
              json.dumps({"event": "PageView", "event_id": f"drain-{i}", "event_time": int(now),
                          "user": {"ip": "0" * 64}, "page": {"url": f"https://shop.example/p/{i}"}}))
             for i in range(OUTBOX_EVENTS)])
    conn.close()
    p = b.start(pinned([str(BIN / "pixelscleared"), "run", "-c", str(cfg)], PROXY_CPUS))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/_pc/health")
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        c = counts(url)
        done = c.get("delivered", 0)
        if first is None and done:
            first = (time.monotonic(), done)  # from the first answer: the sidecar's start not counted
        if done >= OUTBOX_EVENTS:
            break
        time.sleep(0.02)
    took = time.monotonic() - first[0] if first else float("nan")
    p.stop()
    rate = (done - first[1]) / took if first and took > 0 else 0.0
    return {"events": OUTBOX_EVENTS, "delivered": done, "seconds": round(took, 2), "events_per_s": round(rate)}


def rss_growth(b: Bench, url: str, pid: int, script: str) -> dict[str, Any]:
    """RSS after 10k requests and after RSS_REQUESTS, in chunks of wrk runs."""
    done, marks = 0, {}
    for target in (10_000, RSS_REQUESTS):
        while done < target:
            done += int(wrk(url, script, run=100 + done, seconds=10)["total"])
        marks[target] = rss_mb(pid)
    growth = marks[RSS_REQUESTS] / marks[10_000] - 1
    return {"requests": done, "rss_mb_after_10k": round(marks[10_000], 1),
            f"rss_mb_after_{RSS_REQUESTS}": round(marks[RSS_REQUESTS], 1), "growth": round(growth, 3)}


def table(runs: dict[str, list[dict[str, float]]], rows: list[tuple[str, str]]) -> list[str]:
    out = ["| setup | load | req/s | vs baseline | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|---|---|"]
    for name, base in rows:
        rs = runs[name]
        who, _, load = name.partition(" | ")
        out.append(f"| {who} | {load} | {median([x['rps'] for x in rs]):,.0f} | {ratio(runs, name, base):.2f}× "
                   f"({base.partition(' | ')[0]}) | {median([x['p50'] for x in rs]):.2f} | "
                   f"{median([x['p99'] for x in rs]):.2f} | {sum(int(x['non2xx']) for x in rs)} |")
    return out


def main() -> int:
    if not shutil.which("wrk"):
        print("bench: wrk is needed (Debian: apt-get install wrk)", file=sys.stderr)
        return 1
    micro: dict[str, Any] = {}
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        print(f"== {script.name}")
        done = subprocess.run([sys.executable, str(script)], check=False, timeout=300, stdout=subprocess.PIPE, text=True)
        for line in done.stdout.splitlines():
            if line.startswith("RESULT "):
                micro.update(json.loads(line.removeprefix("RESULT ")))
            else:
                print(line)
        print()
    tmp = Path(tempfile.mkdtemp(prefix="pixelscleared-bench-"))
    b = Bench(tmp)
    results: dict[str, Any] = {"when": time.strftime("%Y-%m-%d"), "micro": micro, "seconds": DURATION_S, "rounds": ROUNDS,
                               "connections": CONNECTIONS, "cpus": len(_CPUS),
                               "pinning": {"site": SITE_CPUS, "proxies": PROXY_CPUS} if SITE_CPUS else None}
    if SITE_CPUS:
        print(f"CPUs: origin, nginx and wrk on {SITE_CPUS}; the proxies under test on {PROXY_CPUS}; a TikTok stand-in on each")
        results["cpu_sharing"] = cpu_sharing()
        print(f"the site's CPU runs at {results['cpu_sharing']:.2f}× its speed while the proxies' CPU is busy")
    try:
        origin = f"http://127.0.0.1:{b.op}"
        mp = free_port()
        b.start(pinned([str(BIN / "mitmdump"), "-q", "--mode", f"reverse:{origin}@127.0.0.1:{mp}"], PROXY_CPUS))
        wait_http(f"http://127.0.0.1:{mp}/")
        off, _, _ = b.sidecar("off")
        on, _, on_cfg = b.sidecar("on", CAPTURE)
        lp = free_port()
        b.start(pinned([sys.executable, str(tmp / "lean.py"), str(b.config("lean", lp))], PROXY_CPUS))
        wait_http(f"http://127.0.0.1:{lp}/")
        s = {k: str(tmp / f"{k}.lua") for k in ("navigate", "pageload", "collect", "mix")}
        # (name, url, wrk script, the baseline its ratio is taken against — by name, never by position)
        o_nav, o_load = "origin direct (aiohttp) | navigations", "origin direct (aiohttp) | page loads"
        m_nav = "plain mitmdump -q | navigations"
        off_nav, off_load = "sidecar, capture off | navigations", "sidecar, capture off | page loads"
        off_collect, off_mix = "sidecar, capture off | collect calls", "sidecar, capture off | mix 90/10"
        on_nav, on_load = "sidecar, page views + a rule | navigations", "sidecar, page views + a rule | page loads"
        setups: list[tuple[str, str, str | None, str]] = [
            (o_nav, origin + "/p/1", s["navigate"], o_nav),
            (o_load, origin + "/", s["pageload"], o_load),
            (m_nav, f"http://127.0.0.1:{mp}/p/1", s["navigate"], m_nav),
            ("lean mitmproxy master, no addon | navigations", f"http://127.0.0.1:{lp}/p/1", s["navigate"], m_nav),
            (off_nav, off + "/p/1", s["navigate"], m_nav),
            (off_load, off + "/", s["pageload"], off_load),
            (off_collect, off + "/", s["collect"], m_nav),
            (off_mix, off + "/", s["mix"], off_mix),
            (on_nav, on + "/p/1", s["navigate"], off_nav),
            (on_load, on + "/", s["pageload"], off_load),
            ("sidecar, page views + a rule | mix 90/10", on + "/", s["mix"], off_mix),
        ]
        n_nav, n_load = "nginx, plain reverse proxy | navigations", "nginx, plain reverse proxy | page loads"
        r_nav, r_load = "nginx, route-only + 1 sidecar | navigations", "nginx, route-only + 1 sidecar | page loads"
        r_collect = "nginx, route-only + 1 sidecar | collect calls"
        d_collect = "nginx, route-only + 1 sidecar, endpoints direct | collect calls"
        r_mix, d_mix = "nginx, route-only + 1 sidecar | mix 90/10", "nginx, route-only + 1 sidecar, endpoints direct | mix 90/10"
        frozen_nav = "nginx, route-only, sidecar frozen | navigations"
        f_nav, f_load = "nginx, route-only, log file + 1 sidecar | navigations", "nginx, route-only, log file + 1 sidecar | page loads"
        # the sidecar on nginx's own CPU, as where they share a machine's cores: full share and half
        same_nav = "nginx, route-only, log file + 1 sidecar on nginx's CPU | navigations"
        h_nav = "nginx, route-only, log file + 1 sidecar on nginx's CPU at cpu_share 0.5 | navigations"
        if NGINX:
            # Where the web server's pages are measured, deliveries go to the stand-in beside the proxies;
            # where collect calls through sidecars are (their CPU is the limit), to the one beside the site.
            _, _, one_cfg = b.sidecar("route1", ROUTE_CAPTURE, access_log=free_port(), route_only=True)
            _, _, collect_cfg = b.sidecar("routecollect", ROUTE_CAPTURE, access_log=free_port())
            plain = b.plain_nginx()
            route = b.nginx("nginx-route", b.routes([one_cfg]))
            route_collect = b.nginx("nginx-route-collect", b.routes([collect_cfg]))
            # `listen.endpoints_port`: /_pc/ served without the proxy (stand-ins placed as above)
            _, _, direct_cfg = b.sidecar("routedirect", ROUTE_CAPTURE, access_log=free_port(), direct=True)
            route_direct = b.nginx("nginx-route-direct", b.routes([direct_cfg]))
            _, _, direct_mix_cfg = b.sidecar("routedirectmix", ROUTE_CAPTURE, access_log=free_port(),
                                             route_only=True, direct=True)
            route_direct_mix = b.nginx("nginx-route-direct-mix", b.routes([direct_mix_cfg]))
            _, frozen_proc, frozen_cfg = b.sidecar("frozen", ROUTE_CAPTURE, access_log=free_port(), route_only=True)
            frozen = b.nginx("nginx-frozen", b.routes([frozen_cfg]))
            frozen_proc.p.send_signal(signal.SIGSTOP)  # records queue in the kernel, then drop: no CPU used
            _, _, file_cfg = b.sidecar("routefile", ROUTE_CAPTURE, access_log=tmp / "pages.log", route_only=True)
            route_file = b.nginx("nginx-route-file", b.routes([file_cfg]))
            _, _, same_cfg = b.sidecar("routesame", ROUTE_CAPTURE, access_log=tmp / "pages-same.log",
                                       route_only=True, cpus=SITE_CPUS)
            route_same = b.nginx("nginx-route-same", b.routes([same_cfg]))
            half_cap = ROUTE_CAPTURE + f"  access_log: {{file: {tmp / 'pages-half.log'}, cpu_share: 0.5}}\n"
            _, _, half_cfg = b.sidecar("routehalf", half_cap, route_only=True, cpus=SITE_CPUS)
            route_half = b.nginx("nginx-route-half", b.routes([half_cfg]))
            setups += [
                (n_nav, plain + "/p/1", s["navigate"], o_nav),
                (n_load, plain + "/", s["pageload"], o_load),
                (r_nav, route + "/p/1", s["navigate"], n_nav),
                (r_load, route + "/", s["pageload"], n_load),
                (r_mix, route + "/", s["mix"], n_load),
                (d_mix, route_direct_mix + "/", s["mix"], n_load),
                (r_collect, route_collect + "/", s["collect"], off_collect),
                (d_collect, route_direct + "/", s["collect"], r_collect),
                (frozen_nav, frozen + "/p/1", s["navigate"], n_nav),
                (f_nav, route_file + "/p/1", s["navigate"], n_nav),
                (f_load, route_file + "/", s["pageload"], n_load),
                (same_nav, route_same + "/p/1", s["navigate"], n_nav),
                (h_nav, route_half + "/p/1", s["navigate"], n_nav),
            ]
        else:
            print("bench: nginx not installed: route-only figures skipped (Debian: apt-get install nginx)")
        rows = [(name, base) for name, _, _, base in setups]
        runs = rounds([(name, url, script) for name, url, script, _ in setups])
        if NGINX:
            scaled, scale_rows = process_scaling(b, s["collect"])
            runs.update(scaled)
            rows += scale_rows
        lines = table(runs, rows)
        print(f"\nthroughput — wrk -t2 -c{CONNECTIONS} -d{DURATION_S}s × {ROUNDS} rounds, HTTP/1.1 keep-alive, "
              "loopback; medians; ratios are medians of per-round ratios to the baseline named\n")
        print("\n".join(lines))
        results["throughput"] = {name: {"rps": median([x["rps"] for x in rs]), "p50_ms": median([x["p50"] for x in rs]),
                                        "p99_ms": median([x["p99"] for x in rs])} for name, rs in runs.items()}
        targets: dict[str, Any] = {}
        notes: list[str] = []  # figures without a target, for the README beside the targets

        def note(text: str) -> None:
            notes.append(text)
            print(text)

        def target(key: str, value: float, goal: float, higher: bool = True) -> None:
            met = value >= goal if higher else value < goal
            targets[key] = {"value": round(value, 3), "target": goal, "higher": higher, "met": met}
            print(f"{key}: {value:.2f} (target {'≥' if higher else '<'} {goal}: {'met' if met else 'NOT met'})")

        print()
        if "scrub_beacon_us" in micro:  # one core, from bench_scrub.py at the start of this run
            goal = micro["target_events_per_s"]
            target("scrubbing, 2 KB pixel beacon, events/s on one core", round(1e6 / micro["scrub_beacon_us"]), goal)
            target("scrubbing, GA4 hit, events/s on one core", round(1e6 / micro["scrub_ga4_us"]), goal)
        if "consent_median_us" in micro:
            target("consent, 4 KB cookie header with six CMPs, median µs",
                   micro["consent_median_us"]["defaults"], micro["target_us"], higher=False)
        target("capture on vs off, page loads", ratio(runs, on_load, off_load), 0.9)
        target("capture on vs off, navigations only", ratio(runs, on_nav, off_nav), 0.9)
        if NGINX:
            target("route-only vs plain nginx, navigations", ratio(runs, r_nav, n_nav), 0.9)
            target("route-only vs plain nginx, page loads", ratio(runs, r_load, n_load), 0.9)
            results["process_scaling"] = {name.partition(" | ")[0]: round(ratio(runs, name, base), 2)
                                          for name, base in scale_rows}
            note(f"collect calls behind nginx, N sidecar processes vs 1, nothing pinned ({len(_CPUS)} CPUs): "
                 + ", ".join(f"{i}: **{ratio(runs, name, base):.2f}×**" for i, (name, base) in enumerate(scale_rows, 1)))
            target("route-only, sidecar frozen, vs plain nginx, navigations (the web server's own cost)",
                   ratio(runs, frozen_nav, n_nav), 0.9)
            target("route-only, log file, vs plain nginx, navigations", ratio(runs, f_nav, n_nav), 0.9)
            target("route-only, log file, vs plain nginx, page loads", ratio(runs, f_load, n_load), 0.9)
            note(f"route-only collect calls with `listen.endpoints_port` (no proxy in their way): "
                 f"**{ratio(runs, d_collect, r_collect):.2f}×** those through the sidecar's proxy; the 90/10 mix "
                 f"**{ratio(runs, d_mix, n_load):.2f}×** of plain nginx page loads ({ratio(runs, r_mix, n_load):.2f}× through the proxy)")
            note(f"route-only, log file, the sidecar on nginx's CPU (sharing its cores): **{ratio(runs, same_nav, n_nav):.2f}×** "
                 f"of plain nginx at full share, **{ratio(runs, h_nav, n_nav):.2f}×** at cpu_share 0.5 (navigations)")
            results["route_only_pageviews"] = {
                "udp": pageview_loss(route, one_cfg.with_suffix(".sqlite"), s["navigate"], "UDP", note),
                "file": pageview_loss(route_file, file_cfg.with_suffix(".sqlite"), s["navigate"], "log file", note)}
        drained_in, c = drain(off)
        sent = sum(int(x["total"]) for x in runs["sidecar, capture off | collect calls"])
        print(f"\ncollect calls answered 204: {sent:,}; delivered: {c.get('delivered', 0):,}, "
              f"{drained_in:.1f} s after the load stopped; events log: {c}")
        results["delivery"] = delivery_rate(b)
        print(f"delivery from a full outbox: {results['delivery']}")
        target("delivered events/s from a full outbox", results["delivery"]["events_per_s"], 5000)
        results["memory"] = rss_growth(b, on + "/", on_proc_pid(b, on_cfg), s["pageload"])
        print(f"memory (page loads through the capture sidecar): {results['memory']}")
        target(f"RSS growth 10k → {RSS_REQUESTS:,} requests", results["memory"]["growth"], 0.10, higher=False)
        results["targets"] = targets
        results["table"] = lines
        (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        results["notes"] = notes
        write_readme(lines, targets, notes, results.get("cpu_sharing"))
        print("\nwrote bench/results.json and the README table")
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def process_scaling(b: Bench, script: str) -> tuple[dict[str, list[dict[str, float]]], list[tuple[str, str]]]:
    """Collect calls behind nginx to 1, 2… sidecar processes (up to the CPUs, at most 4), nothing
    pinned: every process may use every CPU, as on a server — how the rate grows with processes."""
    most = min(4, len(_CPUS))
    setups, rows = [], []
    for n in range(1, most + 1):
        cfgs = [b.sidecar(f"scale{n}-{i}", ROUTE_CAPTURE, access_log=free_port(), cpus="")[2] for i in range(n)]
        url = b.nginx(f"nginx-scale{n}", b.routes(cfgs), cpus="")
        name = f"nothing pinned: nginx, route-only + {n} sidecar{'s' if n > 1 else ''} | collect calls"
        setups.append((name, url + "/", script))
        rows.append((name, setups[0][0]))
    return rounds(setups, cpus=""), rows


def pageview_loss(route: str, outbox: Path, script: str, label: str,
                  note: Callable[[str], None] = print) -> dict[str, Any]:
    """Navigations nginx serves in route-only mode against the page views the sidecar takes from
    the log in the same time: past what one process decides, records are dropped (counted)."""

    def taken() -> int:
        with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM events WHERE source = 'pageview'").fetchone()[0])

    before = taken()
    started = time.monotonic()
    served = int(wrk(route + "/p/1", script, run=900)["total"])
    last, steady_since = -1, time.monotonic()
    while time.monotonic() - steady_since < 2 and time.monotonic() - started < 60:  # until it stops growing
        if (now := taken()) != last:
            last, steady_since = now, time.monotonic()
        time.sleep(0.2)
    got = last - before
    took = steady_since - started
    note(f"route-only page views ({label}): nginx served {served:,} navigations in {DURATION_S} s; the sidecar "
         f"took {got:,} ({got / max(served, 1):.0%}) within {took:.1f} s")
    return {"navigations_served": served, "pageviews_taken": got, "share": round(got / max(served, 1), 3),
            "seconds_to_take_them": round(took, 1)}


def on_proc_pid(b: Bench, cfg: Path) -> int:
    return next(p.p.pid for p in b.procs if str(cfg) in p.p.args)


_SPIN = ("import time\nt = time.perf_counter(); n = 0\nwhile time.perf_counter() - t < 3:\n"
         "    for _ in range(10000): n += 1\nprint(n)")


def cpu_sharing() -> float:
    """How fast the site's CPU runs while the proxies' CPU is busy, against while it idles: below
    1 where the two share a physical core (hyper-threads), so a busy sidecar slows the web server
    beside it however little it asks of it. Route-only ratios with a live sidecar are bounded by it."""
    def spin() -> subprocess.Popen[str]:
        return subprocess.Popen(pinned([sys.executable, "-c", _SPIN], SITE_CPUS), stdout=subprocess.PIPE, text=True)
    alone = int(spin().communicate(timeout=30)[0])
    busy = subprocess.Popen(pinned([sys.executable, "-c", _SPIN], PROXY_CPUS), stdout=subprocess.DEVNULL)
    beside = int(spin().communicate(timeout=30)[0])
    busy.wait(timeout=30)
    return round(beside / alone, 2)


def write_readme(lines: list[str], targets: dict[str, Any], notes: list[str], sharing: float | None = None) -> None:
    """Replace the table between the bench markers in README.md."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return
    body = [f"Latest `make bench` ({time.strftime('%Y-%m-%d')}, this machine, {ROUNDS} rounds of "
            f"{DURATION_S} s; `bench/results.json`):", "", *lines, ""]
    body += [f"- {k}: **{v['value']:g}** (target {'≥' if v['higher'] else '<'} {v['target']:g}: "
             f"{'met' if v['met'] else '**not met**'})" for k, v in targets.items()]
    body += [f"- {n}" for n in notes]
    if sharing is not None:
        body.append(f"- this machine: the site's CPU runs at **{sharing:.2f}×** its speed while the proxies' CPU "
                    "is busy (1.00 = separate cores), which bounds the route-only ratios with a live sidecar")
    new = text[:text.index(start) + len(start)] + "\n" + "\n".join(body) + "\n" + text[text.index(end):]
    readme.write_text(new)


if __name__ == "__main__":
    sys.exit(main())
