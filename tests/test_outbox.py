from __future__ import annotations

import asyncio
import dataclasses
import sqlite3

import pytest

from pixelscleared.metrics import Metrics
from pixelscleared.outbox import EventsQuery as Query
from pixelscleared.outbox import Outbox, OutboxRow, count_statuses, requeue_dead, select_events


def row(event_id: str, pixel: str = "P1", status: str = "queued", tec: str = "") -> OutboxRow:
    return OutboxRow(event_id, pixel, "Pageview", "collect", "granted", ["cookieyes"], [], status,
                     payload={"event": "Pageview", "event_id": event_id} if status == "queued" else None,
                     test_event_code=tec)


@pytest.fixture
async def outbox(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite", Metrics(), max_buffered=5)
    await ob.open()
    yield ob
    await ob.close()


async def test_put_is_buffered_until_flush(outbox, tmp_path):
    assert outbox.put(row("a"))
    conn = sqlite3.connect(tmp_path / "o.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    await outbox.flush()
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_full_buffer_is_a_counted_drop(outbox):
    assert all(outbox.put(row(str(i))) for i in range(5))
    assert not outbox.put(row("overflow"))
    assert outbox.metrics.dropped.labels("outbox_full")._value.get() == 1


@pytest.mark.parametrize(("buffered", "asked", "room"), [
    (0, 5, True), (4, 1, True), (4, 2, False), (5, 1, False),
    (0, 50, True),  # more than the buffer holds: room when it is empty (a source never waits forever)
    (1, 50, False),
])
async def test_has_room_says_whether_rows_would_be_taken(outbox, buffered, asked, room):
    for i in range(buffered):
        outbox.put(row(str(i)))
    assert outbox.has_room(asked) is room
    assert outbox.metrics.dropped.labels("outbox_full")._value.get() == 0  # asking drops nothing


async def test_duplicate_event_ids_are_stored_once_and_repeats_counted_on_the_first(outbox):
    outbox.put(row("same"))
    outbox.put(row("same"))  # in the same write
    await outbox.flush()
    outbox.put(row("same"))  # in a later one
    outbox.put(row("same", "P2"))  # another pixel's row is its own
    await outbox.flush()
    assert await outbox.pending_count() == 2
    rows = {r["pixel_id"]: r for r in await outbox.events(Query(event_id="same"))}
    assert (rows["P1"]["repeats"], rows["P2"]["repeats"]) == (2, 0)
    assert outbox.metrics.dropped.labels("repeat")._value.get() == 2


async def test_repeats_with_the_same_timestamp_are_counted_too(outbox):
    """Two copies made in the same microsecond (one beacon carrying an event twice) are still two."""
    first = row("twin")
    outbox.put(first)
    outbox.put(dataclasses.replace(first))
    await outbox.flush()
    outbox.put(dataclasses.replace(first))
    await outbox.flush()
    (got,) = await outbox.events(Query(event_id="twin"))
    assert got["repeats"] == 2
    assert outbox.metrics.dropped.labels("repeat")._value.get() == 2
    assert await outbox.pending_count() == 1


def test_an_outbox_file_from_before_repeats_gets_the_column(tmp_path):
    from pixelscleared.outbox import connect
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
                " event_id TEXT NOT NULL, pixel_id TEXT NOT NULL, event_name TEXT NOT NULL, source TEXT NOT NULL,"
                " verdict TEXT NOT NULL, consent_sources TEXT NOT NULL, removed TEXT NOT NULL, status TEXT NOT NULL,"
                " reason TEXT NOT NULL DEFAULT '', payload TEXT, test_event_code TEXT NOT NULL DEFAULT '',"
                " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0, response TEXT,"
                " UNIQUE (pixel_id, event_name, event_id))")
    old.execute("INSERT INTO events (created_at, updated_at, event_id, pixel_id, event_name, source, verdict,"
                " consent_sources, removed, status) VALUES (1, 1, 'e1', 'P1', 'Pageview', 'pageview', 'granted',"
                " '[]', '[]', 'queued')")
    old.commit()
    old.close()
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # the CLI reading a stopped old sidecar's file
    assert select_events(ro, Query())[0]["repeats"] == 0
    conn = connect(path)
    [got] = select_events(conn, Query())
    assert got["event_id"] == "e1" and got["repeats"] == 0


async def test_claim_groups_by_pixel_and_test_code(outbox):
    for r in (row("1", "P1"), row("2", "P2"), row("3", "P1"), row("4", "P1", tec="T")):
        outbox.put(r)
    await outbox.flush()
    batch = await outbox.claim(10)
    assert (batch.pixel_id, batch.test_event_code, [e["event_id"] for e in batch.events]) == ("P1", "", ["1", "3"])
    again = await outbox.claim(10, exclude=set(batch.ids))
    assert again.pixel_id == "P2"


async def test_settled_rows_leave_the_queue_and_retries_wait(outbox):
    outbox.put(row("x"))
    outbox.put(row("y"))
    await outbox.flush()
    batch = await outbox.claim(1)
    await outbox.settle(batch.ids, "delivered", {"code": 0})
    b2 = await outbox.claim(10)
    await outbox.settle(b2.ids, "retrying", {"code": 40100}, next_attempt_at=10**11)
    assert await outbox.claim(10) is None
    assert await outbox.pending_count() == 1
    assert await outbox.next_due() == 10**11


async def test_rows_survive_restart(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite", Metrics())
    await ob.open()
    ob.put(row("persist"))
    await ob.close()  # close flushes the buffer
    ob2 = Outbox(tmp_path / "o.sqlite", Metrics())
    await ob2.open()
    batch = await ob2.claim(10)
    assert batch.events[0]["event_id"] == "persist"
    await ob2.close()


async def test_prune_keeps_pending(outbox):
    outbox.put(row("done"))
    outbox.put(row("pending"))
    outbox.put(row("dropped", status="dropped"))
    await outbox.flush()
    b = await outbox.claim(1)
    await outbox.settle(b.ids, "delivered", None)
    assert await outbox.prune(-1) == 2
    assert await outbox.pending_count() == 1


async def test_a_query_before_open_waits_for_the_database(tmp_path):
    # the proxy listens before `running` opens the outbox: an early admin request must not fail
    ob = Outbox(tmp_path / "o.sqlite", Metrics())
    early = asyncio.create_task(ob.query(lambda conn: conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]))
    await asyncio.sleep(0.05)
    assert not early.done()
    await ob.open()
    assert await asyncio.wait_for(early, 5) == 0
    await ob.close()


# --- queries on the events log (shared by the CLI and the admin endpoints) -----------------

async def test_fetch_filters_and_decodes(db):
    conn = sqlite3.connect(db)
    rows = select_events(conn, Query(status="dropped"))
    assert [r["event_id"] for r in rows] == ["e2"]
    [row] = select_events(conn, Query(event_id="e1"))
    assert row["removed"] == [{"path": "page.url.query.email", "kind": "email"}]
    assert row["payload"]["event_id"] == "e1"
    assert count_statuses(conn) == {"queued": 1, "dropped": 1}


@pytest.mark.parametrize("q, requeued", [
    (Query(), 1),
    (Query(pixel_id="P1"), 1),
    (Query(event_id="e1"), 1),
    (Query(pixel_id="P2"), 0),
    (Query(event_id="e2"), 0),  # dropped: no payload, nothing to send again
])
async def test_requeue_puts_dead_events_back(db, q, requeued):
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE events SET status = 'dead', attempts = 12, reason = 'rejected by TikTok'"
                     " WHERE event_id = 'e1'")
    assert requeue_dead(conn, q, now=1_800_000_000.0) == requeued
    [e1] = select_events(conn, Query(event_id="e1"))
    if requeued:
        assert (e1["status"], e1["attempts"], e1["next_attempt_at"]) == ("queued", 0, 0)
        assert e1["reason"] == "requeued by the operator" and e1["payload"]["event_id"] == "e1"
    else:
        assert e1["status"] == "dead"
    assert select_events(conn, Query(event_id="e2"))[0]["status"] == "dropped"


async def test_a_claim_reads_only_pending_rows_however_long_the_events_log(tmp_path):
    """The deliverer claims many times a second: its cost must not grow with the delivered rows
    kept for the events log (7 days). Counted in SQLite VM steps, not in time."""
    ob = Outbox(tmp_path / "big.sqlite", Metrics(), max_buffered=10_000)
    await ob.open()
    try:
        for n in (5_000, 3):
            for i in range(n):
                ob.put(row(f"{n}-{i}"))
            await ob.flush()
            if n > 3:  # the first 5,000 were delivered long ago
                ob._conn.execute("UPDATE events SET status = 'delivered', payload = NULL")
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        await ob._read(ob._read_conn.set_progress_handler, count, 1000)  # on its own thread
        batch = await ob.claim(10)
        await ob._read(ob._read_conn.set_progress_handler, None, 1000)
        assert len(batch.ids) == 3
        assert steps < 10, f"{steps}k VM steps for a claim of 3 rows"
    finally:
        await ob.close()
