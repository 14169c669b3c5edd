"""Event names: the TikTok name a captured or configured name is sent as, and the typo check."""

from __future__ import annotations

import pytest

from pixelscleared.names import STANDARD_EVENTS, near_miss, same_event, spelled, tiktok_event_name


@pytest.mark.parametrize("name, expected", [
    ("PageView", "Pageview"), ("Pageview", "Pageview"), ("page_view", "Pageview"), ("purchase", "Purchase"),
    ("begin_checkout", "InitiateCheckout"), ("generate_lead", "Lead"), ("MyCustom", "MyCustom"),
    ("CompletePayment", "CompletePayment"), ("SubmitForm", "SubmitForm"),  # as captured: the spelling is a setting
])
def test_event_names(name, expected):
    assert tiktok_event_name(name) == expected


@pytest.mark.parametrize("name", sorted(STANDARD_EVENTS))
def test_mapping_a_sent_name_again_changes_nothing(name):
    """Config entries are mapped at load and captured names at capture: both must meet."""
    assert tiktok_event_name(tiktok_event_name(name)) == tiktok_event_name(name) == name
    assert near_miss(name) is None


@pytest.mark.parametrize("name, suggestion", [
    ("PageVeiw", "PageView"), ("pageView", "PageView"), ("Addtocart", "AddToCart"), ("Purchases", "Purchase"),
    ("MyCustomThing", None), ("Lead", None),
])
def test_near_miss(name, suggestion):
    assert near_miss(name) == suggestion


@pytest.mark.parametrize("a, b, same", [
    ("CompletePayment", "Purchase", True), ("SubmitForm", "Lead", True), ("Purchase", "Lead", False),
    ("PlaceAnOrder", "Purchase", False), ("MyCustom", "MyCustom", True),
])
def test_renamed_events_are_one_event(a, b, same):
    assert (same_event(a) == same_event(b)) is same


@pytest.mark.parametrize("name, spelling, sent", [
    ("CompletePayment", "current", "Purchase"), ("Purchase", "legacy", "CompletePayment"),
    ("Lead", "legacy", "SubmitForm"), ("SubmitForm", "as_captured", "SubmitForm"), ("Search", "legacy", "Search"),
])
def test_spelled(name, spelling, sent):
    assert spelled(name, spelling) == sent
