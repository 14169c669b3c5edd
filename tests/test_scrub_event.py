"""One captured event through the scrubber: ids first, then page and properties; fails closed."""

from __future__ import annotations

import uuid

import pytest

from pixelscleared.event import CapturedEvent
from pixelscleared.scrub import Scrubber, ScrubSettings
from pixelscleared.scrub.event import NAME_PROBLEM, REDACTED_NAME, scrub_event

S = Scrubber(ScrubSettings())


def test_page_referrer_and_properties_are_scrubbed() -> None:
    ev = CapturedEvent(name="Lead", event_id="e1", event_time=1, source="collect",
                       url="https://shop.example/thanks?email=jane%40example.com",
                       referrer="https://shop.example/form?phone=%2B442079460958",
                       properties={"note": "jane@example.com", "value": 1})
    res = scrub_event(S, ev)
    clean, removed = res.event, res.removed
    assert res.ok
    assert clean.url == "https://shop.example/thanks" and clean.referrer == "https://shop.example/form"
    assert clean.properties == {"note": "[email]", "value": 1}
    assert {r.path for r in removed} == {"page.url.query.email", "page.referrer.query.phone", "properties.note"}


@pytest.mark.parametrize("attr, value, kind", [
    ("event_id", "jane.doe@example.com", "email"),
    ("ttclid", "E.C.P.jane@example.com", "email"),
    ("test_event_code", "tel:+442079460958", "phone"),
])
def test_ids_holding_personal_data_are_replaced_or_left_out(attr, value, kind) -> None:
    ev = CapturedEvent(name="Lead", event_id="e1", event_time=1, source="collect")
    setattr(ev, attr, value)
    res = scrub_event(S, ev)
    assert res.ok and {(r.path, r.kind) for r in res.removed} == {(attr, kind)}
    after = getattr(res.event, attr)
    if attr == "event_id":
        assert str(uuid.UUID(after)) == after
    else:
        assert after == ""


def nested(depth: int) -> dict:
    """An email under `depth` levels of objects."""
    doc: dict = {"email": "jane@example.com"}
    for _ in range(depth):
        doc = {"x": doc}
    return doc


@pytest.mark.parametrize("event, problem", [
    # the name holds personal data: it has no stand-in, so the event cannot be sent
    (CapturedEvent(name="Call:02079460958", event_id="e1", event_time=1, source="collect",
                   url="https://shop.example/?email=jane%40example.com", properties={"a": "jane@example.com"}),
     NAME_PROBLEM),
    # past the scrubber's depth limit: fails closed
    (CapturedEvent(name="Lead", event_id="e1", event_time=1, source="collect",
                   url="https://shop.example/?email=jane%40example.com", properties=nested(100)),
     "nested deeper than"),
])
def test_a_failed_scrub_leaves_nothing_unscrubbed(event, problem) -> None:
    res = scrub_event(S, event)
    assert not res.ok and problem in res.problem
    assert (res.event.url, res.event.referrer, res.event.properties) == ("", "", {})
    assert "jane" not in repr(res.event) and "02079460958" not in repr(res.event)
    if problem == NAME_PROBLEM:
        assert res.event.name == REDACTED_NAME
