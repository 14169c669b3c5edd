"""The `scrub:` section of the config.

Everything has a default so an empty `scrub:` gives the full detector set. Key lists are
matched case- and separator-insensitively (`firstName`, `first_name` and `First-Name` are one
key), so they are normalised here, once.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import phonenumbers
from pydantic import Field, field_validator, model_validator

from pixelscleared.model import Settings

Detector = Literal["email", "phone", "card", "iban", "ssn", "ip", "jwt", "token", "secret", "base64", "birth_date",
                   "name", "address", "location"]
DETECTORS: tuple[str, ...] = ("email", "phone", "card", "iban", "ssn", "ip", "jwt", "token", "secret", "base64",
                              "birth_date", "name", "address", "location")

# Kept as sent (only the high-confidence text detectors still run on them): ids and amounts
# that look like numbers a loose detector might take for a phone or a card.
DEFAULT_KEEP_KEYS: tuple[str, ...] = (
    "value", "currency", "content_id", "content_ids", "content_type", "order_id", "quantity",
    "price", "num_items", "event", "event_id", "event_time", "timestamp", "ttclid", "ttp",
    "transaction_id", "item_id", "sku",
)

_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")


_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalize_key(key: str) -> str:
    """`First-Name`, `first_name`, `firstName` → `firstname`; accents folded (`prénom` → `prenom`,
    `Straße` → `strasse`, `imię` → `imie`), so field names in any Latin-script language compare."""
    low = key.lower()
    if not low.isascii():
        low = unicodedata.normalize("NFKD", low.replace("ß", "ss").replace("ł", "l").replace("ø", "o"))
        if any(c.isdecimal() and not c.isascii() for c in low):  # `FN-٠٠٠` is `fn000`, not the key `fn`
            low = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in low)
    return _NOT_ALNUM.sub("", low)


class ScrubSettings(Settings):

    drop_keys: list[str] = Field(default_factory=list, description="keys always dropped, on top of the built-in list")
    keep_keys: list[str] = Field(default_factory=lambda: list(DEFAULT_KEEP_KEYS),
                                 description="keys whose values are not checked for numbers (phones, cards…)")
    patterns: dict[str, str] = Field(default_factory=dict,
                                     description="extra detectors: kind → regular expression")
    disable: list[Detector] = Field(default_factory=list, description="built-in detectors to switch off")
    phone_regions: list[str] = Field(default_factory=lambda: ["US", "GB", "DE", "FR"],
                                     description="regions whose national phone formats are recognised")
    max_bytes: int = Field(2_000_000, ge=1024, description="total text per event")
    max_depth: int = Field(32, ge=2, le=256)
    max_strings: int = Field(100_000, ge=10)
    # scrubbing runs inline on the event loop: a pathological body may stall every connection for this long
    time_budget_ms: int = Field(100, ge=1, le=60_000)

    @field_validator("drop_keys", "keep_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for k in v:
            if not normalize_key(k):
                raise ValueError(f"{k!r} has no letters or digits")
        return v

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, v: dict[str, str]) -> dict[str, str]:
        for kind, rx in v.items():
            if not _KIND.fullmatch(kind):
                raise ValueError(f"kind {kind!r} must be lower-case letters, digits or _ (it becomes the [marker])")
            try:
                compiled = re.compile(rx)
            except re.error as e:
                raise ValueError(f"{kind}: not a valid regular expression: {e}") from None
            if compiled.match(""):
                raise ValueError(f"{kind}: pattern matches the empty string")
        return v

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        known = phonenumbers.SUPPORTED_REGIONS
        out = []
        for r in v:
            if r.upper() not in known:
                raise ValueError(f"{r!r} is not a phone region (ISO 3166 code such as US, GB, DE)")
            out.append(r.upper())
        return out

    @model_validator(mode="after")
    def _no_overlap(self) -> ScrubSettings:
        both = {normalize_key(k) for k in self.drop_keys} & {normalize_key(k) for k in self.keep_keys}
        if both:
            raise ValueError(f"keys both dropped and kept: {', '.join(sorted(both))}")
        return self
