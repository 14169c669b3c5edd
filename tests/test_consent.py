from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import fresh_tc
from pixelscleared.consent import ConsentEngine, Signal, Verdict, combine
from pixelscleared.consent.settings import ConsentSettings

FIXTURES = Path(__file__).parent / "fixtures" / "consent"
TCF = json.loads((FIXTURES / "tcf.json").read_text())["cases"]
for _case in TCF.values():  # recorded years ago: dated today, as a visitor's current choice would be
    _case["tc_string"] = fresh_tc(_case["tc_string"])
GPP = json.loads((FIXTURES / "gpp.json").read_text())["cases"]


def enc(obj: object) -> str:
    """How CMPs store JSON in a cookie: compact, percent-encoded."""
    return quote(json.dumps(obj, separators=(",", ":")), safe="")


def b64(obj: object) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


# `datestamp` as OneTrust writes it (JavaScript's Date.toString()), a day ago: a fixed date would
# turn stale (max_age_days) and make these tests fail one day.
DATESTAMP = quote(time.strftime("%a %b %d %Y %H:%M:%S GMT+0100 (Central European Standard Time)",
                                time.gmtime(time.time() - 86_400)), safe="").replace("%20", "+")


def onetrust(groups: str, interaction: int = 1, gen_vendors: str = "") -> str:
    return (f"isGpcEnabled=0&datestamp={DATESTAMP}"
            "&version=202409.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=&consentId=0b7a5f3e-1d2c-4b5a"
            f"&interactionCount={interaction}&isAnonUser=1&landingPath=NotLandingPage"
            f"&groups={quote(groups, safe='')}&AwaitingReconsent=false&geolocation=FR%3BIDF"
            + (f"&genVendors={quote(gen_vendors, safe='')}" if gen_vendors else ""))


def cookiebot(marketing: str, method: str = "explicit", utc_ms: int | None = None) -> str:
    utc_ms = int(time.time() * 1000) - 86_400_000 if utc_ms is None else utc_ms  # given yesterday
    return ("{stamp:%27Vd5cXkS1q0pYkQ3mW6bq0e5m4yq1pV8c2d3e4f5g6h7i8j9k0lA==%27%2Cnecessary:true%2C"
            f"preferences:true%2Cstatistics:false%2Cmarketing:{marketing}%2Cmethod:%27{method}%27%2C"
            f"ver:1%2Cutc:{utc_ms}%2Ciab2:%27%27%2Cregion:%27fr%27}}")


def cookieyes(ads: str, action: str = "yes") -> str:
    return (f"consentid:ZWpRa2lJNHBBc2dSZ0h0bGZ0VjVhQ3pNa2F0R2h2ZWw,consent:{'yes' if ads == 'yes' else 'no'},"
            f"action:{action},necessary:yes,functional:yes,analytics:no,performance:no,"
            f"advertisement:{ads},other:no")


def didomi(enabled: list[str], disabled: list[str], vendors_on=(), vendors_off=()) -> str:
    return b64({"user_id": "18f3c0a4-7b0e-6d4e-a1a0-3b2c1d0e9f8a", "created": "2025-11-24T09:00:00.000Z",
                "updated": "2025-11-24T09:00:05.000Z",
                "vendors": {"enabled": ["google", *vendors_on], "disabled": list(vendors_off)},
                "purposes": {"enabled": enabled, "disabled": disabled}, "version": 2, "ac": "AkuAEAFkBJYA.AkuAEAFkBJYA"})


IUB = {"timestamp": "2025-11-24T09:00:00.000Z", "version": "1.70.0", "id": 12345678, "cons": {"rand": "a1b2c3"}}
AXEPTIO = {"$$token": "m3d1a2b3c4d5e6f7", "$$date": "2025-11-24T09:00:00.000Z",
           "$$cookiesVersion": {"name": "fr-EU", "identifier": "6512"}, "google_analytics": True}
SHOPIFY_BASE = {"v": "2.1", "region": "FRIDF", "reg": "GDPR", "display_banner": False, "sale_of_data_region": False,
                "consent_id": "0EC1F3A0-4FB1-4D0C-9F2E-3AA57B0C1F2E"}


def shopify(m: str) -> str:
    return enc({**SHOPIFY_BASE, "con": {"CMP": {"a": m, "m": m, "p": m, "s": ""}}})


# (cookie header, expected verdict, expected sources) — real-format values, granted/denied/undecided per CMP
CMP_CASES = [
    # OneTrust
    (f"OptanonConsent={onetrust('C0001:1,C0002:1,C0003:1,C0004:1')}", "granted", ["onetrust:OptanonConsent"]),
    (f"OptanonConsent={onetrust('C0001:1,C0002:1,C0003:1,C0004:0')}", "denied", ["onetrust:OptanonConsent"]),
    (f"OptanonConsent={onetrust('C0001:1,C0002:0,C0003:0,C0004:1', interaction=0)}", "unknown", []),
    (f"OptanonConsent={onetrust('C0001:1,C0002:1')}", "unknown", []),
    # Cookiebot
    (f"CookieConsent={cookiebot('true')}", "granted", ["cookiebot:CookieConsent"]),
    (f"CookieConsent={cookiebot('false')}", "denied", ["cookiebot:CookieConsent"]),
    (f"CookieConsent={cookiebot('true', 'implied')}", "unknown", []),
    ("CookieConsent=-1", "unknown", []),
    ("CookieConsent=0", "denied", ["cookiebot:CookieConsent"]),
    # CookieYes (`consent:` is not the advertising flag)
    (f"cookieyes-consent={cookieyes('yes')}", "granted", ["cookieyes:cookieyes-consent"]),
    (f"cookieyes-consent={cookieyes('no')}", "denied", ["cookieyes:cookieyes-consent"]),
    (f"cookieyes-consent={cookieyes('')}", "unknown", []),
    (f"cookieyes-consent={cookieyes('yes', action='')}", "unknown", []),
    ("cookieyes-consent=consent:yes,advertisement:yes", "granted", ["cookieyes:cookieyes-consent"]),
    # as live sites carry it: before the visitor acts (`action:`) the categories are the banner's defaults
    ("cookieyes-consent=consentid:d0owaVVvazVQeldUemZ0aVF5,consent:no,action:,necessary:yes,functional:no,"
     "analytics:no,performance:no,advertisement:no,other:no", "unknown", []),
    ("cookieyes-consent=consentid:QkMzRTVzc2w3eWJPM3ptTXBU,consent:no,action:yes,necessary:yes,functional:no,"
     "analytics:no,performance:no,advertisement:no,other:no", "denied", ["cookieyes:cookieyes-consent"]),
    ("cookieyes-consent=consentid:S2k4RFFzdHlnUEoxSWlCNUFE,consent:yes,action:no,necessary:yes,functional:yes,"
     "analytics:yes,performance:yes,advertisement:yes", "unknown", []),  # an opt-out banner's default: implied
    # Complianz (and its multisite prefix)
    ("cmplz_marketing=allow", "granted", ["complianz:cmplz_marketing"]),
    ("cmplz_marketing=deny", "denied", ["complianz:cmplz_marketing"]),
    ("cmplz_marketing=", "unknown", []),
    ("cmplz_rt_marketing=allow", "granted", ["complianz:cmplz_rt_marketing"]),
    # Didomi
    (f"didomi_token={didomi(['cookies', 'select_basic_ads', 'measure_ad_performance'], [], ['c:tiktok-KZAUQLZ9'])}",
     "granted", ["didomi:didomi_token"]),
    (f"didomi_token={didomi(['cookies'], ['measure_ad_performance'])}", "denied", ["didomi:didomi_token"]),
    (f"didomi_token={didomi(['cookies', 'measure_ad_performance'], [], vendors_off=['c:tiktok-KZAUQLZ9'])}",
     "denied", ["didomi:didomi_token"]),
    (f"didomi_token={didomi(['cookies'], [])}", "unknown", []),
    # Borlabs
    ("borlabs-cookie=" + enc({"consents": {"essential": ["borlabs-cookie"], "marketing": ["tiktok-pixel"]},
                              "domainPath": "shop.example/", "uid": "a1b2c3d4", "version": "3"}),
     "granted", ["borlabs:borlabs-cookie"]),
    ("borlabs-cookie=" + enc({"consents": {"essential": ["borlabs-cookie"]}, "uid": "a1b2c3d4", "version": "3"}),
     "denied", ["borlabs:borlabs-cookie"]),
    ("borlabs-cookie=" + enc({"uid": "a1b2c3d4", "version": "3"}), "unknown", []),
    # iubenda (site id in the cookie name)
    ("_iub_cs-12345678=" + enc({**IUB, "purposes": {"1": True, "2": True, "3": True, "4": True, "5": True}}),
     "granted", ["iubenda:_iub_cs-*"]),
    ("_iub_cs-12345678=" + enc({**IUB, "purposes": {"1": True, "2": True, "3": True, "4": True, "5": False}}),
     "denied", ["iubenda:_iub_cs-*"]),
    ("_iub_cs-12345678=" + enc({**IUB, "consent": True}), "granted", ["iubenda:_iub_cs-*"]),
    ("_iub_cs-12345678=" + enc(IUB), "unknown", []),
    # CookieFirst
    ("cookiefirst-consent=" + enc({"necessary": True, "performance": True, "functional": True, "advertising": True,
                                   "timestamp": 1732523456, "type": "category", "version": "2a3f"}),
     "granted", ["cookiefirst:cookiefirst-consent"]),
    ("cookiefirst-consent=" + enc({"necessary": True, "advertising": False, "type": "category"}),
     "denied", ["cookiefirst:cookiefirst-consent"]),
    ("cookiefirst-consent=" + enc({"necessary": True, "type": "category"}), "unknown", []),
    # Axeptio
    ("axeptio_cookies=" + enc({**AXEPTIO, "tiktok": True, "$$completed": True}), "granted", ["axeptio:axeptio_cookies"]),
    ("axeptio_cookies=" + enc({**AXEPTIO, "tiktok": False, "$$completed": True}), "denied", ["axeptio:axeptio_cookies"]),
    ("axeptio_cookies=" + enc({**AXEPTIO, "tiktok": True, "$$completed": False}), "unknown", []),
    ("axeptio_authorized_vendors=%2Ctiktok%2Cgoogle_analytics%2C", "granted", ["axeptio:axeptio_authorized_vendors"]),
    ("axeptio_authorized_vendors=%2Cgoogle_analytics%2C", "unknown", []),
    # Klaro
    ("klaro=" + enc({"tiktok": True, "matomo": False}), "granted", ["klaro:klaro"]),
    ("klaro=" + enc({"tiktok": False, "matomo": True}), "denied", ["klaro:klaro"]),
    ("klaro=" + enc({"matomo": True}), "unknown", []),
    # Shopify
    (f"_tracking_consent={shopify('1')}", "granted", ["shopify:_tracking_consent"]),
    (f"_tracking_consent={shopify('0')}", "denied", ["shopify:_tracking_consent"]),
    (f"_tracking_consent={shopify('')}", "unknown", []),
    # `_cmp_a` is what the shop allows in the visitor's region, never the visitor's choice
    ("_cmp_a=" + enc({"purposes": {"a": True, "p": True, "m": True, "t": True}, "display_banner": False}),
     "unknown", []),
    ("_cmp_a=" + enc({"purposes": {"a": True, "p": True, "m": True, "t": False}, "display_banner": False,
                      "sale_of_data_region": True}), "denied", ["shopify:_cmp_a"]),
    # US Privacy, plain and JSON-wrapped
    ("usprivacy=1YYN", "denied", ["usp:usprivacy"]),
    ("usprivacy=1YNN", "unknown", []),
    ("usprivacy=1---", "unknown", []),
    ("usprivacy=" + enc({"uspString": "1YYN", "firstAcknowledgeDate": "2025-11-24"}), "denied", ["usp:usprivacy"]),
    # TCF (strings from @iabtcf/core)
    (f"euconsent-v2={TCF['granted_bitfield']['tc_string']}", "denied", ["tcf:euconsent-v2"]),  # no TikTok (986)
    (f"euconsent-v2={TCF['granted_range']['tc_string']}", "granted", ["tcf:euconsent-v2"]),
    (f"euconsent-v2={TCF['purpose1_only']['tc_string']}", "denied", ["tcf:euconsent-v2"]),
    (f"euconsent-v2={TCF['denied_all']['tc_string']}", "denied", ["tcf:euconsent-v2"]),
    # GPP (strings from @iabgpp/cmpapi), also as OneTrust writes it
    (f"__gpp={GPP['usnat_sale_opt_out']['gpp_string']}", "denied", ["gpp:__gpp"]),
    (f"OTGPPConsent={GPP['usnat_targeted_opt_out']['gpp_string']}", "denied", ["gpp:OTGPPConsent"]),
    (f"__gpp={GPP['usnat_not_opted_out']['gpp_string']}", "unknown", []),
    (f"__gpp={GPP['usca_sharing_opt_out']['gpp_string']}", "denied", ["gpp:__gpp"]),
    (f"__gpp={GPP['uspv1_opted_out']['gpp_string']}", "denied", ["gpp:__gpp"]),
    (f"__gpp={GPP['usnat_gpc']['gpp_string']}", "denied", ["gpp:__gpp"]),
    # nothing at all
    ("shop_session=abc; _ga=GA1.1.123.456", "unknown", []),
    ("", "unknown", []),
]


@pytest.mark.parametrize("cookie, verdict, sources", CMP_CASES)
def test_cmp_cookie_verdicts(cookie, verdict, sources):
    v = ConsentEngine().evaluate(cookie, {})
    assert (v.state, list(v.sources)) == (verdict, sources)
    assert v.as_dict() == {"verdict": verdict, "sources": sources}


@pytest.mark.parametrize("name, expect", [
    ("granted_bitfield", "granted"), ("granted_bitfield_sparse", "granted"), ("granted_range", "granted"),
    ("granted_range_without_986", "granted"), ("purpose1_only", "denied"), ("purpose7_only", "denied"),
    ("denied_all", "denied"), ("granted_other_cmp", "granted"),
])
def test_tcf_fixtures_purposes_only(name, expect):
    engine = ConsentEngine(ConsentSettings(tcf_vendor_ids=()))  # the vendor check off: purposes decide
    assert engine.evaluate(f"euconsent-v2={TCF[name]['tc_string']}", {}).state == expect


@pytest.mark.parametrize("name, expect", [
    ("granted_bitfield_sparse", "granted"), ("granted_range", "granted"),   # purposes 1, 7 and TikTok (986)
    ("granted_bitfield", "denied"), ("granted_range_without_986", "denied"),  # purposes, but not TikTok
    ("denied_all", "denied"),
])
def test_tcf_by_default_needs_tiktok_as_a_vendor(name, expect):
    assert ConsentEngine().evaluate(f"euconsent-v2={TCF[name]['tc_string']}", {}).state == expect


@pytest.mark.parametrize("name, vendor, expect", [
    ("granted_bitfield_sparse", 986, "granted"),   # bitfield: 986 set
    ("granted_bitfield_sparse", 984, "denied"),    # bitfield: even ids below 986 unset
    ("granted_range", 986, "granted"),             # single-id range entry
    ("granted_range", 950, "denied"),              # between ranges
    ("granted_range_without_986", 986, "denied"),
    ("granted_bitfield", 1200, "denied"),          # beyond MaxVendorId
])
def test_tcf_vendor_check(name, vendor, expect):
    engine = ConsentEngine(ConsentSettings(tcf_vendor_ids=(), tcf_vendor_id=vendor))
    assert engine.evaluate(f"euconsent-v2={TCF[name]['tc_string']}", {}).state == expect


def test_tcf_purposes_are_configurable():
    engine = ConsentEngine(ConsentSettings(tcf_purposes=(1,), tcf_vendor_ids=()))
    assert engine.evaluate(f"euconsent-v2={TCF['purpose1_only']['tc_string']}", {}).state == "granted"
    engine = ConsentEngine(ConsentSettings(tcf_purposes=(1, 3, 4, 7), tcf_vendor_ids=()))
    assert engine.evaluate(f"euconsent-v2={TCF['granted_range_without_986']['tc_string']}", {}).state == "denied"


@pytest.mark.parametrize("headers, honour, verdict", [
    ({"sec-gpc": "1"}, True, "denied"),
    ({"sec-gpc": " 1 "}, True, "denied"),
    ({"sec-gpc": "0"}, True, "granted"),
    ({"sec-gpc": "1"}, False, "granted"),
    ({}, True, "granted"),
])
def test_gpc(headers, honour, verdict):
    engine = ConsentEngine(ConsentSettings(honour_gpc=honour))
    v = engine.evaluate("cmplz_marketing=allow", headers)
    assert v.state == verdict
    assert ("gpc:Sec-GPC" in v.sources) == (verdict == "denied")


def test_gpp_gpc_bit_follows_honour_gpc():
    cookie = f"__gpp={GPP['usnat_gpc']['gpp_string']}; cmplz_marketing=allow"
    assert ConsentEngine().evaluate(cookie, {}).state == "denied"
    assert ConsentEngine(ConsentSettings(honour_gpc=False)).evaluate(cookie, {}).state == "granted"


@pytest.mark.parametrize("cookie, verdict, sources", [
    # an explicit opt-out anywhere wins over any grant
    (f"cmplz_marketing=allow; usprivacy=1YYN; euconsent-v2={TCF['granted_range']['tc_string']}",
     "denied", ["usp:usprivacy"]),
    (f"OptanonConsent={onetrust('C0004:0')}; cookieyes-consent={cookieyes('yes')}",
     "denied", ["onetrust:OptanonConsent"]),
    # every grant is named
    (f"cmplz_marketing=allow; euconsent-v2={TCF['granted_range']['tc_string']}",
     "granted", ["complianz:cmplz_marketing", "tcf:euconsent-v2"]),
    # a grant plus unknowns is a grant
    (f"cmplz_marketing=allow; usprivacy=1---; klaro={enc({'matomo': True})}", "granted", ["complianz:cmplz_marketing"]),
    # not-opted-out (implied) alone is not a grant
    (f"usprivacy=1YNN; __gpp={GPP['usnat_not_opted_out']['gpp_string']}", "unknown", []),
])
def test_combining_rule(cookie, verdict, sources):
    v = ConsentEngine().evaluate(cookie, {})
    assert (v.state, list(v.sources)) == (verdict, sources)


@pytest.mark.parametrize("cookie, verdict", [
    ("usprivacy=1YNN", "granted"),
    (f"__gpp={GPP['usnat_not_opted_out']['gpp_string']}", "granted"),
    (f"OptanonConsent={onetrust('C0004:1', interaction=0)}", "granted"),
    (f"CookieConsent={cookiebot('true', 'implied')}", "granted"),
    ("CookieConsent=-1", "granted"),
    (f"cookieyes-consent={cookieyes('yes', action='')}", "granted"),
    ("usprivacy=1YYN", "denied"),           # an opt-out is still an opt-out
    ("usprivacy=1---", "unknown"),          # and nothing is still nothing
    ("shop_session=abc", "unknown"),
])
def test_opt_out_regime_counts_implied_defaults(cookie, verdict):
    assert ConsentEngine(ConsentSettings(opt_out_regime=True)).evaluate(cookie, {}).state == verdict


@pytest.mark.parametrize("cookie, verdict", [
    ("cmplz_marketing=allow; cmplz_marketing=deny", "denied"),   # copies disagree: most restrictive
    ("cmplz_marketing=deny; cmplz_marketing=allow", "denied"),
    ("cmplz_marketing=allow; cmplz_marketing=allow", "granted"),
    ("cmplz_marketing=allow; cmplz_marketing=%%garbage", "unknown"),  # unreadable copy → not a grant
    ("usprivacy=1YNN; usprivacy=1YYN", "denied"),
])
def test_duplicate_cookies_resolve_most_restrictively(cookie, verdict):
    assert ConsentEngine().evaluate(cookie, {}).state == verdict


@pytest.mark.parametrize("cookie", [
    # split on `;` only: commas, quotes, colons and `=` live inside values
    f"a=1,cmplz_marketing=deny; CookieConsent={cookiebot('true')}",
    f"CookieConsent=\"{cookiebot('true')}\"",
    f"  CookieConsent={cookiebot('true')}  ;other=x=y=z",
])
def test_cookie_header_parsing(cookie):
    v = ConsentEngine().evaluate(cookie, {})
    assert (v.state, v.sources) == ("granted", ("cookiebot:CookieConsent",))


def test_site_specific_ids():
    s = ConsentSettings(onetrust_groups=("C0005",), klaro_services=("tt-pixel",), axeptio_vendors=("tiktok_ads",),
                        didomi_purposes=("select_basic_ads",), iubenda_purposes=("4",), borlabs_groups=("statistics",),
                        didomi_vendors=("c:tt-123",))
    e = ConsentEngine(s)
    assert e.evaluate(f"OptanonConsent={onetrust('C0004:0,C0005:1')}", {}).state == "granted"
    assert e.evaluate("OptanonConsent=groups=1%3A1%2C4%3A1", {}).state == "unknown"
    assert ConsentEngine().evaluate("OptanonConsent=groups=1%3A1%2C4%3A1", {}).state == "granted"  # legacy numeric ids
    assert ConsentEngine().evaluate("OptanonConsent=groups=1%3A1%2C4%3A0", {}).state == "denied"
    assert e.evaluate("klaro=" + enc({"tt-pixel": True, "tiktok": False}), {}).state == "granted"
    assert e.evaluate("axeptio_cookies=" + enc({"tiktok_ads": False, "tiktok": True}), {}).state == "denied"
    assert e.evaluate(f"didomi_token={didomi(['select_basic_ads'], ['cookies'])}", {}).state == "granted"
    assert e.evaluate(f"didomi_token={didomi(['select_basic_ads'], [], vendors_off=['c:tt-123'])}", {}).state == "denied"
    assert e.evaluate("_iub_cs-1=" + enc({"purposes": {"4": True, "5": False}}), {}).state == "granted"
    assert e.evaluate("borlabs-cookie=" + enc({"consents": {"statistics": ["ga"]}}), {}).state == "granted"


def test_cmps_to_consult():
    e = ConsentEngine(ConsentSettings(cmps=("tcf",)))
    cookie = f"cmplz_marketing=deny; usprivacy=1YYN; euconsent-v2={TCF['granted_range']['tc_string']}"
    assert e.evaluate(cookie, {}).sources == ("tcf:euconsent-v2",)
    assert ConsentEngine(ConsentSettings(cmps=())).evaluate(cookie, {}).state == "unknown"


@pytest.mark.parametrize("rule, cookie, verdict", [
    ({"cookie": "site_consent", "granted": r"\bads=1\b", "denied": r"\bads=0\b"}, "site_consent=ads%3D1%26stats%3D0", "granted"),
    ({"cookie": "site_consent", "granted": r"\bads=1\b", "denied": r"\bads=0\b"}, "site_consent=ads%3D0", "denied"),
    ({"cookie": "site_consent", "granted": r"\bads=1\b"}, "site_consent=stats%3D1", "unknown"),
    ({"cookie": "prefs", "json_path": "consent.ads", "granted": "true", "denied": "false"},
     "prefs=" + enc({"consent": {"ads": True}}), "granted"),
    ({"cookie": "prefs", "json_path": "consent.ads", "granted": "true", "denied": "false"},
     "prefs=" + enc({"consent": {"ads": False}}), "denied"),
    ({"cookie": "prefs", "json_path": "consent.ads", "granted": "true", "denied": "false"},
     "prefs=" + enc({"consent": {}}), "unknown"),
    ({"cookie": "prefs", "json_path": "cats.1", "granted": "marketing"}, "prefs=" + enc({"cats": ["ess", "marketing"]}),
     "granted"),
    ({"cookie": "prefs", "json_path": "cats.9", "granted": "marketing"}, "prefs=" + enc({"cats": ["ess"]}), "unknown"),
    ({"cookie": "prefs", "json_path": "level", "granted": "[3-9]", "denied": "[0-2]"}, "prefs=" + enc({"level": 1}),
     "denied"),
    ({"cookie": "prefs", "json_path": "consent.ads", "granted": "true"}, "prefs=not-json", "unknown"),
])
def test_custom_rules(rule, cookie, verdict):
    v = ConsentEngine(ConsentSettings(custom=[rule])).evaluate(cookie, {})
    assert v.state == verdict
    if verdict != "unknown":
        assert v.sources == (f"custom:{rule['cookie']}",)


@pytest.mark.parametrize("data, message", [
    ({"custom": [{"cookie": "x"}]}, "give `granted`, `denied` or both"),
    ({"custom": [{"cookie": "x", "granted": "("}]}, "not a regular expression"),
    ({"custom": [{"cookie": "a b", "granted": "1"}]}, "is not a cookie name"),
    ({"custom": [{"cookie": "x", "granted": "1", "json_path": "a..b"}]}, "is not a dotted path"),
    ({"tcf_purposes": [0]}, "TCF purpose 0 is not in 1-24"),
    ({"tcf_purposes": []}, "list at least one purpose"),
    ({"tcf_vendor_id": 0}, "greater than or equal to 1"),
    ({"onetrust_groups": []}, "list at least one non-empty id"),
    ({"cmps": ["onetrust", "termly"]}, "Input should be"),
    ({"honour_gcp": True}, "Extra inputs are not permitted"),
])
def test_settings_validation(data, message):
    with pytest.raises(ValidationError) as e:
        ConsentSettings.model_validate(data)
    assert message in str(e.value)


def test_settings_through_config_loader(tmp_path):
    from pixelscleared.config import ConfigError, parse_config

    base = {"upstream": "http://127.0.0.1:3000",
            "destinations": {"tiktok": [{"pixel_id": "CK1", "access_token": "t", "events": ["PageView"]}]}}
    cfg = parse_config({**base, "consent": {"onetrust_groups": ["C0005"], "tcf_vendor_id": 986}}, {})
    assert cfg.consent.onetrust_groups == ("C0005",) and cfg.consent.tcf_vendor_id == 986
    with pytest.raises(ConfigError) as e:
        parse_config({**base, "consent": {"custom": [{"cookie": "x", "granted": "("}]}}, {})
    assert any(p.startswith("consent.custom") for p in e.value.problems), e.value.problems


def test_verdict_names_signals_never_values():
    secretish = "consentid:SECRETVALUE123,action:yes,advertisement:yes"
    v = ConsentEngine().evaluate(f"cookieyes-consent={secretish}; usprivacy=1YNN", {"sec-gpc": "0"})
    text = json.dumps(v.as_dict()) + repr(v)
    assert "SECRETVALUE123" not in text and "1YNN" not in text
    assert [s.as_dict() for s in v.signals] == [{"source": "cookieyes:cookieyes-consent", "state": "granted"},
                                                {"source": "usp:usprivacy", "state": "implied"}]


def test_combine_directly():
    sig = [Signal("a:x", "implied"), Signal("b:y", "unknown")]
    assert combine(sig) == Verdict("unknown")
    assert combine(sig, opt_out_regime=True) == Verdict("granted", ("a:x",))
    assert combine([]) == Verdict("unknown")


# -- hostile input -------------------------------------------------------------------------

ALL_COOKIES = ["OptanonConsent", "CookieConsent", "cookieyes-consent", "cmplz_marketing", "didomi_token",
               "borlabs-cookie", "_iub_cs-1", "cookiefirst-consent", "axeptio_cookies", "axeptio_authorized_vendors",
               "klaro", "_tracking_consent", "_cmp_a", "euconsent-v2", "usprivacy", "__gpp", "OTGPPConsent",
               "prefs", "cookielawinfo-checkbox-advertisement", "CookieLawInfoConsent", "notice_gdpr_prefs",
               "notice_preferences", "cmapi_cookie_privacy", "osano_consentmanager", "_ketch_consent_v1_", "CONSENTMGR",
               "orejime", "FCCDCF", "CookieInformationConsent", "TC_PRIVACY", "uc_settings", "uc_tcf",
               "__hs_cookie_cat_pref", "__hs_opt_out", "bc_consent", "consent-policy", "CookieScriptConsent",
               "moove_gdpr_popup", "tracking-preferences", "cookie_notice_accepted", "__cmpconsentx1"]
HOSTILE_ENGINE = ConsentEngine(ConsentSettings(
    custom=[{"cookie": "prefs", "json_path": "a.b", "granted": "true"}], tcf_vendor_id=986))


@pytest.mark.parametrize("value", [
    "A" * 1_000_000,                                      # enormous
    "%7B" * 200 + "%7D" * 200,                            # deep-ish nesting
    "[" * 50_000,                                          # JSON recursion bomb (over size limit)
    "[" * 5_000 + "]" * 5_000,                             # JSON recursion bomb (under size limit)
    "\x00\xff\xfe\ud800binary",                           # binary / lone surrogate
    "%ff%fe%80%c3%28",                                    # invalid UTF-8 after decoding
    TCF["granted_range"]["tc_string"][:40],               # truncated TCF
    GPP["uspv1_and_usnat"]["gpp_string"][:12],            # truncated GPP
    "DBABLA~" + "~" * 10,
    "eyJwdXJwb3NlcyI6",                                    # truncated base64 JSON
    "null", "[]", "123", '"str"', "{}", "{\"purposes\":[1,2]}",
])
@pytest.mark.parametrize("name", ALL_COOKIES)
def test_hostile_values_are_unknown_not_errors(name, value):
    v = HOSTILE_ENGINE.evaluate(f"{name}={value}", {})
    assert v.state in ("unknown", "denied")
    assert all(s.state in ("unknown", "denied") for s in v.signals)


def test_one_megabyte_header_of_many_cookies():
    header = "; ".join(f"c{i}=v{i}" for i in range(80_000)) + "; cmplz_marketing=allow"
    assert len(header) > 1_000_000
    assert ConsentEngine().evaluate(header, {}).state == "granted"


@settings(max_examples=250, deadline=None)
@given(name=st.sampled_from(ALL_COOKIES), value=st.text(max_size=400))
def test_property_any_value_never_raises(name, value):
    v = HOSTILE_ENGINE.evaluate(f"{name}={value.replace(';', '')}", {"sec-gpc": value[:3]})
    assert v.state in ("granted", "denied", "unknown")


@settings(max_examples=250, deadline=None)
@given(header=st.text(alphabet=st.characters(codec="latin-1") | st.sampled_from(list(";=,:%{}\"'")), max_size=600))
def test_property_any_header_never_raises(header):
    v = HOSTILE_ENGINE.evaluate(header, {})
    assert v.state in ("granted", "denied", "unknown")
    assert isinstance(v.sources, tuple)


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=300), name=st.sampled_from(["euconsent-v2", "__gpp", "didomi_token", "klaro"]))
def test_property_binary_never_raises(blob, name):
    v = HOSTILE_ENGINE.evaluate(f"{name}=" + blob.decode("utf-8", "surrogateescape"), {})
    assert v.state in ("granted", "denied", "unknown")


def test_engine_never_raises_even_on_wrong_types():
    e = ConsentEngine()
    assert e.evaluate(None, {}).state == "unknown"  # type: ignore[arg-type]
    assert e.evaluate(b"cmplz_marketing=allow", {}).state == "unknown"  # type: ignore[arg-type]
    assert e.evaluate("cmplz_marketing=allow", {"sec-gpc": None}).state == "granted"  # type: ignore[dict-item]


def test_memoized_readings_match_fresh_ones():
    """The per-value memo must never change an answer, including for repeated hostile values."""
    cookies = [c for c, _, _ in CMP_CASES] + ["cmplz_marketing=" + "x" * 5000, "usprivacy=\x00\xff"]
    warm = ConsentEngine()
    for _ in range(3):
        for cookie in cookies:
            assert warm.evaluate(cookie, {}) == ConsentEngine().evaluate(cookie, {}), cookie


def test_memo_is_bounded():
    from pixelscleared.consent import engine as engine_mod

    e = ConsentEngine()
    for i in range(engine_mod.CACHE_ENTRIES + 500):
        e.evaluate(f"cmplz_marketing=v{i}", {})
    read = dict(e._plan["cmplz_marketing"])["complianz:cmplz_marketing"]
    cached = read.__closure__  # the lru_cache inside the reading closure
    infos = [c.cell_contents.cache_info() for c in cached if hasattr(c.cell_contents, "cache_info")]
    assert infos and infos[0].currsize <= engine_mod.CACHE_ENTRIES


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('%"{}[]:,;=&+ 2CcAaBb57D0x9é')), max_size=60))
def test_property_fast_percent_decoding_equals_unquote(text):
    from urllib.parse import unquote

    from pixelscleared.consent.cookies import pct, raw

    assert pct(text) == unquote(raw(text), errors="replace")  # raw: without RFC 6265 quotes
    assert pct(f"%22{text}") == unquote(f"%22{text}", errors="replace")


@pytest.mark.parametrize("header, state", [
    # Python's http.cookies (and clients built on it) quote values with commas as RFC 2109 octal escapes.
    ('cookieyes-consent="consentid:x\\054consent:yes\\054action:yes\\054advertisement:yes"', "granted"),
    ('cookieyes-consent="consentid:x\\054consent:no\\054action:yes\\054advertisement:no"', "denied"),
    ('cookieyes-consent="advertisement:yes\\"', "unknown"),
])
def test_rfc2109_quoted_cookie_values(header, state):
    assert ConsentEngine().evaluate(header, {}).state == state


# -- Shopify: every `_tracking_consent` format its consent API reads ------------------------------
# Formats as Shopify's `consent-tracking-api` script parses them: compact v3 (`3<choices>.<allowed>_
# <region>_<banner>_<sale-of-data region>_<consent id>[_<json>]`), JSON v2.1, JSON v2.0.
_V21 = {"v": "2.1", "region": "USTX", "reg": "", "display_banner": False, "sale_of_data_region": False,
        "consent_id": "5B81472A-b56f-49DF-b9c7-01570939fa09"}


def _v21(cmp: str, purposes: bool | None = True, **extra: object) -> str:
    obj: dict[str, object] = {**_V21, "con": {"CMP": {"a": cmp, "m": cmp, "p": cmp, "s": ""}}, **extra}
    if purposes is not None:
        obj["purposes"] = {"a": purposes, "p": purposes, "m": purposes, "t": purposes}
    return enc(obj)


SHOPIFY_CASES = [
    # v3 (current): upper case before the dot = accepted, lower case = declined, none = no choice
    ("3.AMPS_INBR_f_f_pBL0gReESdWelrypdLDbSg", "implied"),  # no choice; the region allows all
    ("3AMPS._USCA_f_f_3B03J3isR829Ctrs-auQCg_%7B%7D", "granted"),  # accepted all (+ customer JSON)
    ("3AMPS._FRIDF_t_f_cmTqaElVQReO*YOuoTirbg", "granted"),
    ("3amps._DEBE_t_f_KXF2JnoSTyu-JygdTJZRAA", "denied"),  # declined all
    ("3AmPS._DEBE_t_f_KXF2JnoSTyu-JygdTJZRAA", "denied"),  # marketing declined
    ("3AMPs._USCA_f_t_7AUxuHq8TwWPRARDwt06mw", "denied"),  # sale of data declined
    ("3._DEBY_t_f_4MXMfRPtTkGLORLJPTGqOQ", "unknown"),  # banner region, nothing allowed yet
    ("3.AMP_USCA_f_t_-DlBBsijT9252dNjR-wT4w", "denied"),  # US state: sale of data not allowed (GPC)
    ("3.AMPS_USCA_f_t_-DlBBsijT9252dNjR-wT4w", "implied"),
    ("3", "unknown"),  # truncated
    ("3AMPS", "unknown"),
    ("3<script>_x_f_f_id", "unknown"),
    # JSON v2.1: the choice in `con.CMP`, the region's defaults in `purposes`
    (_v21(""), "implied"),
    (_v21("1"), "granted"),
    (_v21("0"), "denied"),
    (_v21("", False, display_banner=True, region="DEBY"), "unknown"),
    (_v21("", None), "unknown"),  # older 2.1 values carry no purposes
    (enc({**_V21, "con": {"CMP": {"a": "1", "m": "1", "p": "1", "s": "0"}}}), "denied"),
    (enc({**_V21, "con": {"CMP": {"a": "", "m": "", "p": "", "s": ""}}, "sale_of_data_region": True,
          "purposes": {"a": True, "p": True, "m": True, "t": False}}), "denied"),
    # JSON v2.0 (and older): one choice under `con.GDPR`
    (enc({"lim": ["GDPR"], "v": "2.0", "con": {"GDPR": ""}, "reg": "CCPA"}), "unknown"),
    (enc({"reg": "", "v": "2.0", "con": {"GDPR": ""}, "lim": ["CCPA_BLOCK_ALL", "GDPR"]}), "unknown"),
    (enc({"lim": ["GDPR"], "v": "2.0", "con": {"GDPR": "1"}, "reg": "GDPR"}), "granted"),
    (enc({"lim": ["GDPR"], "v": "2.0", "con": {"GDPR": "0"}, "reg": "GDPR"}), "denied"),
    ("%7Bnot json", "unknown"),
]


@pytest.mark.parametrize("value, state", SHOPIFY_CASES)
def test_shopify_tracking_consent_formats(value: str, state: str) -> None:
    e = ConsentEngine(ConsentSettings(cmps=["shopify"]))
    v = e.evaluate(f"_tracking_consent={value}", {})
    signal = next((s for s in v.signals if s.source == "shopify:_tracking_consent"), None)
    assert (signal.state if signal else "unknown") == state
    regime = ConsentEngine(ConsentSettings(cmps=["shopify"], opt_out_regime=True)).evaluate(
        f"_tracking_consent={value}", {})
    assert regime.state == ("granted" if state == "implied" else state)


def test_docs_table_lists_every_signal() -> None:
    """docs/consent.md has a row per `cmps:` key, so a new reader cannot go undocumented."""
    from pixelscleared.consent.settings import ALL_CMPS

    table = (Path(__file__).parent.parent / "docs" / "consent.md").read_text()
    assert [c for c in ALL_CMPS if f"| `{c}` |" not in table] == []


@pytest.mark.parametrize("gen_vendors, state", [
    ("V12:1,V3:0", "granted"),
    ("V12:0,V3:1", "denied"),  # the category granted, TikTok as a vendor refused
    ("V3:1", "unknown"),  # the site lists TikTok's vendor id, the cookie does not: not shown a grant
    ("", "unknown"),
])
def test_onetrust_general_vendor_for_tiktok(gen_vendors: str, state: str) -> None:
    e = ConsentEngine(ConsentSettings(onetrust_vendors=("V12",)))
    cookie = f"OptanonConsent={onetrust('C0001:1,C0004:1', gen_vendors=gen_vendors)}"
    assert e.evaluate(cookie, {}).state == state
