"""percent.py: one decoding, the same as urllib's, on every kind of input."""

from __future__ import annotations

from urllib.parse import quote as urllib_quote
from urllib.parse import unquote as urllib_unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.percent import quote, unquote


@pytest.mark.parametrize("text", [
    "", "plain", "a%20b", "%3A%2F%2F", "jane%40example.com", "jane.doe%2540example.com",  # decoded once only
    "caf%C3%A9", "%C3", "%C3%28", "%E2%82", "%F0%9F%98%80x", "100%", "50% off", "%zz", "%4", "a%\\x41",
    "back\\slash%41", "é%41", "%41é", "%C3é", "line\n%41", "%00", "%5C%78%34%31",
])
def test_same_as_urllib(text):
    assert unquote(text) == urllib_unquote(text, errors="replace")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("%%%2345ACcFfxz\\é\n =")) | st.characters(), max_size=40))
def test_property_same_as_urllib(text):
    assert unquote(text) == urllib_unquote(text, errors="replace")


@pytest.mark.parametrize("text", [
    "", "plain", "a b", "https://shop.example/p?a=1&b=2#f", "100%", "[email]", "~._-", "é", "\ud800", "tab\there",
    "a%20b", "<>\"'{}|\\^`", "@:;,+$!*()",
])
def test_quote_same_as_urllib(text):
    assert quote(text) == urllib_quote(text, safe="", errors="replace")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F) | st.characters(), max_size=40))
def test_property_quote_same_as_urllib(text):
    assert quote(text) == urllib_quote(text, safe="", errors="replace")
