"""`make bench`: every bench/bench_*.py, then proxy throughput side by side.

The micro-benchmarks run first: on a shared VM a minute of saturating load can leave the
CPU throttled for a while, which would show in their absolute figures (not in the ratios).

Figures are ratios measured in one run (these machines are shared and noisy):
origin direct, plain `mitmdump` in reverse mode, and `pixelscleared run` in front of the same
origin, for page requests and for collect calls mirrored to the local TikTok stand-in.
Load comes from wrk (Debian package) on loopback only; bounded in time; stops by itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DURATION_S = int(os.environ.get("BENCH_SECONDS", "4"))
# every setup runs once per round, in a rotated order, so a burst of load from a neighbour
# skews one round of each rather than one setup; ratios are medians of per-round ratios
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 10

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"bench: {url} did not come up")


def wrk(url: str, script: str | None = None, run: int = 0) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", url]
    if script:
        args[1:1] = ["-s", script]
    out = subprocess.run(args, capture_output=True, text=True, timeout=DURATION_S + 30,
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


def drain(events_url: str, timeout: float = 60) -> tuple[float, dict[str, int]]:
    """Wait until the outbox has nothing pending; return how long that took and the status counts."""
    start = time.monotonic()
    while True:
        counts = json.loads(urllib.request.urlopen(events_url).read())["counts"]
        if not counts.get("queued") and not counts.get("retrying") or time.monotonic() - start > timeout:
            return time.monotonic() - start, counts
        time.sleep(0.2)


def main() -> int:
    if not shutil.which("wrk"):
        print("bench: wrk is needed (Debian: apt-get install wrk)", file=sys.stderr)
        return 1
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        print(f"== {script.name}")
        subprocess.run([sys.executable, str(script)], check=False, timeout=300)
        print()
    tmp = Path(tempfile.mkdtemp(prefix="pixelscleared-bench-"))
    procs: list[Proc] = []
    try:
        op, tp, mp, sp = free_port(), free_port(), free_port(), free_port()
        (tmp / "origin.py").write_text(ORIGIN)
        (tmp / "collect.lua").write_text(COLLECT_LUA)
        (tmp / "navigate.lua").write_text(NAVIGATE_LUA)
        (tmp / "pageload.lua").write_text(PAGELOAD_LUA)
        cp = free_port()
        procs.append(Proc([sys.executable, str(tmp / "origin.py"), str(op)]))
        procs.append(Proc([str(BIN / "pixelscleared"), "fake-tiktok", "--port", str(tp),
                           "--pixel", "CKBENCH0000000000001=bench-token"]))
        procs.append(Proc([str(BIN / "mitmdump"), "-q", "--mode", f"reverse:http://127.0.0.1:{op}@127.0.0.1:{mp}"]))
        (tmp / "config.yaml").write_text(f"""
listen: {{host: 127.0.0.1, port: {sp}}}
upstream: http://127.0.0.1:{op}
outbox: {{path: {tmp}/outbox.sqlite}}
identity: {{salt: bench-salt, session_cookie: shop_session}}
log: {{level: warning}}
destinations:
  tiktok:
    - pixel_id: CKBENCH0000000000001
      access_token: bench-token
      events: [PageView, ClickButton]
      api_base: http://127.0.0.1:{tp}
""")
        sidecar = Proc([str(BIN / "pixelscleared"), "run", "-c", str(tmp / "config.yaml")])
        procs.append(sidecar)
        # the same sidecar with no-code capture on: page views and a rule on every page
        (tmp / "capture.yaml").write_text(
            (tmp / "config.yaml").read_text().replace(f"port: {sp}", f"port: {cp}")
            .replace("outbox.sqlite", "outbox-capture.sqlite")
            + "capture:\n  pageviews: {}\n  rules:\n    - {name: any-page, match: {path: \"/p/**\"}, event: ViewContent,"
              " properties: {content_id: {path: \"/p/([^/]+)\"}}}\n")
        procs.append(Proc([str(BIN / "pixelscleared"), "run", "-c", str(tmp / "capture.yaml")]))
        for port in (op, tp, mp):
            wait_http(f"http://127.0.0.1:{port}/" if port != tp else f"http://127.0.0.1:{tp}/_fake/health")
        wait_http(f"http://127.0.0.1:{sp}/_pc/health")
        wait_http(f"http://127.0.0.1:{cp}/_pc/health")

        rss_start = rss_mb(sidecar.p.pid)
        setups = [
            ("origin direct (aiohttp)", f"http://127.0.0.1:{op}/", None),
            ("plain mitmdump -q, reverse", f"http://127.0.0.1:{mp}/", None),
            ("pixelscleared run, page requests", f"http://127.0.0.1:{sp}/", None),
            ("pixelscleared run, page loads, capture off", f"http://127.0.0.1:{sp}/", str(tmp / "pageload.lua")),
            ("pixelscleared run, page loads, page views + a rule", f"http://127.0.0.1:{cp}/",
             str(tmp / "pageload.lua")),
            ("pixelscleared run, navigations, capture off", f"http://127.0.0.1:{sp}/p/1", str(tmp / "navigate.lua")),
            ("pixelscleared run, navigations, page views + a rule", f"http://127.0.0.1:{cp}/p/1",
             str(tmp / "navigate.lua")),
            ("pixelscleared run, collect calls", f"http://127.0.0.1:{sp}/", str(tmp / "collect.lua")),
        ]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in setups}
        for r in range(ROUNDS):
            for name, url, script in setups[r % len(setups):] + setups[:r % len(setups)]:
                runs[name].append(wrk(url, script, run=r))
        rss_end = rss_mb(sidecar.p.pid)
        drained_in, counts = drain(f"http://127.0.0.1:{sp}/_pc/events?limit=1")
        base = runs[setups[1][0]]
        print(f"\nproxy throughput — wrk -t2 -c{CONNECTIONS} -d{DURATION_S}s × {ROUNDS} rounds, "
              "HTTP/1.1 keep-alive, loopback; medians\n")
        print("| setup | req/s | vs plain mitmdump | p50 ms | p99 ms | non-2xx |")
        print("|---|---|---|---|---|---|")
        for name, _, _ in setups:
            rs = runs[name]
            ratio = median([a["rps"] / b["rps"] for a, b in zip(rs, base, strict=True)])
            print(f"| {name} | {median([x['rps'] for x in rs]):,.0f} | {ratio:.2f}× | "
                  f"{median([x['p50'] for x in rs]):.2f} | {median([x['p99'] for x in rs]):.2f} | "
                  f"{sum(int(x['non2xx']) for x in rs)} |")
        print(f"\nsidecar RSS: {rss_start:.0f} MB at start, {rss_end:.0f} MB after the runs")
        for mix, what in (("page loads", "1 navigation + 10 assets"), ("navigations", "every request a page view")):
            on, off = runs[f"pixelscleared run, {mix}, page views + a rule"], runs[f"pixelscleared run, {mix}, capture off"]
            capture_ratio = median([a["rps"] / b["rps"] for a, b in zip(on, off, strict=True)])
            print(f"\nno-code capture on vs off, {mix} ({what}): {capture_ratio:.2f}× "
                  f"(target ≥ 0.90: {'met' if capture_ratio >= 0.9 else 'NOT met'})")
        sent = sum(int(x["total"]) for x in runs["pixelscleared run, collect calls"])
        delivered = counts.get("delivered", 0)
        print(f"collect calls answered 204: {sent:,}; delivered to the TikTok stand-in: {delivered:,} "
              f"({'all' if delivered >= sent else 'NOT all'}), {drained_in:.1f} s after the load stopped; "
              f"events log: {counts}")
        if counts.get("dropped") or counts.get("dead"):
            for status in ("dropped", "dead"):
                if counts.get(status):
                    url = f"http://127.0.0.1:{sp}/_pc/events?status={status}&limit=20"
                    reasons = sorted({r["reason"] for r in json.loads(urllib.request.urlopen(url).read())["events"]})
                    print(f"{status}, why: {reasons}")
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return 0


if __name__ == "__main__":
    sys.exit(main())
