from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pixelscleared.consent import Verdict
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.identity import (
    IdentityResolver,
    IdentitySettings,
    client_ip,
    cookie_value,
    forwarded_for,
    sha256_hex,
)

GRANTED = Verdict("granted", ("cmplz:cmplz_marketing",))
DENIED = Verdict("denied", ("gpc:Sec-GPC",))
UNKNOWN = Verdict("unknown")
SALT = "s3cr3t-salt-value"


def facts(peer="203.0.113.7", cookie="", scheme="https", **headers):
    h = {"user-agent": "Mozilla/5.0 Test"} | {k.replace("_", "-"): v for k, v in headers.items()}
    return RequestFacts(peer_ip=peer, headers=h, cookie_header=cookie, url="https://shop.example/", scheme=scheme)


def event(ttclid=""):
    return CapturedEvent(name="ViewContent", event_id="e1", event_time=1_700_000_000, source="collect", ttclid=ttclid)


def resolver(**kw):
    return IdentityResolver(IdentitySettings(**({"salt": SALT, "session_cookie": "sess"} | kw)))


def h(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


# -- forwarding rule -----------------------------------------------------------------------

COOKIE = "sess=abc123; _ttp=2Xyz_TTP; other=1"


@pytest.mark.parametrize("verdict", [DENIED, UNKNOWN])
@pytest.mark.parametrize("ip_mode", ["sha256", "plain"])
def test_denied_or_unknown_is_minimal(verdict, ip_mode):
    r = resolver(ip=ip_mode, send_ttclid=True, send_ttp=True)
    user, limited = r.user(verdict, facts(cookie=COOKIE), event(ttclid="E.C.P.123"))
    assert user == {"ip": h("203.0.113.7")}  # hashed even when plain is configured
    assert limited is True


def test_granted_is_full():
    r = resolver(send_ttclid=True, send_ttp=True)
    user, limited = r.user(GRANTED, facts(cookie=COOKIE), event(ttclid="E.C.P.123"))
    assert user == {"ip": h("203.0.113.7"), "user_agent": "Mozilla/5.0 Test",
                    "external_id": h(SALT + "abc123"), "ttclid": "E.C.P.123", "ttp": "2Xyz_TTP"}
    assert limited is False


@pytest.mark.parametrize("kw, missing", [
    ({}, {"ttclid", "ttp"}),                          # matching signals are opt-in
    ({"send_ttclid": True}, {"ttp"}),
    ({"send_ttp": True}, {"ttclid"}),
    ({"salt": ""}, {"external_id", "ttclid", "ttp"}),  # never an unsalted hash
    ({"session_cookie": ""}, {"external_id", "ttclid", "ttp"}),
])
def test_granted_optional_fields(kw, missing):
    user, _ = resolver(**kw).user(GRANTED, facts(cookie=COOKIE), event(ttclid="E.C.P.123"))
    assert {"ip", "user_agent", "external_id", "ttclid", "ttp"} - set(user) == missing


@pytest.mark.parametrize("mode, verdict, expect", [
    ("sha256", GRANTED, h("203.0.113.7")),
    ("plain", GRANTED, "203.0.113.7"),
    ("omit", GRANTED, None),
    ("omit", DENIED, None),
])
def test_ip_modes(mode, verdict, expect):
    user, _ = resolver(ip=mode).user(verdict, facts(), event())
    assert user.get("ip") == expect


def test_external_id_falls_back_to_visitor_cookie():
    r = resolver(visitor_cookie="pc_vid")
    assert r.user(GRANTED, facts(cookie="pc_vid=V1"), event())[0]["external_id"] == h(SALT + "V1")
    assert r.user(GRANTED, facts(cookie="pc_vid=V1; sess=S1"), event())[0]["external_id"] == h(SALT + "S1")
    assert "external_id" not in r.user(GRANTED, facts(cookie="x=1"), event())[0]


@pytest.mark.parametrize("header, locale", [
    ("de-DE,de;q=0.9,en;q=0.8", "de-DE"),
    ("en", "en"),
    ("pt_BR", "pt-BR"),
    ("zh-Hant-TW;q=1", "zh-Hant-TW"),
    ("*", ""),
    ("", ""),
    ("de-DE<script>", ""),
    ("x" * 40, ""),
])
def test_locale_from_accept_language_with_consent_only(header, locale):
    f = RequestFacts(peer_ip="203.0.113.7", headers={"accept-language": header})
    assert resolver().user(GRANTED, f, event())[0].get("locale", "") == locale
    assert "locale" not in resolver().user(DENIED, f, event())[0]


def test_no_user_agent_header():
    f = RequestFacts(peer_ip="203.0.113.7", headers={}, cookie_header="")
    assert resolver().user(GRANTED, f, event())[0] == {"ip": h("203.0.113.7")}


def test_salt_never_in_repr():
    r = resolver()
    assert SALT not in repr(r) and SALT not in repr(r.settings) and SALT not in str(r.__dict__.get("settings"))


# -- client IP -----------------------------------------------------------------------------

TRUSTED = ["10.0.0.0/8", "2001:db8:ffff::/48"]


@pytest.mark.parametrize("peer, headers, expect", [
    ("203.0.113.7", {"x-forwarded-for": "198.51.100.1"}, "203.0.113.7"),          # untrusted peer: header ignored
    ("10.0.0.2", {"x-forwarded-for": "198.51.100.1"}, "198.51.100.1"),
    ("10.0.0.2", {"x-forwarded-for": "6.6.6.6, 198.51.100.1, 10.0.0.9"}, "198.51.100.1"),  # nearest untrusted hop
    ("10.0.0.2", {"x-forwarded-for": "198.51.100.1:5555"}, "198.51.100.1"),
    ("10.0.0.2", {"x-forwarded-for": "garbage, 10.0.0.3"}, "10.0.0.2"),           # unparseable hop: stop
    ("10.0.0.2", {"x-forwarded-for": "10.0.0.3"}, "10.0.0.2"),                     # all trusted
    ("10.0.0.2", {}, "10.0.0.2"),
    ("::ffff:10.0.0.2", {"x-forwarded-for": "198.51.100.1"}, "198.51.100.1"),     # v4-mapped peer
    ("10.0.0.2", {"forwarded": "for=198.51.100.1;proto=https;by=10.0.0.2"}, "198.51.100.1"),
    ("10.0.0.2", {"forwarded": 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711", for=10.0.0.5'}, "2001:db8:cafe::17"),
    ("10.0.0.2", {"forwarded": 'For="198.51.100.1:8080"'}, "198.51.100.1"),
    ("10.0.0.2", {"forwarded": "for=_hidden, for=10.0.0.5"}, "10.0.0.2"),         # obfuscated node: stop
    ("10.0.0.2", {"forwarded": "for=unknown"}, "10.0.0.2"),
    ("10.0.0.2", {"forwarded": "for=198.51.100.1", "x-forwarded-for": "6.6.6.6"}, "198.51.100.1"),  # Forwarded first
    ("2001:db8:ffff::1", {"x-forwarded-for": "2001:db8:1::5"}, "2001:db8:1::5"),
    ("not-an-ip", {"x-forwarded-for": "198.51.100.1"}, "not-an-ip"),
])
def test_client_ip(peer, headers, expect):
    r = resolver(trusted_proxies=TRUSTED)
    assert client_ip(facts(peer=peer, **{k.replace("-", "_"): v for k, v in headers.items()}), r.trusted) == expect


@pytest.mark.parametrize("peer, trusted", [
    ("10.0.0.2", True), ("::ffff:10.0.0.2", True), ("2001:db8:ffff::1", True),
    ("203.0.113.7", False), ("", False), ("not-an-ip", False),
])
def test_is_trusted_proxy(peer, trusted):
    assert resolver(trusted_proxies=TRUSTED).is_trusted_proxy(peer) is trusted
    assert resolver().is_trusted_proxy(peer) is False  # none configured: nobody


def test_client_ip_without_trusted_proxies_is_the_peer():
    assert client_ip(facts(peer="10.0.0.2", x_forwarded_for="198.51.100.1"), []) == "10.0.0.2"


@pytest.mark.parametrize("header, nodes", [
    ("for=192.0.2.60;proto=http;by=203.0.113.43", ["192.0.2.60"]),
    ('for="_gazonk"', ["_gazonk"]),
    ("proto=https, FOR=1.2.3.4", ["", "1.2.3.4"]),
])
def test_forwarded_for(header, nodes):
    assert forwarded_for(header) == nodes


@settings(max_examples=250, deadline=None)
@given(xff=st.text(max_size=300), fwd=st.text(max_size=300))
def test_property_client_ip_never_raises(xff, fwd):
    f = RequestFacts(peer_ip="10.0.0.2", headers={"x-forwarded-for": xff, "forwarded": fwd})
    assert isinstance(client_ip(f, resolver(trusted_proxies=TRUSTED).trusted), str)


# -- helpers -------------------------------------------------------------------------------

@pytest.mark.parametrize("header, name, value", [
    ("a=1; b=2", "b", "2"),
    ("a=1;b=x=y", "b", "x=y"),
    ('a="quoted"', "a", "quoted"),
    ("a=1; a=2", "a", "1"),
    ("ab=1", "a", ""),
    ("", "a", ""),
])
def test_cookie_value(header, name, value):
    assert cookie_value(header, name) == value


def test_sha256_hex_does_not_double_hash():
    assert sha256_hex("1.2.3.4") == h("1.2.3.4")
    assert sha256_hex(h("1.2.3.4")) == h("1.2.3.4")


# -- visitor-id cookie ---------------------------------------------------------------------

SET_COOKIE = re.compile(r"pc_vid=[A-Za-z0-9_-]{24}; Max-Age=(\d+); Path=/; SameSite=Lax; HttpOnly(; Secure)?")


@pytest.mark.parametrize("verdict, cookie, kw, scheme, expect", [
    (GRANTED, "", {}, "https", "secure"),
    (GRANTED, "", {}, "http", "plain"),
    (GRANTED, "x=1", {}, "https", "secure"),
    (DENIED, "", {}, "https", None),
    (UNKNOWN, "", {}, "https", None),
    (GRANTED, "sess=abc", {}, "https", None),       # the site's session cookie is there
    (GRANTED, "pc_vid=old", {}, "https", None),     # ours is already there
    (GRANTED, "", {"visitor_cookie": ""}, "https", None),  # not configured
    (GRANTED, "", {"session_cookie": ""}, "https", "secure"),
])
def test_visitor_cookie_to_set(verdict, cookie, kw, scheme, expect):
    r = resolver(**({"visitor_cookie": "pc_vid"} | kw))
    got = r.visitor_cookie_to_set(verdict, facts(cookie=cookie, scheme=scheme))
    if expect is None:
        assert got is None
        return
    m = SET_COOKIE.fullmatch(got)
    assert m, got
    assert int(m.group(1)) == 395 * 86_400
    assert bool(m.group(2)) == (expect == "secure")


@pytest.mark.parametrize("peer, proto, secure", [
    ("10.0.0.2", "https", True),        # a trusted load balancer terminated TLS
    ("10.0.0.2", "HTTPS, http", True),  # the first (outermost) proxy's word
    ("10.0.0.2", "http", False),
    ("203.0.113.7", "https", False),    # anyone else's claim is not believed
])
def test_visitor_cookie_is_secure_behind_a_trusted_tls_proxy(peer, proto, secure):
    r = resolver(visitor_cookie="pc_vid", trusted_proxies=TRUSTED)
    got = r.visitor_cookie_to_set(GRANTED, facts(peer=peer, scheme="http", x_forwarded_proto=proto))
    assert got is not None and got.endswith("; Secure") is secure


def test_visitor_ids_are_random():
    r = resolver(visitor_cookie="pc_vid")
    ids = {r.visitor_cookie_to_set(GRANTED, facts()).split(";")[0] for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize("kw, message", [
    ({"visitor_cookie": "bad name"}, "is not a cookie name"),
    ({"session_cookie": "a;b"}, "is not a cookie name"),
    ({"visitor_cookie_max_age_days": 401}, "less than or equal to 400"),
])
def test_identity_settings_validation(kw, message):
    with pytest.raises(ValidationError, match=message):
        IdentitySettings(**kw)


# -- click id and browser id cookies (ttclid, _ttp) -----------------------------------------

CLICK = "E.C.P.CqgBdXRtX2NhbXBhaWdu-_~"


@pytest.mark.parametrize("verdict, cookie, landing, kw, expect", [
    (GRANTED, "", CLICK, {}, {"ttclid", "_ttp"}),
    (DENIED, "", CLICK, {}, set()),                       # no consent: no cookie at all
    (UNKNOWN, "", CLICK, {}, set()),
    (GRANTED, "", CLICK, {"send_ttclid": False}, {"_ttp"}),  # only what will be sent
    (GRANTED, "", CLICK, {"send_ttp": False}, {"ttclid"}),
    (GRANTED, f"ttclid={CLICK}; _ttp=kept", CLICK, {}, set()),  # the same click, a kept browser id
    (GRANTED, "ttclid=older; _ttp=kept", CLICK, {}, {"ttclid"}),  # a new ad click replaces the old
    (GRANTED, "_ttp=kept", "", {}, set()),                # no click id on this page
    (GRANTED, "_ttp=kept", "bad value;x=1", {}, set()),   # never a cookie header injection
    (GRANTED, "_ttp=kept", "x" * 513, {}, set()),
])
def test_click_and_browser_id_cookies(verdict, cookie, landing, kw, expect):
    r = resolver(**({"send_ttclid": True, "send_ttp": True} | kw))
    got = r.cookies_to_set(verdict, facts(cookie=cookie), landing)
    assert {c.partition("=")[0] for c in got} == expect
    for c in got:
        name = c.partition("=")[0]
        age = int(re.search(r"Max-Age=(\d+)", c).group(1))
        assert age == {"ttclid": 30, "_ttp": 395}[name] * 86_400
        assert c.endswith("; Path=/; SameSite=Lax; Secure")
        if name == "ttclid":
            assert c.startswith(f"ttclid={CLICK};")


def test_ttp_ids_are_random_and_ttclid_cookie_is_sent_later():
    r = resolver(send_ttclid=True, send_ttp=True)
    ids = {r.cookies_to_set(GRANTED, facts())[0] for _ in range(20)}
    assert len(ids) == 20
    # a later page without the click id in its URL: the cookie's click id and browser id go out
    user, _ = r.user(GRANTED, facts(cookie=f"ttclid={CLICK}; _ttp=abc"), event())
    assert user["ttclid"] == CLICK and user["ttp"] == "abc"
    user, _ = r.user(GRANTED, facts(cookie=f"ttclid={CLICK}"), event(ttclid="E.C.P.new"))
    assert user["ttclid"] == "E.C.P.new"  # the event's own click id wins
    user, _ = r.user(GRANTED, facts(cookie="ttclid=a b"), event())
    assert "ttclid" not in user  # a mangled cookie is not a click id
