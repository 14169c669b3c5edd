"""Identity: the `user` match parameters an event may carry, by the product's consent rule.

granted → hashed IP, user agent, hashed external ID (+ ttclid/ttp when opted in);
denied or unknown → hashed IP only and `limited_data_use: true`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from pixelscleared.config import Identity
from pixelscleared.consent import Verdict
from pixelscleared.event import CapturedEvent, RequestFacts

_HEX64 = re.compile(r"[a-f0-9]{64}")


def sha256_hex(value: str) -> str:
    """SHA-256 hex of a value, leaving an already-hashed value alone (no double hashing)."""
    if _HEX64.fullmatch(value):
        return value
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def client_ip(facts: RequestFacts, trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The TCP peer, or the nearest untrusted X-Forwarded-For hop when the peer is trusted."""
    peer = _parse_ip(facts.peer_ip)
    if peer is None or not trusted or not any(peer in net for net in trusted):
        return facts.peer_ip
    hops = [h.strip() for h in facts.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _parse_ip(hop)
        if ip is None:
            break
        if not any(ip in net for net in trusted):
            return str(ip)
    return facts.peer_ip


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def cookie_value(cookie_header: str, name: str) -> str:
    """First value of a cookie; split on `;` only (consent-signals.md)."""
    for part in cookie_header.split(";"):
        k, sep, v = part.strip().partition("=")
        if sep and k == name:
            return v.strip()
    return ""


class IdentityResolver:
    """Parsed once from `identity:`; answers per event without touching the network or disk."""

    def __init__(self, settings: Identity):
        self.settings = settings
        self.trusted = [ipaddress.ip_network(c, strict=False) for c in settings.trusted_proxies]
        self._salt = settings.salt.get_secret_value()

    def user(self, verdict: Verdict, facts: RequestFacts, event: CapturedEvent) -> tuple[dict[str, str], bool]:
        """Return (`user` object, `limited_data_use`) for TikTok."""
        user: dict[str, str] = {}
        ip = client_ip(facts, self.trusted)
        if ip and self.settings.ip != "omit":
            user["ip"] = sha256_hex(ip) if self.settings.ip == "sha256" else ip
        if verdict.state != "granted":
            return user, True
        if facts.user_agent:
            user["user_agent"] = facts.user_agent
        session = ""
        for name in (self.settings.session_cookie, self.settings.visitor_cookie):
            if name and (session := cookie_value(facts.cookie_header, name)):
                break
        if session and self._salt:
            user["external_id"] = hashlib.sha256((self._salt + session).encode()).hexdigest()
        if self.settings.send_ttclid and event.ttclid:
            user["ttclid"] = event.ttclid
        if self.settings.send_ttp and (ttp := cookie_value(facts.cookie_header, "_ttp")):
            user["ttp"] = ttp
        return user, False
