"""capture/snippet.py and ttq.js: TikTok's browser API first-party, its tag added to pages
under the page's own Content-Security-Policy, and a page calling `ttq.track` delivers."""

from __future__ import annotations

import gzip
import zlib
from urllib.parse import quote

import aiohttp
import brotli
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import chromium_browser, serving, sidecar_config, wait_for
from pixelscleared.capture.snippet import (
    SCAN_LIMIT,
    CspPlan,
    Injector,
    eligible,
    injected_headers,
    meta_allows,
    parse_policies,
    plan_csp,
    script_tag,
)
from pixelscleared.limits import zstd

CSP = "content-security-policy"
TAG = script_tag("/_pc/", "")


@pytest.mark.parametrize(("policy", "ok", "nonce", "changed"), [
    (None, True, "", None),
    ("script-src 'self'", True, "", None),
    ("default-src 'self'; img-src *", True, "", None),
    ("img-src 'none'", True, "", None),                                              # no rule on scripts
    ("script-src https://shop.example/js/", True, "", None),                          # our host, with a path
    ("script-src *.shop.example", True, "OURS", "script-src *.shop.example 'nonce-OURS'"),  # subdomains only
    ("script-src https:", True, "", None),
    ("script-src 'nonce-abc' 'strict-dynamic' 'self'", True, "abc", None),            # the page's nonce
    ("script-src https://cdn.example", True, "OURS", "script-src https://cdn.example 'nonce-OURS'"),
    ("script-src 'sha256-AAAA' 'unsafe-inline'", True, "OURS",
     "script-src 'sha256-AAAA' 'unsafe-inline' 'nonce-OURS'"),                        # unsafe-inline already off
    ("default-src https://cdn.example; style-src 'unsafe-inline'", True, "OURS",
     "default-src https://cdn.example; script-src https://cdn.example 'nonce-OURS'; style-src 'unsafe-inline'"),
    ("script-src 'unsafe-inline' https://cdn.example", False, "", None),              # a nonce would break them
    ("script-src 'none'", False, "", None),
    ("script-src-elem https://cdn.example; script-src 'self'", True, "OURS",
     "script-src-elem https://cdn.example 'nonce-OURS'; script-src 'self'"),          # -elem governs <script src>
])
def test_plan_csp(policy, ok, nonce, changed):
    plan = plan_csp({CSP: [policy]} if policy else {}, "https", "shop.example", fresh_nonce="OURS")
    assert (plan.ok, plan.nonce) == (ok, nonce), plan.why
    assert plan.headers.get(CSP) == ([changed] if changed else None)


def test_every_policy_must_allow_the_tag_and_report_only_is_planned_alike():
    plan = plan_csp({CSP: ["script-src 'nonce-a'", "script-src 'self'"],
                     f"{CSP}-report-only": ["script-src 'nonce-b'"]}, "https", "shop.example", fresh_nonce="OURS")
    assert plan.ok and plan.nonce == "OURS"  # two different page nonces: ours is added to both
    assert plan.headers[CSP] == ["script-src 'nonce-a' 'nonce-OURS'", "script-src 'self'"]
    assert plan.headers[f"{CSP}-report-only"] == ["script-src 'nonce-b' 'nonce-OURS'"]
    assert parse_policies("script-src a, img-src b") == [[("script-src", ["a"])], [("img-src", ["b"])]]


@pytest.mark.parametrize(("head", "nonce", "ok"), [
    (b"<title>x</title>", "", True),
    (b'<meta http-equiv="Content-Security-Policy" content="script-src \'self\'">', "", True),
    (b'<meta http-equiv="Content-Security-Policy" content="script-src https://cdn.example">', "", False),
    (b"<meta http-equiv='content-security-policy' content=\"script-src 'nonce-n1'\">", "n1", True),
    (b"<meta http-equiv=content-security-policy content=\"script-src 'nonce-n1'\">", "n2", False),
])
def test_a_meta_policy_is_honoured(head, nonce, ok):
    assert meta_allows(head, "https", "shop.example", nonce) is ok


NAV = {"sec-fetch-dest": "document"}


@pytest.mark.parametrize(("method", "status", "version", "req", "resp", "ok"), [
    ("GET", 200, "HTTP/1.1", NAV, {"content-type": "text/html; charset=utf-8"}, True),
    ("GET", 200, "HTTP/2.0", {}, {"content-type": "text/html", "content-encoding": "br"}, True),
    ("HEAD", 200, "HTTP/1.1", NAV, {"content-type": "text/html"}, False),
    ("GET", 206, "HTTP/1.1", NAV, {"content-type": "text/html"}, False),
    ("GET", 304, "HTTP/1.1", NAV, {"content-type": "text/html"}, False),
    ("GET", 200, "HTTP/1.0", NAV, {"content-type": "text/html"}, False),
    ("GET", 200, "HTTP/1.1", {"sec-fetch-dest": "iframe"}, {"content-type": "text/html"}, False),
    ("GET", 200, "HTTP/1.1", {"sec-fetch-dest": "empty"}, {"content-type": "text/html"}, False),  # fetch()
    ("GET", 200, "HTTP/1.1", NAV, {"content-type": "application/json"}, False),
    ("GET", 200, "HTTP/1.1", NAV, {"content-type": "text/html", "cache-control": "public, no-transform"}, False),
    ("GET", 200, "HTTP/1.1", NAV, {"content-type": "text/html; charset=UTF-16"}, False),
    ("GET", 200, "HTTP/1.1", NAV, {"content-type": "text/html", "content-encoding": "gzip, br"}, False),
])
def test_eligible(method, status, version, req, resp, ok):
    assert eligible(method, status, version, req, resp) is ok


def _encode(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "br":
        return brotli.compress(body)
    if coding == "zstd":
        return zstd.compress(body)
    return body


def _decode(body: bytes, coding: str) -> bytes:
    return {"gzip": gzip.decompress, "deflate": zlib.decompress, "br": brotli.decompress,
            "zstd": zstd.decompress, "": bytes}[coding](body)


def run(injector: Injector, raw: bytes, cuts: list[int]) -> bytes:
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    return b"".join(injector(p) for p in pieces if p) + injector(b"")


@pytest.mark.parametrize("coding", ["", "gzip", "deflate", "br", "zstd"])
@pytest.mark.parametrize(("page", "expected"), [
    (b"<html><head><title>t</title></head><body>x</body></html>",
     b"<html><head><title>t</title>" + TAG + b"</head><body>x</body></html>"),
    (b"<HTML><HEAD></HEAD  ><BODY>", b"<HTML><HEAD>" + TAG + b"</HEAD  ><BODY>"),
    (b"<!doctype html><body class=a>no head", b"<!doctype html>" + TAG + b"<body class=a>no head"),
    (b"no markup at all", b"no markup at all"),
])
def test_the_tag_goes_before_the_end_of_head_in_every_encoding(coding, page, expected):
    outcomes: list[str] = []
    inj = Injector(TAG, coding, lambda head: True, outcomes.append)
    out = run(inj, _encode(page, coding), [3, 11, 17, 30])
    assert _decode(out, coding) == expected
    assert outcomes == (["injected"] if expected != page else ["no_head"])


def test_a_page_whose_head_never_ends_passes_unchanged_after_the_scan_limit():
    outcomes: list[str] = []
    page = b"<html><head>" + b"x" * (SCAN_LIMIT + 10) + b"</head>"
    inj = Injector(TAG, "", lambda head: True, outcomes.append)
    assert run(inj, page, list(range(0, len(page), 65536))) == page
    assert outcomes == ["no_head"]


def test_corrupt_compressed_data_ends_the_stream_without_an_exception():
    outcomes: list[str] = []
    inj = Injector(TAG, "gzip", lambda head: True, outcomes.append)
    assert isinstance(inj(b"\x1f\x8b\x08\x00garbage-not-deflate" * 3) + inj(b"more") + inj(b""), bytes)
    assert outcomes == ["undecodable"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 4000), max_size=8),
       st.sampled_from(["", "gzip", "br", "zstd"]))
def test_any_page_any_chunking_the_page_is_only_ever_added_to(page, cuts, coding):
    """Property: whatever the bytes and however they are split, the output is the page with the
    tag inserted at most once — removing the tag gives the page back byte for byte."""
    inj = Injector(TAG, coding, lambda head: True, lambda outcome: None)
    out = _decode(run(inj, _encode(page, coding), cuts), coding)
    assert out.count(TAG) - page.count(TAG) in (0, 1)
    if out != page:
        i = out.index(TAG)
        assert out[:i] + out[i + len(TAG):] == page


# -- through the running sidecar, in chromium ---------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script nonce="{nonce}">
!function (w, d, t) {{
  w.TiktokAnalyticsObject = t; var ttq = w[t] = w[t] || [];
  ttq.methods = ["page", "track", "identify", "instances", "debug", "on", "off", "once", "ready", "alias", "group",
                 "enableCookie", "disableCookie", "holdConsent", "revokeConsent", "grantConsent"];
  ttq.setAndDefer = function (t, e) {{ t[e] = function () {{ t.push([e].concat(Array.prototype.slice.call(arguments, 0))) }} }};
  for (var i = 0; i < ttq.methods.length; i++) ttq.setAndDefer(ttq, ttq.methods[i]);
  ttq.load = function () {{}};
  ttq.load("CTEST00000000000001");
  ttq.identify({{email: "jane.doe@example.com"}});
  ttq.track("AddToCart", {{value: 19.5, currency: "EUR", contents: [{{content_id: "sku-1"}}]}}, {{event_id: "before-load-1"}});
}}(window, document, "ttq");
</script></head>
<body><h1>Caf\u00e9</h1>
<button id="buy">Buy</button>
<script nonce="{nonce}">
document.getElementById("buy").addEventListener("click", function () {{
  ttq.track("CompletePayment", {{value: 49.9, currency: "EUR"}}, {{event_id: "after-load-1"}});
}});
</script></body></html>"""
NONCE = "pageNonce123"


@pytest.fixture
async def html_origin():
    async def page(request: web.Request) -> web.Response:
        resp = web.Response(text=PAGE.format(nonce=NONCE), content_type="text/html", charset="utf-8",
                            headers={CSP: f"script-src 'nonce-{NONCE}' 'strict-dynamic'; object-src 'none'",
                                     "ETag": '"v1"'})
        if request.query.get("z"):
            resp.enable_compression()
        return resp

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="<html><head></head><body>plain</body></html>", content_type="text/html",
                            headers={CSP: request.query["csp"]} if "csp" in request.query else {})

    async def favicon(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/shop", page)
    app.router.add_get("/plain", plain)
    app.router.add_get("/favicon.ico", favicon)
    async with serving(app) as url:
        yield url


async def test_a_page_calling_ttq_track_delivers_through_the_injected_script(html_origin, tiktok, run_sidecar,
                                                                             tmp_path):
    cfg = sidecar_config(tmp_path, html_origin, tiktok.url, capture={"snippet": {"inject": True}})
    cfg["destinations"]["tiktok"][0]["events"] = ["AddToCart", "CompletePayment"]
    sc = await run_sidecar(cfg)
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/shop?z=1", headers={"Accept-Encoding": "gzip"}) as r:
            body = await r.text()
            assert r.headers["Content-Encoding"] == "gzip"  # compression kept
            assert r.headers[CSP] == f"script-src 'nonce-{NONCE}' 'strict-dynamic'; object-src 'none'"  # unchanged
            assert r.headers["ETag"] == 'W/"v1"'
        assert body == PAGE.format(nonce=NONCE).replace(
            "</head>", f'<script src="/_pc/ttq.js" async nonce="{NONCE}"></script></head>', 1)
        async with s.get(sc.url + "/_pc/ttq.js") as r:
            etag = r.headers["ETag"]
            assert r.status == 200 and "sendBeacon" in await r.text() and "/_pc/collect" in await r.text()
        async with s.get(sc.url + "/_pc/ttq.js", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
    async with chromium_browser() as chromium:
        context = await chromium.new_context()
        await context.add_cookies([{"name": "cookieyes-consent", "value": "consent:yes,advertisement:yes",
                                    "url": sc.url}])
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.goto(sc.url + "/shop")
        await page.wait_for_function("window.ttq && window.ttq._pixelscleared === true")
        assert await page.inner_text("h1") == "Café"  # charset intact
        await page.click("#buy")
        await wait_for(lambda: {"before-load-1", "after-load-1"} <= {e["event_id"] for e in tiktok.events},
                       timeout=15)
        await page.screenshot(path=str(tmp_path / "shop.png"))
        # a policy that allows only another host: our nonce is added beside it, and the script runs
        await page.goto(sc.url + "/plain?csp=" + quote("script-src https://cdn.example; object-src 'none'"))
        await page.wait_for_function("window.ttq && window.ttq._pixelscleared === true")
        await context.close()
    assert problems == []  # no CSP violation, no script error
    by_id = {e["event_id"]: e for e in tiktok.events}
    assert by_id["before-load-1"]["event"] == "AddToCart"  # queued by the stub before ttq.js loaded
    assert by_id["before-load-1"]["properties"]["value"] == 19.5
    assert by_id["after-load-1"]["properties"]["currency"] == "EUR"
    assert by_id["after-load-1"]["page"]["url"] == sc.url + "/shop"
    assert "jane.doe" not in str(tiktok.requests)  # identify() never sends personal data
    async with aiohttp.ClientSession() as s:
        # 'unsafe-inline' without a nonce: adding one would switch off the site's inline scripts
        async with s.get(sc.url + "/plain?csp=" + quote("script-src 'unsafe-inline' https://cdn.example")) as r:
            assert "ttq.js" not in await r.text()
            assert r.headers[CSP] == "script-src 'unsafe-inline' https://cdn.example"
        async with s.get(sc.url + "/_pc/metrics") as r:
            metrics = await r.text()
    assert 'pixelscleared_snippet_pages_total{outcome="csp"} 1.0' in metrics
    assert 'pixelscleared_snippet_pages_total{outcome="injected"} 3.0' in metrics


async def test_injection_off_leaves_pages_byte_identical(html_origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, html_origin, tiktok.url))
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/shop") as r:
            assert await r.read() == PAGE.format(nonce=NONCE).encode()
            assert r.headers["ETag"] == '"v1"'


@pytest.mark.parametrize("plan, etag, version, expect_set", [
    (CspPlan(True), '"abc"', "HTTP/1.1", {"etag": ['W/"abc"'], "transfer-encoding": ["chunked"]}),
    (CspPlan(True), 'W/"abc"', "HTTP/2.0", {}),  # already weak; HTTP/2 frames need no chunking
    (CspPlan(True), "", "HTTP/1.1", {"transfer-encoding": ["chunked"]}),
    (CspPlan(True, "n1", {"content-security-policy": ["script-src 'nonce-n1'"]}), "", "HTTP/2.0",
     {"content-security-policy": ["script-src 'nonce-n1'"]}),
])
def test_injected_headers(plan: CspPlan, etag: str, version: str, expect_set: dict[str, list[str]]) -> None:
    """The tag changes the bytes: lengths and digests go, a strong ETag turns weak, the CSP is as planned."""
    changes = injected_headers(plan, etag, version)
    assert changes.set == expect_set
    assert set(changes.drop) == {"content-length", "content-md5", "digest", "repr-digest", "content-digest"}
