"""The pipeline's inline stages, with a real outbox (SQLite) and no deliverer running."""

from __future__ import annotations

import json
import uuid

import pytest

from pixelscleared.config import parse_config
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.pipeline import Pipeline

FACTS = RequestFacts(peer_ip="203.0.113.7", headers={"user-agent": "UA"},
                     cookie_header="cookieyes-consent=consent:yes,advertisement:yes")


@pytest.fixture
async def pipeline(tmp_path):
    cfg = parse_config({"upstream": "http://127.0.0.1:1", "outbox": {"path": str(tmp_path / "o.sqlite")},
                        "identity": {"send_ttclid": True},
                        "destinations": {"tiktok": [{"pixel_id": "P1", "access_token": "tok-123456",
                                                     "events": ["ClickButton", "Call:02079460958"]}]}},
                       env={})
    p = Pipeline(cfg)
    await p.outbox.open()
    yield p
    await p.outbox.close()


async def stored(p: Pipeline) -> list[tuple]:
    await p.outbox.flush()
    return await p.outbox.query(lambda c: c.execute(
        "SELECT event_id, status, reason, removed, payload FROM events ORDER BY id").fetchall())


@pytest.mark.parametrize("attr, value, kind", [
    ("event_id", "jane.doe@example.com", "email"),
    ("event_id", "+4915123456789", "phone"),
    ("event_id", "jane%40example.com", "email"),
    ("ttclid", "E.C.P.jane@example.com", "email"),
    ("test_event_code", "tel:+442079460958", "phone"),
])
async def test_ids_holding_personal_data_never_leave(pipeline, attr, value, kind):
    ev = CapturedEvent(name="ClickButton", event_id="evt-1", event_time=1_700_000_000, source="collect",
                       url="https://shop.example/p?ttclid=x")
    setattr(ev, attr, value)
    [acc] = pipeline.accept([ev], FACTS).accepted
    [(event_id, status, _, removed, payload)] = await stored(pipeline)
    everything = json.dumps([acc.as_dict(), event_id, removed, payload])
    assert value not in everything and value.lower() not in everything.lower()
    assert status == "queued"
    assert {"path": attr, "kind": kind} in json.loads(removed)
    if attr == "event_id":
        assert str(uuid.UUID(event_id)) == event_id == acc.event_id == json.loads(payload)["event_id"]


async def test_clean_ids_are_kept_as_sent(pipeline):
    ev = CapturedEvent(name="ClickButton", event_id="evt-1716200000000-7f3a9c", event_time=1_700_000_000,
                       source="collect", ttclid="E.C.P.CqgBqkZ2b3JkJ0oVEhC2dGlrdG9rLXBpeGVs")
    pipeline.accept([ev], FACTS)
    [(event_id, status, _, removed, payload)] = await stored(pipeline)
    assert (event_id, status, json.loads(removed)) == ("evt-1716200000000-7f3a9c", "queued", [])


async def test_a_name_holding_personal_data_drops_the_event(pipeline):
    ev = CapturedEvent(name="Call:02079460958", event_id="evt-2", event_time=1_700_000_000, source="collect")
    [acc] = pipeline.accept([ev], FACTS).accepted
    [(event_id, status, reason, _, payload)] = await stored(pipeline)
    assert (event_id, status, payload) == ("evt-2", "dropped", None)
    assert reason == "scrub failed: event name holds personal data"
    assert "02079460958" not in json.dumps(acc.as_dict())


async def test_an_event_no_pixel_takes_is_in_the_events_log(pipeline):
    ev = CapturedEvent(name="AddToWishlist", event_id="evt-3", event_time=1_700_000_000, source="collect")
    [acc] = pipeline.accept([ev], FACTS).accepted
    [(event_id, status, reason, _, payload)] = await stored(pipeline)
    assert (event_id, status, reason, payload) == ("evt-3", "dropped", "no pixel takes this event", None)
    assert acc.pixels == {"-": "dropped: no pixel takes this event"}


async def test_undocumented_property_keys_are_listed_with_the_removed_items(pipeline):
    ev = CapturedEvent(name="ClickButton", event_id="evt-undoc", event_time=1_700_000_000, source="collect",
                       properties={"value": 5, "currency": "EUR", "coupon_code": "SUMMER", "search_term": "shoes",
                                   "items": [], "jane.doe@example.com": 1, "héllo wörld": 2})
    pipeline.accept([ev], FACTS)
    [(_, status, _, removed, payload)] = await stored(pipeline)
    removed = json.loads(removed)
    assert {"path": "properties.coupon_code", "kind": "undocumented"} in removed
    assert {"path": "properties.(not shown)", "kind": "undocumented"} in removed  # a key that is no identifier
    assert not any(r["path"] in ("properties.search_term", "properties.items") for r in removed)  # read as peers
    assert "jane" not in json.dumps(removed) and "coupon_code" not in json.loads(payload)["properties"]
    assert status == "queued"
    assert pipeline.metrics.removed.labels("undocumented")._value.get() == 0  # not counted as personal data


async def test_an_event_no_pixel_takes_stores_only_its_scrubbed_name_and_id(pipeline):
    ev = CapturedEvent(name="ViewContent", event_id="jane.doe@example.com", event_time=1_700_000_000,
                       source="collect", url="https://shop.example/?email=jane.doe@example.com",
                       properties={"note": "call +44 20 7946 0958"})
    [acc] = pipeline.accept([ev], FACTS).accepted
    [(event_id, status, reason, removed, payload)] = await stored(pipeline)
    assert (status, reason, payload) == ("dropped", "no pixel takes this event", None)
    assert "jane" not in event_id and {"path": "event_id", "kind": "email"} in json.loads(removed)
    assert acc.pixels == {"-": "dropped: no pixel takes this event"}
