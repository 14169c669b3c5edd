"""The addon inside mitmproxy: unit (taddons) and as loaded by a real `mitmdump -s`."""

from __future__ import annotations

import asyncio
import logging
import subprocess

import aiohttp
import pytest
import yaml
from mitmproxy.addons import errorcheck
from mitmproxy.test import taddons, tflow

from conftest import BIN, ROOT, free_port, sidecar_config, spawn, wait_for, wait_http
from pixelscleared.addon import PixelsCleared
from pixelscleared.config import parse_config


def site_flow() -> tflow.HTTPFlow:
    """mitmproxy's test flow as a browser would send it (with its `Host`, which guard.py requires)."""
    f = tflow.tflow()
    f.request.headers["Host"] = "shop.example"
    return f


def make_addon(tmp_path, **over):
    cfg = parse_config(sidecar_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2", **over),
                       env={"TEST_TIKTOK_TOKEN": "test-token-abcdef"})
    return PixelsCleared(cfg)


async def test_exception_on_site_traffic_fails_open(tmp_path):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.request.path = "/checkout"
        addon._forwarded_headers = lambda flow: 1 / 0  # a bug anywhere in the glue
        addon.requestheaders(f)
        await addon.request(f)
        assert f.response is None and f.error is None  # the request continues to the origin untouched
        assert addon.pipeline.metrics.addon_errors.labels("requestheaders")._value.get() == 1


async def test_a_streamed_request_gets_clean_forwarded_headers_too(tmp_path):
    """mitmproxy may stream a big body before the `request` hook: the rewrite happens at the headers."""
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.request.path = "/upload"
        f.request.headers["X-Forwarded-Host"] = "evil.example"
        f.request.headers["X-Forwarded-Proto"] = "gopher"
        f.request.stream = True
        addon.requestheaders(f)  # nothing after this sees the headers before the origin does
        assert "evil.example" not in f.request.headers.get("X-Forwarded-Host", "")
        assert f.request.headers["X-Forwarded-Proto"] == ("https" if f.client_conn.tls_established else "http")


async def test_an_error_on_one_flow_during_startup_does_not_stop_the_proxy(tmp_path):
    # mitmproxy's errorcheck exits for any error logged before startup ends; traffic arrives in
    # that window (listeners are up before `running`), and one failed flow must not stop the proxy
    addon = make_addon(tmp_path)
    check = errorcheck.ErrorCheck()
    try:
        with taddons.context(check, addon):  # errorcheck first, as in `pixelscleared run` and mitmdump
            f = site_flow()
            f.request.path = "/checkout"
            addon._forwarded_headers = lambda flow: 1 / 0
            addon.requestheaders(f)
            await addon.request(f)
            logging.getLogger("pixelscleared.test").error("a real startup problem")
            assert [r.getMessage() for r in check.logger.has_errored] == ["a real startup problem"]
    finally:
        check.finish()


async def test_collect_during_startup_is_acknowledged_once_the_outbox_has_it(tmp_path):
    """The proxy listens before `running` opens the outbox: a call then waits, and gets its 204 only
    once its event is on disk."""
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = collect_flow()
        request = asyncio.create_task(addon.request(f))
        done, _ = await asyncio.wait({request}, timeout=0.2)  # it must still be waiting after 0.2 s
        assert not done and f.response is None  # not acknowledged: nothing is on disk yet
        await addon.running()
        await asyncio.wait_for(request, 5)
        rows = await addon.pipeline.outbox.query(lambda c: c.execute("SELECT event_id FROM events").fetchall())
        await addon.done()
        assert f.response.status_code == 204 and rows == [("ann-1",)]


async def test_exception_on_own_endpoint_never_reaches_origin(tmp_path):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.request.method = "POST"
        f.request.path = "/_pc/collect"
        f.request.content = b'{"event": "PageView"}'
        addon.pipeline.accept = lambda events, facts: 1 / 0
        await addon.request(f)
        assert f.response is not None and f.response.status_code == 500


async def test_bounded_collect_call_is_read(tmp_path):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.request.path = "/_pc/collect"
        f.request.headers["content-length"] = "100"
        addon.requestheaders(f)
        assert f.error is None


@pytest.mark.parametrize("path, method, peer, status", [
    ("/_pc/health", "GET", "127.0.0.1", 200),
    ("/_pc/nope", "GET", "127.0.0.1", 404),
    ("/_pc/collect", "GET", "127.0.0.1", 405),
    ("/_pc/collect", "OPTIONS", "127.0.0.1", 204),
    # an encoded prefix or repeated slashes reach the same endpoint, never the site
    ("/%5Fpc/collect", "GET", "127.0.0.1", 405),
    ("//_pc/metrics", "GET", "203.0.113.9", 403),  # the admin check still applies
    ("/%5fpc/metrics", "GET", "127.0.0.1", 200),
    ("/%5Fpc/nope", "GET", "127.0.0.1", 404),
])
async def test_own_endpoints(tmp_path, path, method, peer, status):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.client_conn.peername = (peer, 5555)
        f.request.method = method
        f.request.path = path
        await addon.request(f)
        assert f.response.status_code == status


@pytest.mark.parametrize("peer, auth, status", [
    ("127.0.0.1", "", 200),
    ("203.0.113.9", "", 403),
    ("203.0.113.9", "Bearer wrong-token", 403),
    ("203.0.113.9", "Bearer admin-token-123", 200),
])
async def test_admin_endpoints_need_allowed_network_or_token(tmp_path, peer, auth, status):
    addon = make_addon(tmp_path, admin={"token": "admin-token-123"})
    with taddons.context(addon):
        f = site_flow()
        f.client_conn.peername = (peer, 5555)
        f.request.path = "/_pc/metrics"
        if auth:
            f.request.headers["Authorization"] = auth
        await addon.request(f)
        assert f.response.status_code == status
        if status == 200:
            assert b"pixelscleared_events_captured" in f.response.content


@pytest.mark.parametrize("path", ["/_pc/collect", "//%5Fpc/collect"])  # also under an encoded prefix
async def test_oversized_collect_call_is_answered_413(tmp_path, path):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.request.path = path
        f.request.headers["content-length"] = str(300_000)
        addon.requestheaders(f)
        assert f.error is None and f.response.status_code == 413
        assert b"over 262144 bytes" in f.response.content
        await addon.request(f)  # the body is read and dropped: the request hook leaves the answer alone
        assert f.response.status_code == 413
        assert addon.pipeline.metrics.dropped.labels("body_too_large")._value.get() == 1


@pytest.mark.parametrize("headers", [{"content-length": str(10**9)}, {"content-length": "12x"},
                                     {"transfer-encoding": "chunked"}])
async def test_oversized_or_unbounded_collect_call_is_killed_before_reading(tmp_path, headers):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.request.path = "/_pc/collect"
        f.request.headers.pop("content-length", None)
        f.request.headers.update(headers)
        addon.requestheaders(f)
        assert f.error is not None  # killed: never read, never forwarded
        assert addon.pipeline.metrics.dropped.labels("body_too_large")._value.get() == 1


ANN_EVENT = (b'{"event": "PageView", "event_id": "ann-1", "url": "http://shop.test/?email=jane.doe%40example.com",'
             b' "properties": {"email": "jane.doe@example.com", "phone": "+44 7700 900123"}}')


def collect_flow(content: bytes = ANN_EVENT) -> tflow.HTTPFlow:
    f = site_flow()
    f.request.method = "POST"
    f.request.path = "/_pc/collect"
    f.request.headers["Cookie"] = "cookieyes-consent=consent:yes,advertisement:yes"
    f.request.content = content
    return f


async def test_collect_annotates_flow_for_mitmweb(tmp_path):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        await addon.running()  # the outbox is open: the call is acknowledged once on disk
        f = collect_flow()
        await addon.request(f)
        await addon.done()
        assert f.response.status_code == 204
        assert f.comment.startswith("PixelsCleared: Pageview [ann-1]: consent granted (") and f.marked
        # what was removed, by path and kind; never the values (mitmweb is shared with testers)
        assert "properties.email (email)" in f.comment and "properties.phone (phone)" in f.comment
        assert "page.url" in f.comment
        assert "jane" not in f.comment and "example.com" not in f.comment and "7700" not in f.comment
        assert "→ CKTESTPIXEL000000001: queued (at capture)" in f.comment
        meta = f.metadata["pixelscleared"]["events"][0]
        assert meta["verdict"] == "granted" and meta["consent_sources"] and \
            ", ".join(meta["consent_sources"]) in f.comment
        assert {"path": "properties.email", "kind": "email"} in meta["removed"]
        assert all(set(r) == {"path", "kind"} for r in meta["removed"])
        assert meta["pixels"] == {"CKTESTPIXEL000000001": "queued"}


async def test_forwarded_tracking_call_comment_lists_removed_items(tmp_path):
    addon = make_addon(tmp_path, capture={"ga4": {"paths": ["/g/collect"]}})
    with taddons.context(addon):
        f = site_flow()
        f.request.path = "/g/collect?v=2&tid=G-TEST&en=page_view&ep.email=jane%40example.com"
        await addon.request(f)
        assert f.response is None  # continues to the origin, scrubbed
        assert "ga4 call forwarded to the origin without " in f.comment
        assert "(email)" in f.comment and "jane" not in f.comment and "example.com" not in f.comment
        assert any(r["kind"] == "email" for r in f.metadata["pixelscleared"]["forward_removed"])


async def test_loaded_by_plain_mitmdump(origin, tiktok, tmp_path):
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url)
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg))
    port = free_port()
    args = [str(BIN / "mitmdump"), "--mode", f"reverse:{origin.url}@127.0.0.1:{port}", "--set", "flow_detail=0",
            "-s", str(ROOT / "addon" / "pixelscleared.py"), "--set", f"pixelscleared_config={p}"]
    log = tmp_path / "mitmdump.log"
    with spawn(args, log, {"TEST_TIKTOK_TOKEN": "test-token-abcdef"}):
        url = f"http://127.0.0.1:{port}"
        # Plain mitmdump loads its cert store only after its listeners are up, and exits if a
        # request lands in between (`pixelscleared run` avoids this; a fresh machine creates its
        # CA first, which takes a while): send nothing before the addon's `running` hook ran.
        await wait_for(lambda: "pipeline started" in log.read_text(), timeout=60)
        await wait_http(url + "/_pc/health")
        async with aiohttp.ClientSession() as s:
            async with s.post(url + "/_pc/collect", json={"event": "PageView", "event_id": "mitmdump-1"}) as r:
                assert r.status == 204
            async with s.get(url + "/") as r:
                assert r.status == 200
        try:
            await wait_for(lambda: any(e["event_id"] == "mitmdump-1" for e in tiktok.events), timeout=20)
        except AssertionError:  # once seen on a loaded CI machine: keep what the proxy said
            raise AssertionError(f"not delivered; stand-in saw {tiktok.requests}; mitmdump said:\n"
                                 + (tmp_path / "mitmdump.log").read_text()[-4000:]) from None
    assert "test-token-abcdef" not in (tmp_path / "mitmdump.log").read_text()


def test_mitmdump_with_invalid_config_says_why(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("upstream: http://127.0.0.1:1\nlisten: {prot: 1}\n")
    r = subprocess.run([str(BIN / "mitmdump"), "-q", "--mode", f"reverse:http://127.0.0.1:1@127.0.0.1:{free_port()}",
                        "-s", str(ROOT / "addon" / "pixelscleared.py"), "--set", f"pixelscleared_config={p}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "listen.prot: unknown key" in r.stdout + r.stderr


async def test_exception_on_forwarded_tracking_call_fails_closed(tmp_path):
    addon = make_addon(tmp_path, capture={"ga4": {"paths": ["/g/collect"]}})
    with taddons.context(addon):
        f = site_flow()
        f.request.path = "/g/collect?v=2&en=page_view&ep.email=jane%40example.com"
        addon.pipeline.tracking_call = lambda *a, **kw: 1 / 0
        await addon.request(f)
        assert f.response is not None and f.response.status_code == 204  # answered here, never passed on
        assert addon.pipeline.metrics.addon_errors.labels("request")._value.get() == 1


# --- the prefix and tracking paths in disguise: still ours, never the site's --------------------

@pytest.mark.parametrize("path", ["/%5Fpc/health", "/%5fpc/health", "//_pc/health", "///_pc/health",
                                  "/%2F_pc/health", "/_pc/%68ealth?x=1", "/%5F%70%63/health",
                                  "/_PC/health", "/_pc//health", "/_pc/./health", "/_pc;x/health", "/a/../_pc/health"])
async def test_encoded_prefix_or_repeated_slashes_are_ours(tmp_path, path):
    addon = make_addon(tmp_path)
    with taddons.context(addon):
        f = site_flow()
        f.request.path = path
        await addon.request(f)
        assert f.response is not None and f.response.status_code == 200
        assert f.response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/shop%20items/_pc/x?q=%5Fpc", "/_pcx/events", "/%5Fpcx/events", "/a//_pc/events",
                                  "/%255Fpc/events", "//shop/page", "/_pc", "/caf%C3%A9?a=%2F_pc%2F"])
async def test_site_paths_stay_byte_identical(tmp_path, path):
    addon = make_addon(tmp_path, capture={"ga4": {"paths": ["/g/collect"]}})
    with taddons.context(addon):
        f = site_flow()
        f.request.path = path
        addon.requestheaders(f)
        await addon.request(f)
        assert f.response is None and f.error is None
        assert f.request.path == path


@pytest.mark.parametrize("path", ["//g/collect", "/g/%63ollect", "/%67/collect/",
                                  # variants lenient routers resolve to the same handler
                                  "/G/collect", "/g//collect", "/g/./collect", "/g/collect;x", "/x/../g/collect",
                                  "/g/COLLECT"])
async def test_tracking_path_in_disguise_is_captured(tmp_path, path):
    addon = make_addon(tmp_path, capture={"ga4": {"paths": ["/g/collect"]}})
    with taddons.context(addon):
        f = site_flow()
        f.request.path = path + "?v=2&tid=G-TEST&en=page_view&ep.email=jane%40example.com"
        await addon.request(f)
        assert f.response is None and "ga4 call forwarded to the origin without " in f.comment
        assert f.request.path.startswith(path + "?") and "jane" not in f.request.path


async def test_compressed_calls_are_decoded_with_a_bound(tmp_path):
    """A 289-byte brotli bomb must not become 300 MB on the event loop; a gzip'd call is read."""
    import gzip

    import brotli

    addon = make_addon(tmp_path, capture={"ga4": {"paths": ["/g/collect"]}})
    with taddons.context(addon):
        await addon.running()
        bomb = collect_flow(brotli.compress(b"[" * 50_000_000, quality=5))
        bomb.request.headers["Content-Encoding"] = "br"
        await addon.request(bomb)
        assert bomb.response.status_code == 413
        good = collect_flow(gzip.compress(ANN_EVENT))
        good.request.headers["Content-Encoding"] = "gzip"
        await addon.request(good)
        hit = site_flow()
        hit.request.method = "POST"
        hit.request.path = "/g/collect?v=2&tid=G-1"
        hit.request.headers["Content-Encoding"] = "gzip"
        hit.request.content = None
        hit.request.raw_content = gzip.compress(b"not-a-gzip-member-at-all")[:-8]  # truncated
        await addon.request(hit)
        await addon.done()
        assert good.response.status_code == 204
        assert hit.response.status_code == 400  # never forwarded unscrubbed, never a 500
        assert addon.pipeline.metrics.dropped.labels("body_too_large")._value.get() == 1
        assert addon.pipeline.metrics.dropped.labels("body_undecodable")._value.get() == 1
