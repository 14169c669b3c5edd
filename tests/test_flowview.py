"""FateWatch: mitmweb flow comments follow their events' delivery (real outbox, taddons)."""

from __future__ import annotations

import asyncio

import pytest
from mitmproxy.test import taddons
from test_addon import collect_flow, make_addon

from pixelscleared.flowview import FateWatch


@pytest.fixture
async def watched(tmp_path):
    """A captured collect flow under watch, and a way to settle its outbox rows."""
    addon = make_addon(tmp_path)
    outbox = addon.pipeline.outbox
    await outbox.open()
    writer = asyncio.create_task(outbox.run_writer())  # a collect call is answered once on disk

    async def settle(status: str, response: dict, reason: str = "") -> None:
        await outbox.flush()
        ids = await outbox.query(lambda conn: [r[0] for r in conn.execute("SELECT id FROM events")])
        await outbox.settle(ids, status, response, reason=reason)

    try:
        with taddons.context(addon):
            f = collect_flow()
            await addon.request(f)
            watch = FateWatch(outbox.fates)
            watch.add(f)
            yield f, watch, settle, outbox
    finally:
        writer.cancel()
        await outbox.close()


async def test_flow_comment_follows_delivery(watched):
    """Once the outbox row is settled, the watched flow's comment and metadata say how it ended."""
    f, watch, settle, outbox = watched
    await outbox.flush()
    await watch.poll()
    assert "queued (at capture)" in f.comment and watch.flows  # still pending: still watched
    await settle("dead", {"http_status": 200, "code": 40001}, reason="rejected by TikTok")
    await watch.poll()
    assert "→ CKTESTPIXEL000000001: dead: rejected by TikTok" in f.comment
    assert "at capture" not in f.comment and "properties.email (email)" in f.comment
    event = f.metadata["pixelscleared"]["events"][0]
    assert event["delivery"] == {"CKTESTPIXEL000000001": "dead: rejected by TikTok"}
    assert event["pixels"] == {"CKTESTPIXEL000000001": "queued"}  # the fate at capture stays
    assert not watch.flows  # settled: no longer watched


async def test_flow_comment_edited_by_a_tester_is_left_alone(watched):
    f, watch, settle, _ = watched
    f.comment = "looks wrong, ask Sam"
    await settle("delivered", {"http_status": 200, "code": 0})
    await watch.poll()
    assert f.comment == "looks wrong, ask Sam" and not watch.flows
