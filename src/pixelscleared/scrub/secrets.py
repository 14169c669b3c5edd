"""Secrets in URLs that carry no telling name: decided by the value's shape and its key together.

A shop's order-status link (`?key=…`), a password-reset or magic-login link, a signed download
URL or a session id in a path parameter lets anyone holding it act as the visitor, and page URLs
are sent to TikTok with every event. Names like `token` are caught by the key rules; these are
the rest:

- a signing or session parameter (`sig`, `X-Amz-Signature`, `;jsessionid=`) whatever its value;
- a short or generic key (`key`, `k`, `t`, `u`, `code`, `hash`, `state`…) with an opaque value
  (letters and digits mixed, or a long hex string): `key=wc_order_AbC123`, `u=a8Kd93jLq…`;
- any key with a value that looks random (mixed case and digits throughout, like base64 of
  random bytes), unless the key is a known click or campaign id (`ttclid`, `gclid`, `utm_*`…);
- in a path with a secret word (`reset-password`, `unsubscribe`, `magic`, `authenticate`,
  `verify`…), any opaque segment, UUIDs included; elsewhere only random-looking segments.

Kept: UTM and click ids, UUIDs and hex hashes outside secret paths and keys (order and product
ids, analytics ids), numbers, and words (`SummerSale2026`).
"""

from __future__ import annotations

import functools
import re

from pixelscleared.scrub.settings import normalize_key

# Signing and session parameters: removed whatever the value.
SIGNING_KEYS: frozenset[str] = frozenset({
    "sig", "signature", "hmac", "xamzsignature", "xamzcredential", "xamzsecuritytoken", "xgoogsignature",
    "xgoogcredential", "policy", "keypairid", "jsessionid", "phpsessid", "aspsessionid", "cfid", "cftoken",
    "sessionid", "sessid", "otp", "ticket", "oauthtoken", "oauthverifier", "nonce",
})

# Short or generic keys that hold a secret when their value is opaque (at least this long):
# `code` is also a coupon (`SUMMER2026`), so only a long one counts.
GENERIC_KEYS: dict[str, int] = {
    **dict.fromkeys(("key", "k", "t", "tk", "u", "e", "h", "hash", "auth", "access", "state", "reset", "verify",
                     "verification", "confirm", "confirmation", "activation", "activate", "invite", "invitation",
                     "magic", "login", "lt", "sid", "uid64", "hmackey"), 8),
    "code": 16,
}

# Campaign and click ids ad platforms issue: identifiers of a click, not of a person, and what
# attribution needs. Kept whatever they look like.
CLICK_IDS: frozenset[str] = frozenset({
    "ttclid", "ttp", "gclid", "gclsrc", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "yclid", "twclid",
    "lifatid", "epik", "sccid", "srsltid", "gadsource", "gadcampaignid", "gl", "ga", "igshid", "irclickid",
    "rdtcid", "mccid", "obclid", "tblci", "vmcid", "clickid", "awc", "sskey", "campaignid", "adgroupid",
    "adid", "creativeid", "placement", "network", "matchtype", "device", "keyword", "fbp", "fbc",
})

# Path words that make the opaque segments beside them secrets.
SECRET_PATH_WORDS: frozenset[str] = frozenset({
    "reset", "resetpassword", "passwordreset", "password", "forgot", "forgotpassword", "token", "verify",
    "verification", "confirm", "confirmation", "confirmemail", "activate", "activation", "unsubscribe",
    "unsub", "optout", "magic", "magiclink", "login", "signin", "invite", "invitation", "auth",
    "authenticate", "session", "recover", "recovery", "setpassword", "newpassword", "onetime", "otp",
    "email", "preferences", "subscription", "manage", "download", "share", "access", "claim",
})

_TOKEN = re.compile(r"[A-Za-z0-9_\-.~+/=%]+")
_HEX = re.compile(r"[0-9a-fA-F]{16,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DIGITS = re.compile(r"[\d.,\-]+")
_WORDS = re.compile(r"[a-z]+")


_CLASSES = str.maketrans({**{c: "u" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
                          **{c: "l" for c in "abcdefghijklmnopqrstuvwxyz"},
                          **{c: "d" for c in "0123456789"}, **{c: None for c in "_-.~+/=%"}})
_RUNS = re.compile(r"u+|l+|d+")


def looks_random(v: str) -> bool:
    """Base64 or similar of random bytes: mixed case and digits all the way through.

    Words in CamelCase (`SummerSale2026Campaign`) have few capitals and few switches between
    lower, upper and digit; random strings of the same alphabet have many.
    """
    if len(v) < 20 or v.islower() or v.isupper() or not _TOKEN.fullmatch(v):  # 16 random bytes: 22 in base64
        return False
    classes = v.translate(_CLASSES)
    upper, lower, digits = classes.count("u"), classes.count("l"), classes.count("d")
    letters = upper + lower
    if digits < 2 or letters < 6 or not 0.25 <= upper / letters <= 0.75:
        return False
    return len(_RUNS.findall(classes)) - 1 >= len(v) / 4


def looks_opaque(v: str) -> bool:
    """A token rather than a word or number: letters and digits mixed (≥ 8), or long hex."""
    if len(v) < 8 or not _TOKEN.fullmatch(v) or _DIGITS.fullmatch(v):
        return False
    if _HEX.fullmatch(v):
        return True
    digits = sum(c.isdigit() for c in v)
    letters = sum(c.isalpha() for c in v)
    return digits >= 2 and letters >= 2 and (len(v) >= 12 or digits >= 3)


@functools.lru_cache(maxsize=4096)
def _key_class(key: str) -> int:
    """-1: never a secret (click ids, UTM); 0: a signing key; n > 0: a generic key whose opaque
    values of length ≥ n are secrets; 1_000_000: any other key (only random values count)."""
    k = normalize_key(key)
    if k in CLICK_IDS or k.startswith("utm"):
        return -1
    if k in SIGNING_KEYS:
        return 0
    return GENERIC_KEYS.get(k, 1_000_000)


def could_be_secret(key: str, length: int) -> bool:
    """Cheap first look from the key and the value's length alone (most pairs stop here)."""
    cls = _key_class(key)
    if cls < 0:
        return False
    return length >= 20 or (cls == 0 and length >= 4) or (0 < cls < 1_000_000 and length >= cls)


def secret_param(key: str, value: str) -> bool:
    """Whether `key=value` in a query string (or a `;key=value` path parameter) is a secret."""
    if not value:
        return False
    cls = _key_class(key)
    if cls < 0:
        return False
    if cls == 0:
        return len(value) >= 4
    if len(value) >= cls and looks_opaque(value):
        return True
    return looks_random(value)


_SECRET_WORD_HINT = re.compile("|".join(sorted(SECRET_PATH_WORDS, key=len)), re.IGNORECASE)


def secret_path(segments: list[str]) -> bool:
    """A path with a word that marks its opaque segments as secrets (reset, unsubscribe, …)."""
    for seg in segments:
        if not _SECRET_WORD_HINT.search(seg):
            continue
        low = seg.lower()
        if normalize_key(low) in SECRET_PATH_WORDS:
            return True
        if any(w in SECRET_PATH_WORDS for w in _WORDS.findall(low)) and not looks_opaque(seg):
            return True
    return False


def secret_segment(seg: str, in_secret_path: bool) -> bool:
    if in_secret_path:
        return looks_opaque(seg) or _UUID.fullmatch(seg) is not None
    return looks_random(seg)
