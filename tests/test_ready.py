"""Readiness: origin, outbox and deliverer decide it; each pixel's last answer is reported, never
a reason to take the replica out of rotation."""

from __future__ import annotations

import aiohttp
import pytest

from conftest import free_port, sidecar_config, wait_for
from pixelscleared.ready import pixel_state

SENT = {"at": 1.0, "message": ""}


@pytest.mark.parametrize("last, check, state, code", [
    ({**SENT, "result": "delivered", "code": 0}, None, "ok", 0),
    ({**SENT, "result": "dead", "code": 40105}, None, "failing", 40105),
    ({**SENT, "result": "dead", "code": 40001}, None, "failing", 40001),
    ({**SENT, "result": "dead", "code": 40002}, None, "ok", 40002),   # one event's content, not the token
    ({**SENT, "result": "retry", "code": 40100}, None, "retrying", 40100),
    (None, {"ok": False, "code": 40105, "message": "revoked"}, "failing", 40105),
    (None, {"ok": True, "code": 0, "message": "OK"}, "ok", 0),
    ({**SENT, "result": "delivered", "code": 0}, {"ok": False, "code": 40105, "message": "x"}, "ok", 0),  # newer
    (None, None, "unknown", None),
])
def test_pixel_state(last, check, state, code):
    got = pixel_state(last, check)
    assert (got["state"], got.get("code")) == (state, code)


async def ready(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/_pc/ready") as r:
            return r.status, await r.json()


async def test_ready_with_everything_up_and_a_failing_pixel_reported(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url),
                           env={"TEST_TIKTOK_TOKEN": "revoked-token-123456"})
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": "r1"}) as r:
            assert r.status == 204
    status, report = await ready(sc.url)
    assert status == 200 and report["status"] == "ready"
    assert {k: v["ok"] for k, v in report["checks"].items()} == {"origin": True, "outbox": True, "deliverer": True}
    await wait_for(lambda: tiktok.requests, timeout=10)
    _, report = await ready(sc.url)
    assert report["pixels"]["CKTESTPIXEL000000001"]["state"] == "failing"
    assert report["pixels"]["CKTESTPIXEL000000001"]["code"] == 40105  # reported, and still ready
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/_pc/metrics") as r:
            text = await r.text()
    assert 'pixelscleared_ready{check="origin"} 1.0' in text


async def test_not_ready_while_the_origin_is_down(tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, f"http://127.0.0.1:{free_port()}", tiktok.url))
    status, report = await ready(sc.url)
    assert status == 503 and report["checks"]["origin"]["ok"] is False
    assert report["checks"]["origin"]["detail"]  # says why (connection refused)
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/_pc/health") as r:
            assert r.status == 200  # alive: a restart would not help
