"""No acknowledged event lost, no retry storm: the outbox's commit, refusal and unwritable states,
with real SQLite failures (a full database, a read-only connection) and real processes."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from conftest import sidecar_config, wait_for
from pixelscleared.config import parse_config
from pixelscleared.deliver import Deliverer
from pixelscleared.fake_tiktok import start_fake_tiktok
from pixelscleared.metrics import Metrics
from pixelscleared.outbox import Outbox, OutboxRow, Refused

PIXEL, TOKEN = "CKTESTPIXEL000000001", "test-token-abcdef"


def row(event_id: str, size: int = 10) -> OutboxRow:
    return OutboxRow(event_id, PIXEL, "Pageview", "collect", "granted", [], [], "queued",
                     payload={"event": "Pageview", "event_id": event_id, "event_time": int(time.time()),
                              "properties": {"description": "x" * size}})


def on_disk(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT event_id FROM events ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
async def outbox(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite", Metrics(), max_buffered=4, flush_interval_ms=5)
    await ob.open()
    writer = asyncio.create_task(ob.run_writer())
    yield ob
    writer.cancel()
    await ob.close()


async def test_a_commit_resolves_only_once_the_rows_are_on_disk(outbox, tmp_path):
    future = outbox.put_all([row("a"), row("b")])
    assert on_disk(tmp_path / "o.sqlite") == []  # buffered, not yet acknowledged
    await outbox.committed(future)
    assert on_disk(tmp_path / "o.sqlite") == ["a", "b"]  # acknowledged means on disk


async def test_a_full_buffer_refuses_the_whole_call(outbox, tmp_path):
    outbox.put_all([row("a"), row("b"), row("c")], wait=False)
    with pytest.raises(Refused) as e:
        outbox.put_all([row("d"), row("e")])  # 5 > max_buffered 4: none of them is taken
    assert e.value.retry_after_s == 1
    await outbox.flush()
    assert on_disk(tmp_path / "o.sqlite") == ["a", "b", "c"]
    assert outbox.metrics.dropped.labels("outbox_full")._value.get() == 2


async def test_a_full_disk_refuses_the_waiting_call_then_recovers(outbox, tmp_path, caplog):
    pages = await outbox.query(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await outbox.query(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))  # SQLITE_FULL from here
    with pytest.raises(Refused, match="could not write"):
        await outbox.committed(outbox.put_all([row("big", size=200_000)]))
    assert not outbox.writable and outbox.metrics.outbox_writable._value.get() == 0
    with pytest.raises(Refused, match="not writable"):
        outbox.put_all([row("next")])  # refused at once while the disk is failing: never a silent drop
    await outbox.query(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))  # space is freed
    await wait_for(lambda: outbox.writable, timeout=15)
    await outbox.committed(outbox.put_all([row("after")]))
    assert on_disk(tmp_path / "o.sqlite") == ["after"]  # the refused event was not written behind the caller
    lines = [r.getMessage() for r in caplog.records if "outbox" in r.getMessage() and "writable" in r.getMessage()]
    assert len(lines) == 2, lines  # one line per change of state, not one per failed write


async def test_an_unwritable_outbox_holds_outcomes_and_sends_nothing_twice(tmp_path):
    """The outcome of a send cannot be recorded: the rows are not sent again, and are settled later."""
    fake = await start_fake_tiktok({PIXEL: TOKEN})
    cfg = parse_config({"upstream": "http://127.0.0.1:1", "delivery": {"backoff_base_s": 0.1},
                        "destinations": {"tiktok": [{"pixel_id": PIXEL, "access_token": TOKEN, "events": ["PageView"],
                                                     "api_base": fake.url}]}}, env={})
    ob = Outbox(tmp_path / "o.sqlite", Metrics(), flush_interval_ms=5)
    await ob.open()
    for i in range(3):
        ob.put(row(f"e{i}"))
    await ob.flush()
    await ob.query(lambda c: c.execute("PRAGMA query_only = 1"))  # every write fails from now on
    deliverer = Deliverer(ob, cfg.destinations.tiktok, cfg.delivery, ob.metrics)
    task = asyncio.create_task(deliverer.run())
    try:
        await wait_for(lambda: len(fake.requests) >= 1, timeout=10)
        await asyncio.sleep(2)  # a storm would send the same events dozens of times here
        assert len(fake.requests) == 1 and not ob.writable
        await ob.query(lambda c: c.execute("PRAGMA query_only = 0"))
        final = await wait_until_delivered(ob, 3)
        assert final == ["delivered"] * 3
        assert len(fake.requests) == 1 and sorted(e["event_id"] for e in fake.events) == ["e0", "e1", "e2"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await ob.close()
        await fake.close()


async def wait_until_delivered(ob: Outbox, n: int, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = await ob.query(lambda c: [r[0] for r in c.execute("SELECT status FROM events ORDER BY id")])
        if statuses == ["delivered"] * n or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.1)


# --- as a real process ---------------------------------------------------------------------------

async def test_an_unwritable_outbox_at_start_serves_the_site_and_refuses_events(origin, tiktok, run_sidecar,
                                                                                tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the outbox's directory should be")
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url, outbox={"path": str(blocker / "outbox.sqlite")})
    sc = await run_sidecar(cfg)
    async with aiohttp.ClientSession() as s:
        async with s.get(sc.url + "/") as r:
            assert r.status == 200  # the site is served (fail open)
        async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": "early"}) as r:
            assert r.status == 503 and r.headers["Retry-After"] == "5"  # refused, never acknowledged
        async with s.get(sc.url + "/_pc/events") as r:
            assert r.status == 503
        async with s.get(sc.url + "/_pc/ready") as r:
            report = await r.json()
            assert r.status == 503 and report["checks"]["outbox"]["ok"] is False
            assert "not-a-directory" in report["checks"]["outbox"]["detail"]  # why, naming the path
        async with s.get(sc.url + "/_pc/metrics") as r:
            assert "pixelscleared_outbox_writable 0.0" in await r.text()
        blocker.unlink()  # the operator fixes the volume
        blocker.mkdir()

        async def accepted() -> bool:
            async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": "later"}) as r:
                return r.status == 204
        deadline = time.monotonic() + 30
        while not await accepted():
            assert time.monotonic() < deadline, sc.log()
            await asyncio.sleep(0.5)
    await wait_for(lambda: [e["event_id"] for e in tiktok.events] == ["later"], timeout=15)
    assert "not writable" in sc.log() and "Traceback" not in sc.log()


async def test_no_acknowledged_event_is_lost_to_sigkill(origin, tiktok, run_sidecar, tmp_path):
    """A stream of collect calls, the process killed mid-stream: every 204 is delivered after a restart."""
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url)
    sc = await run_sidecar(cfg)
    acknowledged: list[str] = []
    stop = asyncio.Event()

    async def client(n: int) -> None:
        async with aiohttp.ClientSession() as s:
            for i in range(200):
                if stop.is_set():
                    return
                event_id = f"k{n}-{i}"
                try:
                    async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": event_id}) as r:
                        if r.status == 204:
                            acknowledged.append(event_id)
                except aiohttp.ClientError:
                    return  # the process is gone

    clients = [asyncio.create_task(client(n)) for n in range(8)]
    await wait_for(lambda: len(acknowledged) >= 150, timeout=30)
    sc.proc.send_signal(signal.SIGKILL)
    sc.proc.wait(10)
    stop.set()
    await asyncio.gather(*clients)
    await run_sidecar(cfg)  # same outbox: what was acknowledged is on disk and goes out now
    await wait_for(lambda: set(acknowledged) <= {e["event_id"] for e in tiktok.events}, timeout=30)
    ids = [e["event_id"] for e in tiktok.events]
    assert len(ids) == len(set(ids))  # and once each (the stand-in deduplicates as TikTok does)


async def test_rows_nobody_waits_for_survive_a_failed_write(outbox, tmp_path):
    """A GA4 hit's events are not awaited (the call went on to the origin): a failed write keeps them."""
    pages = await outbox.query(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await outbox.query(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))
    outbox.put_all([row("kept", size=200_000)], wait=False)
    await wait_for(lambda: not outbox.writable, timeout=10)
    assert on_disk(tmp_path / "o.sqlite") == []
    await outbox.query(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))
    await wait_for(lambda: on_disk(tmp_path / "o.sqlite") == ["kept"], timeout=20)
    assert outbox.writable


async def test_a_restart_makes_every_pending_row_due_at_once(tmp_path):
    """Nothing is in flight after a restart: rows waiting for a retry go out now (same event_id)."""
    path = tmp_path / "o.sqlite"
    ob = Outbox(path, Metrics())
    await ob.open()
    ob.put(row("r1"))
    await ob.flush()
    [rid] = await ob.query(lambda c: [r[0] for r in c.execute("SELECT id FROM events")])
    await ob.settle([rid], "retrying", None, next_attempt_at=time.time() + 3600)
    assert await ob.claim(10) is None  # not due for an hour
    await ob.close()
    again = Outbox(path, Metrics())
    await again.open()
    try:
        batch = await again.claim(10)
        assert batch is not None and batch.ids == [rid]
    finally:
        await again.close()
