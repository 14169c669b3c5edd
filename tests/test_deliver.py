from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sqlite3
import time

import pytest
from aiohttp import web

from conftest import wait_for
from pixelscleared.config import parse_config
from pixelscleared.deliver import Deliverer, backoff, build_request, classify
from pixelscleared.metrics import Metrics
from pixelscleared.outbox import EventsQuery, Outbox, OutboxRow, requeue_dead


@pytest.mark.parametrize("status, body, result, bad_index", [
    (200, {"code": 0, "message": "OK", "request_id": "r"}, "delivered", None),
    (200, {"code": 20001, "message": "partial"}, "delivered", None),
    (200, {"code": 40100, "message": "Too many requests"}, "retry", None),
    (200, {"code": 40105, "message": "Access token is incorrect"}, "dead", None),
    (200, {"code": 40001, "message": "No permission"}, "dead", None),
    (200, {"code": 40002, "message": "Batch.3.event_id: Not a valid string"}, "dead", 3),
    (200, {"code": 40002, "message": "event_source: missing"}, "dead", None),
    (500, {"code": 50000, "message": "oops"}, "retry", None),
    (503, "upstream overloaded", "retry", None),
    (200, "not json", "retry", None),
    (200, {"code": "0"}, "retry", None),
    (None, None, "retry", None),
])
def test_classify(status, body, result, bad_index):
    raw = None if body is None else (json.dumps(body) if isinstance(body, dict) else body).encode()
    out = classify(status, raw)
    assert (out.result, out.bad_index) == (result, bad_index)


def test_backoff_grows_and_is_capped():
    s = parse_config({"upstream": "http://x:1", "delivery": {"backoff_base_s": 1, "backoff_max_s": 30}},
                     env={}).delivery
    rnd = random.Random(1)
    delays = [backoff(n, s, rnd) for n in range(1, 10)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4
    assert max(delays) <= 36


def test_build_request():
    [pixel] = parse_config({"upstream": "http://x:1", "destinations": {"tiktok": [{
        "pixel_id": "CKPIX", "access_token": "tok-123456", "events": ["CompletePayment"]}]}}, env={}).destinations.tiktok
    obj = {"event": "CompletePayment", "event_id": "e1"}
    body = build_request(pixel, [obj], "TEST1")
    assert body["event_source"] == "web" and body["event_source_id"] == "CKPIX"
    assert body["test_event_code"] == "TEST1" and body["data"] == [obj]
    assert "test_event_code" not in build_request(pixel, [obj])
    assert "partner_name" not in body  # only when configured: TikTok validates registered partner names
    partner = pixel.model_copy(update={"partner_name": "AcmePartner"})
    assert build_request(partner, [obj])["partner_name"] == "AcmePartner"


class ScriptedTikTok:
    """A stand-in whose answers a test scripts (TikTok itself cannot run here)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.bodies = []

    async def handle(self, request):
        self.bodies.append(await request.json())
        status, doc = self.answers.pop(0) if self.answers else (200, {"code": 0, "message": "OK"})
        return web.json_response(doc, status=status)


@pytest.fixture
async def scripted(request):
    tt = ScriptedTikTok(request.param)
    app = web.Application()
    app.router.add_post("/open_api/v1.3/event/track/", tt.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    tt.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield tt
    await runner.cleanup()


@contextlib.asynccontextmanager
async def run_delivery(tmp_path, api_base, n_events, **delivery):
    """An outbox holding `n_events` queued events and a running Deliverer; both stopped on exit."""
    cfg = parse_config({"upstream": "http://x:1", "delivery": {"backoff_base_s": 0.05, "backoff_max_s": 0.1, **delivery},
                        "destinations": {"tiktok": [{"pixel_id": "P1", "access_token": "tok-123456",
                                                     "events": ["Pageview"], "api_base": api_base}]}}, env={})
    ob = Outbox(tmp_path / "o.sqlite", Metrics())
    await ob.open()
    for i in range(n_events):
        ob.put(OutboxRow(f"e{i}", "P1", "Pageview", "collect", "granted", [], [], "queued",
                         payload={"event": "Pageview", "event_id": f"e{i}"}))
    await ob.flush()
    d = Deliverer(ob, cfg.destinations.tiktok, cfg.delivery, ob.metrics)
    task = asyncio.create_task(d.run())
    try:
        yield ob
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await ob.close()


async def statuses(ob):
    rows = await ob.query(lambda c: c.execute("SELECT event_id, status, attempts FROM events ORDER BY id").fetchall())
    return {r[0]: (r[1], r[2]) for r in rows}


async def settled(ob, done, timeout: float = 10.0):
    """The outbox's statuses once `done(statuses)` holds (a wait for the condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not done(st := await statuses(ob)):
        assert time.monotonic() < deadline, f"not settled: {st}"
        await asyncio.sleep(0.02)
    return st


@pytest.mark.parametrize("scripted", [[(200, {"code": 40100, "message": "rate"}), (503, {"code": 1})]], indirect=True)
async def test_retries_until_delivered_with_same_event_ids(tmp_path, scripted):
    async with run_delivery(tmp_path, scripted.url, 3) as ob:
        st = await settled(ob, lambda st: {s for s, _ in st.values()} == {"delivered"})
        assert all(a == 3 for _, a in st.values())
        ids = [[e["event_id"] for e in b["data"]] for b in scripted.bodies]
        assert ids[0] == ids[1] == ids[2] == ["e0", "e1", "e2"]  # one batch, resent whole


@pytest.mark.parametrize("scripted", [[(200, {"code": 40002, "message": "Batch.1.event_id: Not a valid string"})]],
                         indirect=True)
async def test_one_bad_event_is_dead_lettered_the_rest_resent(tmp_path, scripted):
    async with run_delivery(tmp_path, scripted.url, 3) as ob:
        st = await settled(ob, lambda st: st["e0"][0] == st["e2"][0] == "delivered")
        assert st["e1"][0] == "dead"
        assert st["e0"][0] == st["e2"][0] == "delivered"
        assert [e["event_id"] for e in scripted.bodies[1]["data"]] == ["e0", "e2"]


@pytest.mark.parametrize("scripted", [[(200, {"code": 40100})] * 10], indirect=True)
async def test_gives_up_after_max_attempts(tmp_path, scripted):
    async with run_delivery(tmp_path, scripted.url, 1, max_attempts=3) as ob:
        await settled(ob, lambda st: st["e0"] == ("dead", 3))
        assert len(scripted.bodies) == 3  # a dead row is never picked again


@pytest.mark.parametrize("scripted", [[(200, {"code": 40105, "message": "Access token is incorrect"})]],
                         indirect=True)
async def test_rows_requeued_by_another_process_are_sent_and_counted(tmp_path, scripted):
    # `pixelscleared events --requeue` updates the SQLite file from another process: the idle
    # deliverer finds the rows, and a scrape counts them at once (never a negative gauge)
    async with run_delivery(tmp_path, scripted.url, 1) as ob:
        await wait_for(lambda: len(scripted.bodies) >= 1, timeout=10)
        await wait_for(lambda: ob.metrics.outbox_pending._value.get() == 0, timeout=10)
        other = sqlite3.connect(tmp_path / "o.sqlite")
        with other:  # another process makes the row pending again, due in an hour
            other.execute("UPDATE events SET status = 'retrying', next_attempt_at = ?", (time.time() + 3600,))
        await ob.refresh_pending()  # what /_pc/metrics does before it answers
        assert ob.metrics.outbox_pending._value.get() == 1  # counted at once, not 30 s later
        with other:
            other.execute("UPDATE events SET status = 'dead'")
        assert requeue_dead(other, EventsQuery(), now=0.0) == 1
        other.close()
        await wait_for(lambda: len(scripted.bodies) >= 2, timeout=10)  # within the idle poll
        await settled(ob, lambda st: st["e0"] == ("delivered", 1))
        await ob.refresh_pending()
        assert ob.metrics.outbox_pending._value.get() == 0


@pytest.mark.parametrize("scripted", [[]], indirect=True)
async def test_batches_are_at_most_batch_size(tmp_path, scripted):
    async with run_delivery(tmp_path, scripted.url, 25, batch_size=10, concurrency=1):
        await wait_for(lambda: sum(len(b["data"]) for b in scripted.bodies) >= 25, timeout=10)
        assert [len(b["data"]) for b in scripted.bodies] == [10, 10, 5]


async def test_unreachable_tiktok_keeps_events_pending(tmp_path):
    from conftest import free_port

    async with run_delivery(tmp_path, f"http://127.0.0.1:{free_port()}", 2) as ob:
        await wait_for(lambda: ob.metrics.delivered.labels("P1", "retry")._value.get() >= 2, timeout=10)
        st = await statuses(ob)
        assert {s for s, _ in st.values()} == {"retrying"}


@pytest.mark.parametrize("scripted", [[(503, {"code": 1})] * 4], indirect=True)
async def test_events_arriving_during_an_outage_wait_and_go_out_together(tmp_path, scripted):
    async with run_delivery(tmp_path, scripted.url, 1, backoff_base_s=0.3, backoff_max_s=0.3, max_attempts=4) as ob:
        await wait_for(lambda: len(scripted.bodies) >= 1, timeout=10)
        for i in range(1, 6):  # one event every 20 ms while the pixel is paused
            ob.put(OutboxRow(f"late{i}", "P1", "Pageview", "collect", "granted", [], [], "queued",
                             payload={"event": "Pageview", "event_id": f"late{i}"}))
            await ob.flush()
            await asyncio.sleep(0.02)
        assert len(scripted.bodies) == 1  # nothing sent while paused, however many events arrive
        st = await settled(ob, lambda st: all(s in ("delivered", "dead") for s, _ in st.values()))
        sizes = [len(b["data"]) for b in scripted.bodies]
        assert sizes == [1, 6, 6, 6, 5]  # after each pause: everything waiting, in one request
        # the first event used up max_attempts; the late ones keep their own count and get through
        assert st["e0"] == ("dead", 4)
        assert {st[f"late{i}"] for i in range(1, 6)} == {("delivered", 4)}


@pytest.mark.parametrize("scripted", [[(200, {"code": 40100, "message": "rate"})] * 4], indirect=True)
async def test_a_long_outage_logs_once_per_change_of_state(tmp_path, scripted, caplog):
    """Four refused batches, then success: one warning when it starts, one info when it ends."""
    caplog.set_level(logging.DEBUG, logger="pixelscleared")
    async with run_delivery(tmp_path, scripted.url, 1, backoff_base_s=0.05, backoff_max_s=0.05, max_attempts=10) as ob:
        await settled(ob, lambda st: st["e0"][0] == "delivered")
    changes = [(r.levelname, getattr(r, "code", None)) for r in caplog.records
               if r.getMessage() == "tiktok answer changed"]
    assert changes == [("WARNING", 40100), ("INFO", 0)]
    assert len(scripted.bodies) == 5
    assert all("{" not in r.getMessage() for r in caplog.records)  # fields, never reprs in the message
