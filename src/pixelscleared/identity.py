"""Identity: the `user` match parameters an event may carry, by the product's consent rule.

granted → IP (hashed by default), user agent, locale (Accept-Language), hashed external ID (+ ttclid/ttp
when opted in);
denied or unknown → hashed IP only and `limited_data_use: true` (the minimal payload hashes
the IP even when `identity.ip: plain`; `omit` still omits it).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from pixelscleared.consent import Verdict
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.model import Settings, cookie_name, networks

_HEX64 = re.compile(r"[a-f0-9]{64}")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 32  # a longer forwarding chain is forged or broken: stop walking
TTCLID_COOKIE, TTCLID_MAX_AGE_S = "ttclid", 30 * 86_400  # as TikTok's own tag keeps it
TTP_COOKIE, TTP_MAX_AGE_S = "_ttp", 395 * 86_400
_CLICK_ID = re.compile(r"[A-Za-z0-9._~+/=-]{1,512}")  # what may stand in a cookie value unquoted


class IdentitySettings(Settings):
    """The `identity:` section: how the client IP and external ID are derived."""

    ip: Literal["sha256", "plain", "omit"] = "sha256"
    trusted_proxies: list[str] = Field(default_factory=list)
    salt: SecretStr = SecretStr("")
    session_cookie: str = ""
    visitor_cookie: str = ""  # set by the sidecar after consent when there is no session cookie
    visitor_cookie_max_age_days: int = Field(395, ge=1, le=400)  # ~13 months; browsers cap at 400
    # TikTok's click id and browser id, sent as match keys only when on. With consent granted the
    # sidecar also keeps them in first-party cookies (the ones TikTok's own tag uses): `ttclid`
    # from a landing URL for 30 days, a `_ttp` id kept or created for 13 months.
    send_ttclid: bool = False
    send_ttp: bool = False

    _cookie_names = field_validator("session_cookie", "visitor_cookie")(cookie_name)
    _networks = field_validator("trusted_proxies")(networks)


def sha256_hex(value: str) -> str:
    """SHA-256 hex of a value, leaving an already-hashed value alone (no double hashing)."""
    if _HEX64.fullmatch(value):
        return value
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def client_ip(facts: RequestFacts, trusted: tuple[Network, ...]) -> str:
    """The visitor's IP: the TCP peer, or — only when the peer is a trusted proxy — the nearest
    untrusted hop of `Forwarded` (RFC 7239, preferred) or `X-Forwarded-For`.

    Hops are walked from the right (the ones our trusted proxies appended); an unparseable or
    obfuscated hop stops the walk and the peer is used, since nothing left of it can be trusted.
    """
    peer = _parse_ip(facts.peer_ip)
    if peer is None:
        return facts.peer_ip.strip()
    if not trusted or not _in(peer, trusted):
        return str(peer)
    if fwd := facts.headers.get("forwarded", ""):
        hops = forwarded_for(fwd)
    else:
        hops = [h for h in facts.headers.get("x-forwarded-for", "").split(",")[-MAX_HOPS:] if h.strip()]
    for hop in reversed(hops[-MAX_HOPS:]):
        ip = _parse_ip(hop)
        if ip is None:
            break
        if not _in(ip, trusted):
            return str(ip)
    return str(peer)


def forwarded_for(header: str) -> list[str]:
    """The `for=` node of each RFC 7239 element, in order ("" when an element has none)."""
    nodes: list[str] = []
    for element in header.split(",")[-MAX_HOPS:]:
        node = ""
        for pair in element.split(";"):
            key, sep, value = pair.partition("=")
            if sep and key.strip().lower() == "for":
                node = value.strip().strip('"')
        nodes.append(node)
    return nodes


@lru_cache(maxsize=8192)  # asked for every event, about the same few proxies and visitors
def _in(ip: IPAddress, nets: tuple[Network, ...]) -> bool:
    return any(ip in net for net in nets)


@lru_cache(maxsize=8192)  # the same visitors and proxies over and over; parsing costs ~10 µs
def _parse_ip(text: str) -> IPAddress | None:
    """An IP from a header hop: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`, `2001:db8::1`."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def preferred_locale(accept_language: str) -> str:
    """The browser's first language as a BCP 47 tag (`de-DE,de;q=0.9` → `de-DE`), or ""."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().replace("_", "-")
    return first if len(first) <= 35 and _LOCALE.fullmatch(first) else ""


def cookie_value(cookie_header: str, name: str) -> str:
    """First value of a cookie. Split on `;` only: CMP values hold `,` and `=` (OneTrust, CookieYes)."""
    for part in cookie_header.split(";"):
        k, sep, v = part.partition("=")
        if sep and k.strip() == name:
            v = v.strip()
            return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v
    return ""


class IdentityResolver:
    """Parsed once from `identity:`; answers per event without touching the network or disk."""

    def __init__(self, settings: IdentitySettings):
        self.settings = settings
        self.trusted = tuple(ipaddress.ip_network(c, strict=False) for c in settings.trusted_proxies)
        self._salt = settings.salt.get_secret_value()

    def __repr__(self) -> str:  # never the salt
        return f"IdentityResolver(ip={self.settings.ip!r}, trusted={len(self.trusted)} networks)"

    def is_trusted_proxy(self, peer: str) -> bool:
        ip = _parse_ip(peer) if self.trusted else None
        return ip is not None and _in(ip, self.trusted)

    def visitor_scheme(self, facts: RequestFacts) -> str:
        """The scheme the visitor used: ours, or what a trusted proxy that terminated TLS says."""
        if facts.scheme != "https" and self.is_trusted_proxy(facts.peer_ip):
            said = facts.headers.get("x-forwarded-proto", "").partition(",")[0].strip().lower()
            if said in ("http", "https"):
                return said
        return facts.scheme

    def external_id(self, cookie_header: str) -> str:
        """SHA-256 of salt + the session (else visitor) cookie; "" without a salt or a cookie."""
        if not self._salt:
            return ""  # an unsalted hash of a session id would be a replayable identifier
        for name in (self.settings.session_cookie, self.settings.visitor_cookie):
            if name and (value := cookie_value(cookie_header, name)):
                return hashlib.sha256((self._salt + value).encode("utf-8", "surrogatepass")).hexdigest()
        return ""

    def user(self, verdict: Verdict, facts: RequestFacts, event: CapturedEvent) -> tuple[dict[str, str], bool]:
        """Return (`user` object, `limited_data_use`) for TikTok."""
        user: dict[str, str] = {}
        granted = verdict.state == "granted"
        ip = client_ip(facts, self.trusted)
        if ip and self.settings.ip != "omit":
            user["ip"] = ip if granted and self.settings.ip == "plain" else sha256_hex(ip)
        if not granted:
            return user, True
        if facts.user_agent:
            user["user_agent"] = facts.user_agent
        if locale := preferred_locale(facts.headers.get("accept-language", "")):
            user["locale"] = locale
        if external := self.external_id(facts.cookie_header):
            user["external_id"] = external
        if self.settings.send_ttclid and (ttclid := event.ttclid or self._ttclid_cookie(facts)):
            user["ttclid"] = ttclid
        if self.settings.send_ttp and (ttp := cookie_value(facts.cookie_header, "_ttp")):
            user["ttp"] = ttp
        return user, False

    def cookies_to_set(self, verdict: Verdict, facts: RequestFacts, landing_ttclid: str = "") -> list[str]:
        """`Set-Cookie` values for the sidecar's first-party ids, only after consent: the visitor id,
        the landing URL's `ttclid`, a `_ttp` browser id. The proxy glue adds them to a page."""
        if verdict.state != "granted":
            return []
        secure = "; Secure" if self.visitor_scheme(facts) == "https" else ""
        out = []
        if visitor := self.visitor_cookie_to_set(verdict, facts):
            out.append(visitor)
        if self.settings.send_ttclid and _CLICK_ID.fullmatch(landing_ttclid) \
                and landing_ttclid != self._ttclid_cookie(facts):  # a new ad click replaces the old one
            out.append(f"{TTCLID_COOKIE}={landing_ttclid}; Max-Age={TTCLID_MAX_AGE_S}; Path=/; SameSite=Lax{secure}")
        if self.settings.send_ttp and not cookie_value(facts.cookie_header, TTP_COOKIE):
            out.append(f"{TTP_COOKIE}={secrets.token_urlsafe(20)}; Max-Age={TTP_MAX_AGE_S}; Path=/; SameSite=Lax{secure}")
        return out

    def _ttclid_cookie(self, facts: RequestFacts) -> str:
        value = cookie_value(facts.cookie_header, TTCLID_COOKIE)
        return value if _CLICK_ID.fullmatch(value) else ""

    def visitor_cookie_to_set(self, verdict: Verdict, facts: RequestFacts) -> str | None:
        """A `Set-Cookie` value for a new first-party visitor id, or None.

        Only after consent, only when configured, and only when the visitor has neither the
        site's session cookie nor ours. The proxy glue adds it to the response.
        """
        name = self.settings.visitor_cookie
        if verdict.state != "granted" or not name:
            return None
        header = facts.cookie_header
        if cookie_value(header, name) or (self.settings.session_cookie
                                          and cookie_value(header, self.settings.session_cookie)):
            return None
        max_age = self.settings.visitor_cookie_max_age_days * 86_400
        secure = "; Secure" if self.visitor_scheme(facts) == "https" else ""
        return f"{name}={secrets.token_urlsafe(18)}; Max-Age={max_age}; Path=/; SameSite=Lax; HttpOnly{secure}"
