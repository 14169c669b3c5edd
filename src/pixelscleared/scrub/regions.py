"""Which countries' national phone formats to look for in one event, from hints it carries.

`scrub.phone_regions` (default US, GB, DE, FR) are always recognised; a national-format number
of another country (`06 12 34 56 78` in the Netherlands, `612 345 678` in Spain) is found only
with a `+`, a `tel:` or a phone word — unless the event says where it comes from: a `country`
property, the page's country-code top-level domain, or a currency used by one country only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

# Top-level domains sold worldwide as brands (.io, .co, .tv…): not a country hint.
_BRAND_TLDS = frozenset({"io", "co", "me", "tv", "ai", "ly", "fm", "to", "gg", "cc", "ws", "app", "la", "am", "so",
                         "sh", "ac", "ag", "vc", "gl", "is"})
_TLD_REGION = {"uk": "GB"}
# Currencies of one country (EUR, USD and XOF-style unions say nothing).
_CURRENCY_REGION = {"GBP": "GB", "JPY": "JP", "BRL": "BR", "INR": "IN", "PLN": "PL", "SEK": "SE", "DKK": "DK",
                    "NOK": "NO", "CHF": "CH", "AUD": "AU", "CAD": "CA", "MXN": "MX", "CZK": "CZ", "HUF": "HU",
                    "RON": "RO", "TRY": "TR", "ZAR": "ZA", "KRW": "KR", "CNY": "CN", "SGD": "SG", "NZD": "NZ",
                    "ILS": "IL", "ARS": "AR", "CLP": "CL", "COP": "CO"}
_COUNTRY_KEYS = ("country", "country_code", "countryCode", "shipping_country", "billing_country", "locale", "lang")
MAX_HINTS = 3


def _region(code: object) -> str | None:
    if not isinstance(code, str):
        return None
    code = code.strip().replace("_", "-")
    if "-" in code:  # a locale: de-AT, pt_BR
        code = code.rsplit("-", 1)[1]
    code = code.upper()
    return code if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS else None


def _netloc(url: str) -> str:
    """`user@host:port` of an absolute URL, without parsing the rest (this runs for every event)."""
    rest = url.partition("//")[2] if "//" in url[:12] else ""
    for stop in "/?#":
        rest = rest.partition(stop)[0]
    return rest


@lru_cache(maxsize=1024)
def _host_region(netloc: str) -> str | None:
    """The country of a host's country-code top-level domain (`shop.es` → ES), if it has one."""
    try:
        host = urlsplit("//" + netloc).hostname or ""
    except ValueError:
        return None
    tld = host.rsplit(".", 1)[-1].lower() if "." in host else ""
    if len(tld) != 2 or tld in _BRAND_TLDS:
        return None
    return _region(_TLD_REGION.get(tld, tld))


def hint_regions(url: str, properties: Mapping[str, Any]) -> tuple[str, ...]:
    """Up to three regions the event points at, most specific first (property, domain, currency)."""
    found: list[str] = []
    for key in _COUNTRY_KEYS:
        if (region := _region(properties.get(key))) is not None:
            found.append(region)
    if (region := _host_region(_netloc(url))) is not None:
        found.append(region)
    currency = properties.get("currency")
    if isinstance(currency, str) and (region := _CURRENCY_REGION.get(currency.strip().upper())) is not None:
        found.append(region)
    return tuple(dict.fromkeys(found))[:MAX_HINTS]
