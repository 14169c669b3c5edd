from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.consent.tcf import TCFError, decode_core

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CASES = json.loads((Path(__file__).parent / "fixtures" / "consent" / "tcf.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_decodes_iab_encoder_output(name):
    """Every field we read matches what @iabtcf/core decoded from its own string."""
    case = CASES[name]
    core = decode_core(case["tc_string"])
    assert core.version == case["version"] == 2
    assert core.cmp_id == case["cmp_id"]
    assert core.cmp_version == case["cmp_version"]
    assert core.vendor_list_version == case["vendor_list_version"]
    assert core.policy_version == case["policy_version"]
    assert core.consent_language == case["consent_language"]
    assert core.publisher_cc == case["publisher_cc"]
    assert sorted(core.purposes_consent) == case["purposes"]
    assert core.max_vendor_id == case["max_vendor_id"]
    assert core.is_range == (case["encoding"] == "range")
    assert sorted(core.vendor_consents()) == case["vendors"]
    vendors = set(case["vendors"])
    for v in (1, 2, 3, 25, 500, 501, 900, 901, 985, 986, 987, 1000, 1100, 1101, 65535):
        assert core.vendor_consent(v) == (v in vendors), v


def test_both_vendor_encodings_are_covered():
    assert {c["encoding"] for c in CASES.values()} == {"bitfield", "range"}


def test_created_and_dates():
    core = decode_core(CASES["granted_bitfield"]["tc_string"])
    assert core.created_ds == core.last_updated_ds == 17_369_424_000  # 2025-01-15T12:00:00Z in deciseconds
    assert core.special_feature_optins == frozenset()
    assert decode_core(CASES["granted_other_cmp"]["tc_string"]).special_feature_optins == frozenset({1})


@pytest.mark.parametrize("text, message", [
    ("", "not a base64url segment"),
    ("CQ!@", "not a base64url segment"),
    ("CQLTGCAQLTGCAAKACBENCWFAAP", "core segment truncated"),
    ("B" + CASES["granted_bitfield"]["tc_string"][1:], "TCF version"),  # version 1
    (CASES["granted_bitfield_sparse"]["tc_string"][:60], "vendor bitfield truncated"),
    (CASES["granted_range"]["tc_string"][:41], "vendor ranges truncated"),
    ("A" * 20_000, "not a base64url segment"),
])
def test_malformed_strings_raise_tcf_error(text, message):
    with pytest.raises(TCFError, match=message):
        decode_core(text)


def test_only_the_core_segment_is_read():
    s = CASES["granted_bitfield"]["tc_string"]
    assert "." in s
    assert decode_core(s) == decode_core(s.split(".")[0])
    assert decode_core(s.split(".")[0] + ".garbage!!") == decode_core(s)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_property_any_text_decodes_or_raises_tcf_error(text):
    try:
        core = decode_core(text)
    except TCFError:
        return
    assert core.version == 2 and core.purposes_consent <= frozenset(range(1, 25))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.integers(0, 400), st.text(alphabet=B64URL, max_size=8))
def test_property_mangled_real_strings(name, cut, junk):
    """Truncated or corrupted real strings: a decode or a TCFError, never anything else."""
    s = CASES[name]["tc_string"]
    mangled = s[:cut] + junk + s[cut + len(junk):]
    try:
        core = decode_core(mangled)
    except TCFError:
        return
    for v in (1, 986, core.max_vendor_id):
        assert isinstance(core.vendor_consent(v), bool)
    assert all(1 <= v <= core.max_vendor_id for v in core.vendor_consents())
