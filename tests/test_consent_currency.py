"""Consent that does not apply: stale choices, opt-outs recorded inside CMP cookies, and the
CMP formats added for real-world sites (TrustArc, CookieLawInfo, Osano, Ketch, Tealium,
Orejime, Google Funding Choices, Cookiebot's embedded TC string)."""

from __future__ import annotations

import base64
import datetime
import json
import time
from email.utils import formatdate
from urllib.parse import quote

import pytest

from conftest import fresh_tc
from pixelscleared.consent import ConsentEngine
from pixelscleared.consent.cmps import ad_category
from pixelscleared.consent.settings import ConsentSettings

FIXTURES = json.loads(open("tests/fixtures/consent/tcf.json").read())["cases"]  # noqa: SIM115
GRANTED_TC = FIXTURES["granted_range"]["tc_string"]  # purposes 1 and 7, and TikTok (986) as a vendor
DENIED_TC = FIXTURES["denied_all"]["tc_string"]
DAY = 86_400
NOW = time.time()
E = ConsentEngine()


def verdict(cookie: str, engine: ConsentEngine = E, headers: dict[str, str] | None = None) -> str:
    return engine.evaluate(cookie, headers or {}).state


def b64(obj: object) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def js_date(ts: float) -> str:
    return quote(time.strftime("%a %b %d %Y %H:%M:%S GMT+0100 (Central European Standard Time)", time.gmtime(ts)))


def onetrust(groups: str = "C0001:1,C0004:1", *, gpc: int = 0, awaiting: str = "false", ts: float = NOW) -> str:
    return (f"OptanonConsent=isGpcEnabled={gpc}&datestamp={js_date(ts)}&version=202409.1.0&isIABGlobal=false"
            f"&hosts=&interactionCount=1&landingPath=NotLandingPage&groups={quote(groups, safe='')}"
            f"&AwaitingReconsent={awaiting}")


def cookiebot(marketing: str = "true", utc: float = NOW, iab2: str = "") -> str:
    return (f"CookieConsent={{stamp:%27abc%27%2Cnecessary:true%2Cmarketing:{marketing}%2Cmethod:%27explicit%27"
            f"%2Cver:1%2Cutc:{int(utc * 1000)}%2Ciab2:%27{iab2}%27%2Cregion:%27de%27}}")


@pytest.mark.parametrize(("cookie", "state"), [
    # TCF: LastUpdated decides whether a grant is current (default 390 days)
    (f"euconsent-v2={fresh_tc(GRANTED_TC, NOW - 10 * DAY)}", "granted"),
    (f"euconsent-v2={fresh_tc(GRANTED_TC, NOW - 400 * DAY)}", "unknown"),
    (f"euconsent-v2={fresh_tc(DENIED_TC, NOW - 400 * DAY)}", "denied"),     # an old refusal still refuses
    # OneTrust: its own date, a pending re-consent, and GPC recorded in the cookie
    (onetrust(), "granted"),
    (onetrust(ts=NOW - 400 * DAY), "unknown"),
    (onetrust(awaiting="true"), "unknown"),
    (onetrust(gpc=1), "denied"),
    # Cookiebot: `utc` is when the choice was made; `iab2` embeds a TC string
    (cookiebot(), "granted"),
    (cookiebot(utc=NOW - 400 * DAY), "unknown"),
    (cookiebot(iab2=fresh_tc(DENIED_TC)), "denied"),
    (cookiebot(iab2=fresh_tc(GRANTED_TC)), "granted"),
    # Borlabs: an expired cookie is not a current grant
    ("borlabs-cookie=" + quote(json.dumps({"consents": {"marketing": ["tiktok"]},
                                            "expires": formatdate(NOW + 30 * DAY, usegmt=True)})), "granted"),
    ("borlabs-cookie=" + quote(json.dumps({"consents": {"marketing": ["tiktok"]},
                                            "expires": formatdate(NOW - DAY, usegmt=True)})), "unknown"),
    ("borlabs-cookie=" + quote(json.dumps({"consents": {"marketing": ["tiktok"]}, "expires": int(NOW - DAY)})),
     "unknown"),
    # Shopify: a sale-of-data opt-out wins over marketing
    ("_tracking_consent=" + quote(json.dumps({"con": {"CMP": {"a": "1", "m": "1", "p": "1", "s": "0"}},
                                              "v": "2.1"})), "denied"),
    ("_tracking_consent=" + quote(json.dumps({"con": {"CMP": {"a": "1", "m": "1", "p": "1", "s": "1"}},
                                              "v": "2.1"})), "granted"),
    ("_tracking_consent=" + quote(json.dumps({"con": {"CMP": {"a": "", "m": "", "p": "", "s": ""}},
                                              "purposes": {"a": True, "m": True, "p": True, "t": False},
                                              "sale_of_data_region": True, "v": "2.1"})), "denied"),
])
def test_current_and_opted_out(cookie, state):
    assert verdict(cookie) == state


def test_max_age_is_configurable():
    tc = f"euconsent-v2={fresh_tc(GRANTED_TC, NOW - 200 * DAY)}"
    assert verdict(tc) == "granted"
    assert verdict(tc, ConsentEngine(ConsentSettings(max_age_days=180))) == "unknown"


def test_onetrust_gpc_follows_honour_gpc():
    assert verdict(onetrust(gpc=1), ConsentEngine(ConsentSettings(honour_gpc=False))) == "granted"


MS = int(NOW * 1000)


def cookie_info(approved: list[str], denied: list[str] | None = None, when: float = NOW) -> str:
    stamp = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return "CookieInformationConsent=" + quote(json.dumps({
        "website_uuid": "806ef00f-64ee-4fb7-b3f1-11cf4b723213", "timestamp": stamp,
        "consent_url": "https://shop.example/", "consent_website": "shop.example", "consent_domain": "shop.example",
        "user_uid": "66a92362-5c54-4d89-b7d9-75e3918b6c0d", "consents_approved": approved,
        "consents_denied": denied or [], "user_agent": "Mozilla/5.0"}))


@pytest.mark.parametrize(("cookie", "state"), [
    ("cookielawinfo-checkbox-advertisement=yes", "granted"),
    ("cookielawinfo-checkbox-advertisement=no", "denied"),
    ("CookieLawInfoConsent=" + b64({"necessary": True, "advertisement": True}), "granted"),
    ("CookieLawInfoConsent=" + b64({"necessary": True, "advertisement": False}), "denied"),
    ("notice_gdpr_prefs=0,1,2:", "granted"),
    ("notice_gdpr_prefs=0%2C1%3A", "denied"),
    ("notice_preferences=2:", "granted"),
    ("notice_preferences=0:", "denied"),
    ("cmapi_cookie_privacy=permit 1,2,3", "granted"),
    ("cmapi_cookie_privacy=permit%201%20required", "denied"),
    # as seen on live TrustArc sites (required only; US implied mode; four categories; underscores)
    ("notice_gdpr_prefs=0:", "denied"),
    ("notice_gdpr_prefs=0::implied,us", "denied"),
    ("notice_gdpr_prefs=0,1,2,3:", "granted"),
    ("notice_preferences=3:", "granted"),
    ("cmapi_cookie_privacy=permit_1_required", "denied"),
    ("cmapi_cookie_privacy=permit 1,2,3,4", "granted"),
    ("cmapi_cookie_privacy=deny", "unknown"),
    ("osano_consentmanager=" + b64({"ESSENTIAL": "ACCEPT", "MARKETING": "ACCEPT", "OPT_OUT": "DENY"}), "granted"),
    ("osano_consentmanager=" + b64({"ESSENTIAL": "ACCEPT", "MARKETING": "DENY"}), "denied"),
    ("osano_consentmanager=" + b64({"MARKETING": "ACCEPT", "OPT_OUT": "ACCEPT"}), "denied"),
    ("_ketch_consent_v1_=" + b64({"analytics": {"status": "granted"}, "targeted_advertising": {"status": "granted"}}),
     "granted"),
    ("_ketch_consent_v1_=" + b64({"targeted_advertising": {"status": "denied"}}), "denied"),
    ("_ketch_consent_v1_=" + b64({"analytics": {"status": "granted"}}), "unknown"),
    # a site's own purpose code, named by its canonical purpose (as live Ketch cookies carry it)
    ("_ketch_consent_v1_=" + b64({"ads_tt": {"status": "denied", "canonicalPurposes": ["behavioral_advertising"]},
                                  "analytics": {"status": "granted", "canonicalPurposes": ["analytics"]}}), "denied"),
    ("_ketch_consent_v1_=" + b64({"ads_tt": {"status": "granted", "canonicalPurposes": ["behavioral_advertising"]},
                                  "essential_services": {"status": "granted"}}), "granted"),
    # Google Funding Choices without a TC string (its US-only and older shapes): nothing to read
    ("FCCDCF=" + quote(json.dumps([None] * 6 + [[[32, "[\"286a83c8-9bfc-4d58\",[1778909967,846000000]]"]]])),
     "unknown"),
    ("FCCDCF=" + quote(json.dumps([["AKsRol_pJ3DLnSj264g1oKFQ=="], None, ["[[],[],[],[],null,null,true]", 1615730142251]])),
     "unknown"),
    ("FCNEC=" + quote(json.dumps([["AKsRol-xtdt7FOag2KJ2BASbBn5ZpVVUUYINZJkZwy2"]])), "unknown"),
    (f"CONSENTMGR=c1:1|c3:1|consent:true|ts:{int(NOW * 1000)}", "granted"),
    ("CONSENTMGR=c1:1|c3:0|consent:true", "denied"),
    ("CONSENTMGR=consent:false", "denied"),
    (f"CONSENTMGR=c3:1|consent:true|ts:{int((NOW - 400 * DAY) * 1000)}", "unknown"),
    ("orejime=" + quote(json.dumps({"tiktok": True, "analytics": False})), "granted"),
    ("orejime=" + quote(json.dumps({"tiktok": False})), "denied"),
    ("FCCDCF=" + quote(json.dumps([None, None, None, [fresh_tc(GRANTED_TC), "2~~dv.1"], None, None,
                                   [[32, "[\"abc\",[1700000000,0]]"]]])), "granted"),
    ("FCCDCF=" + quote(json.dumps([None, None, None, [fresh_tc(DENIED_TC), "2~~dv.1"]])), "denied"),
    ("FCCDCF=" + quote(json.dumps([None, None, None, [fresh_tc(GRANTED_TC, NOW - 400 * DAY)]])), "unknown"),
    ("FCCDCF=%5Bnull%5D", "unknown"),
    ("notice_gdpr_prefs=garbage", "unknown"),
    # Cookie Information (as on live Nordic sites): approved / denied category lists and a timestamp
    (cookie_info(["cookie_cat_necessary", "cookie_cat_functional", "cookie_cat_statistic", "cookie_cat_marketing"]),
     "granted"),
    (cookie_info(["cookie_cat_necessary"], ["cookie_cat_functional", "cookie_cat_statistic", "cookie_cat_marketing"]),
     "denied"),
    (cookie_info(["cookie_cat_necessary", "cookie_cat_statistic"]), "denied"),  # marketing not among the accepted
    (cookie_info(["cookie_cat_marketing"], when=NOW - 400 * DAY), "unknown"),
    (cookie_info([]), "unknown"),
    # Commanders Act TrustCommander: both documented layouts; no site category ids configured
    (f"TC_PRIVACY=0@002|12|3441@1%2C2%2C3%2C4@@{MS}@{MS}", "granted"),  # accepted every category
    (f"TC_PRIVACY=0@002|12|3441@1%2C3@4@{MS}@{MS}", "unknown"),  # one refused: which one is ads is per site
    (f"TC_PRIVACY=1@012|26|4221@@4@{MS}@{MS}", "denied"),  # opted out
    (f"TC_PRIVACY=0@008|2|2|42@12@34@1%2C2@@{MS},{MS},{MS + 10**10}", "granted"),
    (f"TC_PRIVACY=0@008@12@34@ALL@@{MS},{MS},{MS + 10**10}", "denied"),
    (f"TC_PRIVACY=0@008@12@34@1%2C2@@{MS},{MS},{MS - 10**9}", "unknown"),  # past its own expiry
    ("TC_PRIVACY=0@002|12|3441@1%2C2@@1592900933049@1592900933049", "unknown"),  # a 2020 choice: too old
    ("TC_PRIVACY=" + quote(f"0@002|12|3441@1,2@@{MS}@{MS}", safe=""), "granted"),  # all of it encoded
    ("TC_PRIVACY=garbage", "unknown"),
    # Usercentrics: its usual cookie records no choice; a cookie copy of its settings does
    ("uc_settings=" + quote(json.dumps({"controllerId": "1bef0918490e08b1", "id": "Tr_3B1GDkkB1q2",
                                        "language": "de"})), "unknown"),
    ("uc_settings=" + quote(json.dumps({"controllerId": "1bef", "id": "Tr_3B1", "services": [
        {"id": "HkocEodjb7", "name": "Google Analytics", "status": True},
        {"id": "Ahn2f7bYq", "name": "TikTok Pixel", "status": True}]})), "granted"),
    ("uc_settings=" + quote(json.dumps({"services": [{"id": "Ahn2f7bYq", "name": "TikTok Pixel", "status": False}]})),
     "denied"),
    ("uc_tcf=" + quote(json.dumps({"acString": "", "tcString": fresh_tc(GRANTED_TC), "timestamp": int(NOW * 1000)})),
     "granted"),
    ("uc_tcf=" + quote(json.dumps({"acString": "", "tcString": "", "timestamp": int(NOW * 1000)})), "unknown"),
    ("osano_consentmanager=not-base64!", "unknown"),
])
def test_more_cmps(cookie, state):
    assert verdict(cookie) == state


def encode_tc(purposes: list[int], vendors: list[int], restrictions: list[tuple[int, int, list[int]]] = (),
              when: float = NOW, li_purposes: list[int] = (), li_vendors: list[int] = ()) -> str:
    """A TC string core segment built field by field (IAB's layout), with publisher restrictions."""
    bits: list[str] = []

    def put(value: int, width: int) -> None:
        bits.append(format(value, f"0{width}b"))

    ds = int(when * 10)
    put(2, 6), put(ds, 36), put(ds, 36), put(10, 12), put(2, 12), put(1, 6), put(4 * 64 + 13, 12)  # EN
    put(150, 12), put(4, 6), put(0, 1), put(0, 1), put(0, 12)
    put(sum(1 << (24 - p) for p in purposes), 24), put(sum(1 << (24 - p) for p in li_purposes), 24)
    put(0, 1), put(5 * 64 + 17, 12)  # FR
    max_v = max(vendors, default=0)
    put(max_v, 16), put(0, 1)
    bits.append("".join("1" if v in vendors else "0" for v in range(1, max_v + 1)))
    max_li = max(li_vendors, default=0)  # vendor legitimate interest, as a bitfield
    put(max_li, 16), put(0, 1)
    bits.append("".join("1" if v in li_vendors else "0" for v in range(1, max_li + 1)))
    put(len(restrictions), 12)
    for purpose, rtype, ids in restrictions:
        put(purpose, 6), put(rtype, 2), put(len(ids), 12)
        for v in ids:
            put(0, 1), put(v, 16)
    s = "".join(bits)
    s += "0" * (-len(s) % 6)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(alphabet[int(s[i:i + 6], 2)] for i in range(0, len(s), 6))


TT = ConsentEngine(ConsentSettings(tcf_vendor_ids=(42,)))


@pytest.mark.parametrize(("tc", "state"), [
    (encode_tc([1, 7], [42]), "granted"),
    (encode_tc([1, 7], [41, 43]), "denied"),                                   # TikTok's vendor not consented
    (encode_tc([1, 7], [42], [(7, 0, [42])]), "denied"),                       # publisher disallows purpose 7
    (encode_tc([1, 7], [42], [(7, 0, [41])]), "granted"),                      # … for another vendor
    (encode_tc([1, 7], [42], [(3, 0, [42])]), "granted"),                      # … for a purpose we do not use
    (encode_tc([1, 7], [42], [(7, 1, [42])]), "granted"),                      # "require consent": it is given
    (encode_tc([1], [42], [(7, 2, [42])], li_purposes=[7], li_vendors=[42]), "granted"),  # "require LI": set
    (encode_tc([1, 7], [42], [(7, 2, [42])], li_purposes=[7], li_vendors=[41]), "denied"),  # objected to
    (encode_tc([1, 7], [42], [(7, 2, [42])]), "denied"),                        # LI not established
    (encode_tc([1], [42]), "denied"),
    (encode_tc([1, 7], [42], when=NOW - 400 * DAY), "unknown"),
])
def test_tcf_vendor_and_publisher_restrictions(tc, state):
    assert verdict(f"euconsent-v2={tc}", TT) == state


def test_without_vendor_ids_only_purposes_decide():
    assert verdict(f"euconsent-v2={encode_tc([1, 7], [41])}", ConsentEngine(ConsentSettings(tcf_vendor_ids=()))) \
        == "granted"


@pytest.mark.parametrize(("tc", "state"), [
    (encode_tc([1, 7], [986]), "granted"),
    (encode_tc([1, 7], [985, 987]), "denied"),  # every purpose, every vendor but TikTok
    (encode_tc([1, 7], []), "denied"),
])
def test_by_default_tiktok_986_must_be_a_consented_vendor(tc, state):
    assert verdict(f"euconsent-v2={tc}") == state


@pytest.mark.parametrize(("cookie", "state"), [
    ("notice_gdpr_prefs=0,1,2:", "denied"),  # three of four accepted: advertising (3) is not
    ("notice_gdpr_prefs=0,1,2,3:", "granted"),
    ("notice_preferences=2:", "denied"),
    ("notice_preferences=3:", "granted"),
    ("cmapi_cookie_privacy=permit 1,2,3", "denied"),
    ("cmapi_cookie_privacy=permit 1,2,3,4", "granted"),
])
def test_trustarc_advertising_category_is_configurable(cookie, state):
    assert verdict(cookie, ConsentEngine(ConsentSettings(trustarc_category=3))) == state


@pytest.mark.parametrize(("cookie", "state"), [
    (f"TC_PRIVACY=0@002|12|3441@1%2C3@4@{MS}@{MS}", "granted"),  # 3 is the site's advertising category
    (f"TC_PRIVACY=0@002|12|3441@1%2C4@3@{MS}@{MS}", "denied"),
    (f"TC_PRIVACY=0@002|12|3441@1@@{MS}@{MS}", "unknown"),
])
def test_commanders_act_site_categories(cookie, state):
    assert verdict(cookie, ConsentEngine(ConsentSettings(commandersact_categories=("3",)))) == state


# --- site platforms and plugins: values as their own scripts write them (docs/consent.md) -----

def _json(obj: object) -> str:
    return quote(json.dumps(obj, separators=(",", ":")), safe="")


@pytest.mark.parametrize(("cookie", "state"), [
    # HubSpot's banner: 1 analytics, 2 advertisement, 3 functionality
    ("__hs_cookie_cat_pref=1:true,2:true,3:true", "granted"),
    ("__hs_cookie_cat_pref=1:true,2:false,3:true", "denied"),
    ("__hs_cookie_cat_pref=1:true_2:true_3:true", "granted"),  # the `_`-separated copies
    ("__hs_cookie_cat_pref=1:true,3:true", "unknown"),
    ("__hs_opt_out=yes", "denied"),
    ("__hs_opt_out=no", "unknown"),  # accepted HubSpot's own tracking: nothing about advertising
    ("__hs_cookie_cat_pref=1:true,2:true,3:true; __hs_opt_out=yes", "denied"),
    # BigCommerce: 2 functional, 3 analytics, 4 targeting/advertising
    ("bc_consent=%7B%22allow%22%3A%5B3%2C4%2C2%5D%2C%22deny%22%3A%5B%5D%7D", "granted"),
    ("bc_consent=" + _json({"allow": [2, 3], "deny": [4]}), "denied"),
    ("bc_consent=" + _json({"allow": [2, 3], "deny": []}), "unknown"),
    # Wix: advertising and data to third parties
    ("consent-policy=%7B%22ess%22%3A1%2C%22func%22%3A1%2C%22anl%22%3A1%2C%22adv%22%3A1%2C%22dt3%22%3A1%2C%22ts%22"
     "%3A29493585%7D", "granted"),
    ("consent-policy=" + _json({"ess": 1, "func": 1, "anl": 1, "adv": 0, "dt3": 1, "ts": 29493585}), "denied"),
    ("consent-policy=" + _json({"ess": 1, "func": 1, "anl": 1, "adv": 1, "dt3": 0, "ts": 29493585}), "denied"),
    ("consent-policy=" + _json({"ess": 1, "ts": 29493585}), "unknown"),
    # CookieScript: `categories` is JSON text inside the JSON
    ("CookieScriptConsent=" + _json({"action": "accept", "categories": '["targeting","performance"]'}), "granted"),
    ("CookieScriptConsent=" + _json({"bannershown": 1, "action": "accept", "consenttime": 1718365738,
                                     "categories": ["performance", "targeting"]}), "granted"),
    ("CookieScriptConsent=" + _json({"action": "accept", "categories": '["performance"]'}), "denied"),
    ("CookieScriptConsent=" + _json({"action": "reject", "categories": "[]"}), "denied"),
    ("CookieScriptConsent=" + _json({"bannershown": 1}), "unknown"),
    # GDPR Cookie Compliance (Moove): `advanced` by default
    ('moove_gdpr_popup={"strict":"1","thirdparty":"1","advanced":"1","version":"1"}', "granted"),
    ("moove_gdpr_popup=%7B%22strict%22%3A%221%22%2C%22thirdparty%22%3A%220%22%2C%22advanced%22%3A%220%22%7D", "denied"),
    ("moove_gdpr_popup=" + _json({"strict": "1", "thirdparty": "1"}), "unknown"),
    # Segment's consent manager
    ("tracking-preferences={%22version%22:1%2C%22destinations%22:{}%2C%22custom%22:{%22marketingAndAnalytics%22:true"
     "%2C%22advertising%22:true%2C%22functional%22:true}}", "granted"),
    ("tracking-preferences=" + _json({"version": 1, "destinations": {},
                                      "custom": {"marketingAndAnalytics": True, "advertising": False}}), "denied"),
    ("tracking-preferences=" + _json({"version": 1, "destinations": {"TikTok Conversions": False},
                                      "custom": {"advertising": True}}), "denied"),
    # Cookie Notice: one button for every cookie
    ("cookie_notice_accepted=true", "granted"),
    ("cookie_notice_accepted=false", "denied"),
    # consentmanager.net: its TC string under the site's id (TikTok 986 a consented vendor or not)
    (f"__cmpcc=1; __cmpconsentx17155={fresh_tc(GRANTED_TC)}; __cmpcccx17155=aBP9ASYwAAgAzA", "granted"),
    (f"__cmpconsent40263={fresh_tc(DENIED_TC)}", "denied"),
    ("__cmpconsentx40263=BPuKNGaPuKNGaAfEHBFIABAAAAA_mABAfyA", "unknown"),  # TCF v1
])
def test_site_platforms_and_plugins(cookie: str, state: str) -> None:
    assert verdict(cookie) == state


DAY_MS = 86_400_000
ISO = datetime.datetime.fromtimestamp(NOW - 86_400, datetime.UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(("cookie", "state"), [
    # Civic Cookie Control: categories named by each site, as captured on live sites
    ('CookieControl={"necessaryCookies":["UMB*","ARRAffinity"],"optionalCookies":{"analytics":"accepted",'
     f'"Marketing":"accepted"}},"statement":{{}},"consentDate":{MS - DAY_MS},"consentExpiry":90,"interactedWith":true,'
     '"user":"711856A6-6CBD-42BF-B919-DDE749B2939D"}', "granted"),
    ('CookieControl={"optionalCookies":{"performance":"accepted","functionality":"accepted","targetting":"accepted"},'
     f'"initialState":{{"type":"notify","action":"accepted"}},"consentDate":{MS},"consentExpiry":365}}', "granted"),
    ("CookieControl=" + _json({"optionalCookies": {"analytics": "accepted", "advertising": "revoked"},
                               "consentDate": MS, "consentExpiry": 90, "interactedWith": True}), "denied"),
    ("CookieControl=" + _json({"optionalCookies": {"Statistika": "accepted", "Marketings": "revoked"},
                               "consentDate": MS, "consentExpiry": 365}), "denied"),
    # its own expiry passed (90 days after consentDate), or no advertising category at all
    ("CookieControl=" + _json({"optionalCookies": {"marketing": "accepted"}, "consentDate": MS - 91 * DAY_MS,
                               "consentExpiry": 90}), "unknown"),
    ("CookieControl=" + _json({"necessaryCookies": [], "optionalCookies": {}, "consentDate": MS,
                               "consentExpiry": 90, "interactedWith": True}), "unknown"),
    ("CookieControl=" + _json({"optionalCookies": {"analytics": "accepted"}, "consentDate": MS}), "unknown"),
    # orestbida's CookieConsent: v3 lists accepted categories, with its own expiry; v2 `level`
    ("cc_cookie=" + _json({"categories": ["necessary", "analytics", "ads"], "revision": 0, "data": None,
                           "consentTimestamp": ISO, "consentId": "0f4e", "services": {"ads": []},
                           "languageCode": "en", "lastConsentTimestamp": ISO, "expirationTime": MS + 100 * DAY_MS}),
     "granted"),
    ("cc_cookie=" + _json({"categories": ["necessary", "analytics"], "consentTimestamp": ISO,
                           "expirationTime": MS + DAY_MS}), "denied"),
    ("cc_cookie=" + _json({"categories": ["necessary", "marketing"], "consentTimestamp": ISO,
                           "expirationTime": MS - DAY_MS}), "unknown"),
    ('cc_cookie={"level":["necessary","targeting"],"revision":0,"data":null,"rfc_cookie":false}', "granted"),
    ("cc_cookie=" + _json({"level": ["necessary"], "revision": 0, "data": None, "rfc_cookie": True}), "denied"),
    # Osano's open-source Cookie Consent (cookieconsent2/3): dismiss only closed a notice
    ("cookieconsent_status=allow", "granted"),
    ("cookieconsent_status=deny", "denied"),
    ("cookieconsent_status=dismiss", "unknown"),
    ("cookieconsent_status_MARKETING=DENY", "denied"),
    # Drupal's EU Cookie Compliance: status, and the accepted categories where the site has them
    ("cookie-agreed=2", "granted"),
    ("cookie-agreed=0", "denied"),
    ("cookie-agreed=2; cookie-agreed-categories=%5B%22essential%22%2C%22marketing%22%5D", "granted"),
    ('cookie-agreed-version=1.0.0; cookie-agreed-categories=["functional"]; cookie-agreed=2', "denied"),
])
def test_site_named_categories(cookie: str, state: str) -> None:
    assert verdict(cookie) == state


def test_dismissed_notice_is_a_grant_only_in_an_opt_out_regime() -> None:
    assert verdict("cookieconsent_status=dismiss", ConsentEngine(ConsentSettings(opt_out_regime=True))) == "granted"


@pytest.mark.parametrize(("name", "words", "advertising"), [
    ("Marketing", (), True), ("marketing_cookies", (), True), ("Targetting", (), True), ("ads", (), True),
    ("Werbung", (), True), ("publicité", (), True), ("Reklamowe", (), True), ("advertisement", (), True),
    ("analytics", (), False), ("statistics", (), False), ("functional", (), False), ("address", (), False),
    ("social_media", (), False), ("social_media", ("social",), True),
])
def test_advertising_categories_by_their_words(name: str, words: tuple[str, ...], advertising: bool) -> None:
    settings = ConsentSettings(ad_categories=words) if words else ConsentSettings()
    assert ad_category(name, settings.ad_categories) is advertising


def test_moove_sections_are_configurable() -> None:
    thirdparty = ConsentEngine(ConsentSettings(moove_categories=["thirdparty"]))
    cookie = 'moove_gdpr_popup={"strict":"1","thirdparty":"1","advanced":"0"}'
    assert (verdict(cookie), verdict(cookie, thirdparty)) == ("denied", "granted")
