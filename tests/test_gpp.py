from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.consent.gpp import GPPError, decode_gpp

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CASES = json.loads((Path(__file__).parent / "fixtures" / "consent" / "gpp.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_decodes_iab_cmpapi_output(name):
    case = CASES[name]
    g = decode_gpp(case["gpp_string"])
    assert list(g.section_ids) == case["section_ids"]
    want = case["expect"]
    us = g.usnat() or g.usca()
    if "SaleOptOut" in want:
        assert us is not None
        assert us.sale == want["SaleOptOut"]
        assert us.sharing == want["SharingOptOut"]
        assert us.targeted_advertising == want.get("TargetedAdvertisingOptOut", 0)
        assert us.gpc == want.get("Gpc", False)
    if "OptOutSale" in want:
        assert g.uspv1() is not None and g.uspv1().opt_out_sale == want["OptOutSale"]


def test_embedded_tcf_section():
    core = decode_gpp(CASES["tcfeu_and_usnat_opt_out"]["gpp_string"]).tcfeuv2()
    assert core is not None and core.purposes_consent == frozenset({1, 7})


@pytest.mark.parametrize("text, message", [
    ("", "not a base64url segment"),
    ("DBABLA", "header lists 1 sections, string has 0"),
    ("DBABLA~CVVqAAAAAABA.QA~extra", "header lists 1 sections, string has 2"),
    ("CBABLA~CVVqAAAAAABA.QA", "type != 3"),   # type 2
    ("DCABLA~CVVqAAAAAABA.QA", "unsupported GPP version"),
    ("DBA", "header truncated"),
    ("DBAB", "header truncated"),
    ("DBABAAAAAA", "bad Fibonacci integer"),
    ("DBAAAA~x", "header lists 0 sections, string has 1"),
    ("D" + "B" + "/" * 6, "too many section entries"),
])
def test_malformed_headers_raise_gpp_error(text, message):
    with pytest.raises(GPPError, match=message):
        decode_gpp(text)


@pytest.mark.parametrize("text", ["DBABLA~C", "DBABLA~!!", "DBABBg~BV", "DBABTA~1XYZ", "DBACMMA~CQ~CVVp"])
def test_malformed_sections_raise_gpp_error_on_read(text):
    g = decode_gpp(text)
    with pytest.raises(GPPError):
        g.usnat(), g.usca(), g.uspv1(), g.tcfeuv2()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_property_any_text(text):
    try:
        g = decode_gpp(text)
        sections = g.usnat(), g.usca(), g.uspv1(), g.tcfeuv2()
    except GPPError as e:
        assert str(e)  # a reason, never an empty error
        return
    # what decodes is a GPP string: a header, and each section it read is a parsed value or absent
    assert text.strip() and all(s is None or not isinstance(s, (str, bytes)) for s in sections)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.integers(0, 60), st.text(alphabet=B64URL + '.~', max_size=6))
def test_property_mangled_real_strings(name, cut, junk):
    s = CASES[name]["gpp_string"]
    try:
        g = decode_gpp(s[:cut] + junk + s[cut + len(junk):])
        for read in (g.usnat, g.usca):
            if (us := read()) is not None:
                assert {us.sale, us.sharing, us.targeted_advertising} <= {0, 1, 2, 3}
        g.uspv1(), g.tcfeuv2()
    except GPPError:
        pass
