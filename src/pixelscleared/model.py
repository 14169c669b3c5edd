"""The base of every config section, and the checks several sections share.

Each stage declares its own section beside its code (`consent/settings.py`, `deliver.py`'s
`TikTokPixel`, …); `config.py` only assembles them. They all inherit `Settings`, so every
section refuses unknown keys (a typo is never silently ignored) and is immutable once loaded.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict

COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,200}")  # RFC 6265 token


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def no_whitespace(value: str) -> str:
    """A non-empty value without whitespace (ids, tokens, names)."""
    if not value:
        raise ValueError("must not be empty")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain whitespace")
    return value


def cookie_name(value: str) -> str:
    """"" (not set) or an RFC 6265 cookie name."""
    if value and not COOKIE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a cookie name")
    return value


def networks(value: list[str]) -> list[str]:
    """A list of IP networks in CIDR notation (a bare address is a /32 or /128)."""
    for cidr in value:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP network (CIDR)") from None
    return value
