"""Key-name rules: which keys hold personal data whatever their value looks like.

Keys are compared after `normalize_key` (case and separators ignored). A key such as
`billing[address][zip]`, `ep.email` or `user.first_name` is also split into its parts, so
GA4 prefixes and form-style brackets do not hide a personal key.
"""

from __future__ import annotations

import re
from typing import Final

from pixelscleared.scrub.settings import normalize_key

KEEP: Final = "keep"
AMBIGUOUS_NAME: Final = "name?"
AMOUNT_OR_PERSON: Final = "user?"  # `shipping=4.99` is a cost; `shipping={...}` or "J. Doe, …" a person

# Whole subtree dropped: everything under `user`, `customer`… is about a person.
CONTAINERS: frozenset[str] = frozenset({
    "user", "users", "customer", "customers", "billing", "shipping", "contact", "buyer", "person",
    "profile", "recipient", "member", "userdata", "customerdata", "ud", "visitordata",
})

# Containers whose name, as the last part of a key with a number for its value, is an amount:
# GA4's `epn.shipping` and a cart's `billing` total are costs, not a person's address.
AMOUNT_NAMES: frozenset[str] = frozenset({"shipping", "billing"})

# Exact (normalised) key → kind.
EXACT: dict[str, str] = {
    "fname": "name", "lname": "name", "fn": "name", "ln": "name", "initials": "name",
    "street": "address", "address": "address", "city": "address", "town": "address",
    "zip": "postcode", "zp": "postcode", "plz": "postcode", "postal": "postcode",
    "dob": "birth_date", "db": "birth_date", "birth": "birth_date",
    "tel": "phone", "mobile": "phone", "cell": "phone", "fax": "phone", "ph": "phone", "msisdn": "phone",
    "em": "email", "mail": "email",
    "ip": "ip", "clientip": "ip", "remoteip": "ip", "userip": "ip", "xforwardedfor": "ip",
    "ssn": "ssn", "sin": "ssn", "nino": "ssn", "taxid": "ssn",
    "pwd": "secret", "pass": "secret", "pin": "secret", "auth": "secret", "authorization": "secret",
    "sessid": "secret", "cookie": "secret", "otp": "secret",
    "cvv": "card", "cvc": "card", "pan": "card",
    "userid": "user_id", "uid": "user_id", "customerid": "user_id", "memberid": "user_id",
}

# Normalised key containing this → kind. Checked in order (`emailaddress` is email, not address).
CONTAINS: tuple[tuple[str, str], ...] = (
    ("email", "email"), ("phone", "phone"), ("telephone", "phone"), ("mobilenumber", "phone"),
    ("whatsapp", "phone"),
    ("password", "secret"), ("passwd", "secret"), ("passcode", "secret"), ("secret", "secret"),
    ("apikey", "secret"), ("token", "secret"), ("session", "secret"), ("credential", "secret"),
    ("ipaddress", "ip"),
    ("creditcard", "card"), ("cardnumber", "card"), ("ccnumber", "card"), ("iban", "iban"),
    ("socialsecurity", "ssn"),
    ("firstname", "name"), ("lastname", "name"), ("fullname", "name"), ("surname", "name"),
    ("givenname", "name"), ("familyname", "name"), ("middlename", "name"), ("maidenname", "name"),
    ("username", "name"), ("displayname", "name"), ("nickname", "name"), ("customername", "name"),
    ("contactname", "name"), ("billingname", "name"), ("shippingname", "name"),
    ("address", "address"), ("street", "address"),
    ("postcode", "postcode"), ("postalcode", "postcode"), ("zipcode", "postcode"),
    ("birthdate", "birth_date"), ("dateofbirth", "birth_date"), ("birthday", "birth_date"),
)

# Under these, `name` is a product's name, not a person's.
PRODUCT_CONTAINERS: frozenset[str] = frozenset({
    "contents", "content", "items", "item", "products", "product", "lineitems", "cart", "ecommerce",
    "offers", "offer", "variants", "variant", "categories", "category", "brand", "promotion", "promotions",
})

_PARTS = re.compile(r"[.\[\]]+")
_CACHE_MAX = 4096


class KeyRules:
    """Decides for a key: keep as-is (KEEP), drop (a kind), ambiguous name, or no rule (None)."""

    def __init__(self, drop_keys: list[str], keep_keys: list[str]):
        self.drop = frozenset(normalize_key(k) for k in drop_keys)
        self.keep = frozenset(normalize_key(k) for k in keep_keys)
        self._cache: dict[str, str | None] = {}

    def rule(self, key: str) -> str | None:
        hit = self._cache.get(key, "")
        if hit != "":
            return hit
        result = self._rule(key)
        if len(self._cache) >= _CACHE_MAX:  # hostile payloads with endless unique keys
            self._cache.clear()
        self._cache[key] = result
        return result

    def _rule(self, key: str) -> str | None:
        full = normalize_key(key)
        parts = [normalize_key(p) for p in _PARTS.split(key) if p]
        parts = [p for p in parts if p]
        last = parts[-1] if parts else full
        if full in self.keep or last in self.keep:
            return KEEP
        candidates = [full, *parts] if len(parts) > 1 else [full]
        for c in candidates:
            if c in self.drop:
                return "configured"
        for c in candidates:
            if c in CONTAINERS:
                return AMOUNT_OR_PERSON if c == last and c in AMOUNT_NAMES else "user"
            if c in EXACT:
                return EXACT[c]
        for c in candidates:
            for token, kind in CONTAINS:
                if token in c:
                    return kind
        if last == "name":
            # `items[0][name]`, `product.name`: a product's name; a bare `name` may be a person's
            if any(p in PRODUCT_CONTAINERS for p in parts[:-1]):
                return None
            return AMBIGUOUS_NAME
        return None

    @staticmethod
    def is_product_container(key: str) -> bool:
        return normalize_key(key) in PRODUCT_CONTAINERS
