"""The consent hot path's shortcuts give the same answers as the plain algorithms they replace.

Each shortcut (regex trie cookie scan, C percent-decoding, `raw_decode` JSON, undecoded Klaro
objects, OneTrust group pick, strict-base64 TCF bits) is checked against a slow, obvious
reference written here, on realistic values and on hypothesis-made near-misses.
"""

from __future__ import annotations

import json
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.consent.cmps import (
    DENIED,
    GRANTED,
    IMPLIED,
    UNKNOWN,
    onetrust,
    readers,
)
from pixelscleared.consent.cookies import (
    MAX_VALUE,
    ValueErrorUnknown,
    finder,
    flat_bools,
    json_value,
    pct,
    raw,
)
from pixelscleared.consent.settings import ConsentSettings
from pixelscleared.consent.tcf import Bits, TCFError

EXACT, PREFIX = readers(ConsentSettings())
NAMES, PREFIXES = frozenset(EXACT), tuple(PREFIX)


def enc(obj: object) -> str:
    return quote(json.dumps(obj, separators=(",", ":")), safe="")


# -- cookie scan ----------------------------------------------------------------------------

def reference_find(header: str, names: frozenset[str], prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    """Split on `;`, name before the first `=`: an exact name wins over a prefix."""
    found: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, eq, value = part.lstrip(" \t").partition("=")
        if not eq:
            continue
        if name.rstrip(" \t") in names:
            key = name.rstrip(" \t")
        elif matching := [p for p in prefixes if name.startswith(p)]:
            key = name if name in prefixes else matching[0]
        else:
            continue
        found.setdefault(key, []).append(value.strip())
    return found


NAME_PARTS = sorted(NAMES) + list(PREFIXES) + ["klar", "klaroo", "xklaro", "_iub_cs-123", "usprivacy2", "c", "_"]


@pytest.mark.parametrize("names, prefixes, header", [
    (NAMES, PREFIXES, "a=1; klaro=%7B%7D ;usprivacy = 1YNN;\t_iub_cs-9 \t= x ; klaro=2"),
    (frozenset({"ab", "abc"}), ("a",), "abc=1; ab =2; abd=3; a=4; ax y=5"),
    (frozenset({"_iub_cs-x"}), ("_iub_cs-", "_iub"), "_iub_cs-x =1; _iub_cs-xy=2; _iubz=3; _iub_cs-=4"),
    (frozenset({"a.b", "a+b"}), (), "a.b=1; aXb=2; a+b=3; a+bb=4"),
    (frozenset({"_iub_cs-"}), ("_iub_cs-",), "_iub_cs-=1; _iub_cs-2=2; _iub_cs- =3"),
    (frozenset(), (), "klaro=1"),
])
def test_cookie_scan_matches_split_reference(names, prefixes, header):
    assert finder(names, prefixes)(header) == reference_find(header, names, prefixes)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(NAME_PARTS) | st.sampled_from(list("=; \t\"x%,\n")), max_size=40).map("".join))
def test_property_cookie_scan_matches_split_reference(header):
    assert finder(NAMES, PREFIXES)(header) == reference_find(header, NAMES, PREFIXES)


# -- percent-decoding and JSON --------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "%7B%22a%22%3Atrue%7D", "%7b%22a%22%3atrue%7d", "%e2%82%ac", "%E2%82", "%zz%41", "100%", "a%4",
    "%5C%78%34%31", "\\x41%41", "%C3%A9é%41", "%00%7F%80%FF", "plain",
])
def test_percent_decoding_equals_unquote(text):
    assert pct(text) == unquote(text, errors="replace")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("%\\x0123456789abcdefABCDEFgG{}\"é\udcff ")), max_size=40))
def test_property_percent_decoding_equals_unquote(text):
    assert pct(text) == unquote(raw(text), errors="replace")


def reference_json(value: str) -> object:
    try:
        return json.loads(unquote(raw(value), errors="replace"))
    except ValueError:
        return ValueErrorUnknown


def json_or_error(value: str) -> object:
    try:
        return json_value(value)
    except ValueErrorUnknown:
        return ValueErrorUnknown


@pytest.mark.parametrize("value", [
    enc({"a": [1, 2.5, None, "x"]}), " %7B%7D", "%7B%7D ", "%7B%7D%0A", "%7B%7Dx", "%EF%BB%BF%7B%7D", "", "1 2",
    '"%7B%7D"', "%22%5Cud800%22", "[" * 50 + "]" * 50,
])
def test_json_value_equals_json_loads(value):
    assert json_or_error(value) == reference_json(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list('{}[]":,1tru efalsn\t\n\\%7B2') + ["%7B", "%22", "%3A"]), max_size=40).map("".join))
def test_property_json_value_equals_json_loads(value):
    assert json_or_error(value) == reference_json(value)


# -- Klaro-style flat objects read undecoded ------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True), st.booleans(), max_size=6))
def test_property_flat_objects_read_undecoded(obj):
    value = enc(obj)
    assert flat_bools(value) == {k: "true" if v else "false" for k, v in obj.items()}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["%7B", "%7D", "%22", "%3A", "%2C", "true", "false", "tiktok", "a", "%20",
                                 "%7b", "1", "null", '"']), max_size=16).map("".join))
def test_property_flat_objects_agree_with_json_or_step_aside(value):
    flat = flat_bools(value)
    if flat is None:
        return  # not the simple shape: the reader decodes in full
    assert {k: json.dumps(v) for k, v in json_value(value).items()} == flat


@pytest.mark.parametrize("value", [
    "%7B%22a%22%3Atrue%22b%22%3Atrue%7D", "%7B%22a%22%3Atrue%2C%7D", "%7B%2C%22a%22%3Atrue%7D", "%7B%22a%22%3ATrue%7D",
    "%7B%22a%22%3Atrue%7D%7D", "%7B%22a%20b%22%3Atrue%7D", "%7B%22%22%3Atrue%7D", '"%7B%22a%22%3Atrue%7D"',
])
def test_near_flat_objects_step_aside(value):
    assert flat_bools(value) is None


def test_flat_objects_keep_the_size_bound():
    huge = "%7B" + "%2C".join(f"%22k{i}%22%3Atrue" for i in range(3000)) + "%7D"
    assert len(huge) > MAX_VALUE and flat_bools(huge) is None


# -- OneTrust group pick --------------------------------------------------------------------

def reference_onetrust(groups: tuple[str, ...], value: str) -> str:
    """The plain algorithm: every `groups=` field, decode, split, a dict, the listed groups."""
    value = raw(value)
    fields = [f.partition("=")[2] for f in value.split("&") if f.startswith("groups=")]
    if len(fields) != 1:
        return UNKNOWN
    listed = unquote(fields[0].replace("+", " "), errors="replace")
    consent = dict(g.strip().partition(":")[::2] for g in listed.split(",") if ":" in g)
    seen = [consent[g] for g in groups if g in consent]
    if "0" in seen:
        return DENIED
    if not seen or any(v != "1" for v in seen):
        return UNKNOWN
    counts = [f.partition("=")[2] for f in value.split("&") if f.startswith("interactionCount=")]
    return IMPLIED if counts[:1] == ["0"] else GRANTED


OT_PARTS = ["C0004", "C0002", "C000", "C00044", ":", ",", "%3A", "%2C", "+", " ", "%20", "\t", "\xa0", "1", "0", "x"]
OT_GROUPS = [("C0004",), ("C0004", "C0002"), ("C0004", "C000"), ("C 4",), (" C0004",), ("C0:04",), ("C0004", "C0004")]


@pytest.mark.parametrize("groups", OT_GROUPS)
@pytest.mark.parametrize("value", [
    "groups=C0004:1", "groups=+C0004:0", "groups=C0001:1,%20C0004:0", "groups=C0004+:0", "groups=C0004:+0+",
    "groups=C0004:1,C0004:0", "groups=C0004:0,C0004:1", "groups=C0004:1%0A", "groups=C0004:1%2CC0004:0",
    "groups=C00044:0,C0004:1", "groups=xC0004:0", "groups=C0004:1:0", "groups=C0004", "groups=C0004:",
    "groups=%C2%A0C0004:0", "groups=C%204:0", "groups=C0:04:0", "groups=C0004:1,C000:0,C0002:1",
    "interactionCount=0&groups=C0004:1", "groups=C0004:1&interactionCount=0&interactionCount=1",
    "groups=C0004:1&xgroups=C0004:0", "xgroups=C0004:1", "groups=C0004:1&groups=C0004:1", "&groups=C0004:1",
    '"groups=C0004:1"', "groups=C0004:1&interactionCount=00",
])
def test_onetrust_pick_matches_reference(groups, value):
    assert onetrust(groups)(value) == reference_onetrust(groups, value)


@settings(max_examples=300, deadline=None)
@given(groups=st.sampled_from(OT_GROUPS), listed=st.lists(st.sampled_from(OT_PARTS), max_size=14).map("".join),
       extra=st.sampled_from(["", "&groups=C0004:1", "&interactionCount=0", "&interactionCount=2&interactionCount=0",
                              "&xgroups=C0004:0", "&AwaitingReconsent=false"]))
def test_property_onetrust_pick_matches_reference(groups, listed, extra):
    value = f"isGpcEnabled=0&interactionCount=1&groups={listed}{extra}"
    assert onetrust(groups)(value) == reference_onetrust(groups, value)
    swapped = f"groups={listed}&interactionCount=0{extra}"
    assert onetrust(groups)(swapped) == reference_onetrust(groups, swapped)


# -- TCF bits -------------------------------------------------------------------------------

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def reference_bits(segment: str) -> str | None:
    """Six bits per character of either base64 alphabet; None if any character is outside."""
    segment = segment.rstrip("=")
    alphabet = {c: i for i, c in enumerate(B64 + "-_")} | {"+": 62, "/": 63}
    if not segment or any(c not in alphabet for c in segment):
        return None
    return "".join(format(alphabet[c], "06b") for c in segment)


@pytest.mark.parametrize("segment", ["A....", "AB C D E", "Zm9v.YmFy", "AAAA====", "AA=A", "QUJD\n", "Q-_+/w"])
def test_tcf_bits_match_reference(segment):
    expected = reference_bits(segment)
    try:
        got = Bits(segment).string()
    except TCFError:
        got = None
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(B64[:4] + "yz09-_+/=. é\n\x00\udcff")), max_size=30))
def test_property_tcf_bits_match_reference(segment):
    expected = reference_bits(segment)
    try:
        got = Bits(segment).string()
    except TCFError:
        got = None
    assert got == expected
