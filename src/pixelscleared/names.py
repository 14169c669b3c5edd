"""Event names: what a captured name may look like, and the TikTok name it is sent as.

The one owner of TikTok's standard names, the spellings people write (`PageView`), the GA4
name mapping and the typo check. Capture, config and shape all ask here, so a name listed in
the config and a name arriving in a call mean the same event.

The TikTok stand-in (`fake_tiktok/`) keeps its own list on purpose: it plays TikTok, and a
stand-in that shared our tables could not catch a mistake in them.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

# TikTok's standard web event names: the legacy 14, the current list, and the pixel's
# `Pageview`. Other names are accepted by TikTok as custom events.
STANDARD_EVENTS = frozenset({
    "ViewContent", "ClickButton", "Search", "AddToWishlist", "AddToCart", "InitiateCheckout",
    "AddPaymentInfo", "CompletePayment", "PlaceAnOrder", "Contact", "Download", "SubmitForm",
    "CompleteRegistration", "Subscribe",
    "ApplicationApproval", "CustomizeProduct", "FindLocation", "Lead", "Purchase", "Schedule",
    "StartTrial", "SubmitApplication",
    "Pageview",
})

# Spellings people write for a standard name → the name TikTok's pixel sends.
ALIASES: dict[str, str] = {"PageView": "Pageview", "pageview": "Pageview", "page_view": "Pageview"}

# TikTok renamed two standard events; both spellings are in use and mean the same event.
LEGACY_TO_CURRENT: dict[str, str] = {"CompletePayment": "Purchase", "SubmitForm": "Lead"}
CURRENT_TO_LEGACY: dict[str, str] = {new: old for old, new in LEGACY_TO_CURRENT.items()}

# GA4 / common snake_case names → TikTok's current names (as Stape's and RudderStack's tags now send).
GA4_NAMES: dict[str, str] = {
    "page_view": "Pageview",
    "add_payment_info": "AddPaymentInfo",
    "add_to_cart": "AddToCart",
    "add_to_wishlist": "AddToWishlist",
    "begin_checkout": "InitiateCheckout",
    "purchase": "Purchase",
    "search": "Search",
    "sign_up": "CompleteRegistration",
    "view_item": "ViewContent",
    "generate_lead": "Lead",
    "contact": "Contact",
    "file_download": "Download",
    "subscribe": "Subscribe",
    "click": "ClickButton",
}

# Which spelling of a renamed event a pixel receives.
Spelling = Literal["as_captured", "current", "legacy"]

# What a captured event name may be: short, printable, no characters that need escaping.
CAPTURED_NAME = re.compile(r"[A-Za-z0-9_ .:-]{1,100}")

# Spellings offered in "did you mean": the standard names, with page views as people write them.
_SUGGESTIONS = {n.lower(): n for n in STANDARD_EVENTS} | {"pageview": "PageView"}
NEAR_MISS_CUTOFF = 0.85


def tiktok_event_name(name: str) -> str:
    """The name TikTok receives for a captured or configured name (`purchase` → `CompletePayment`)."""
    return GA4_NAMES.get(name, ALIASES.get(name, name))


def same_event(name: str) -> str:
    """One key for the spellings of one event (`CompletePayment` and `Purchase` → `Purchase`)."""
    return LEGACY_TO_CURRENT.get(name, name)


def spelled(name: str, spelling: Spelling) -> str:
    """`name` (already a TikTok name) in the spelling a pixel asked for."""
    if spelling == "current":
        return LEGACY_TO_CURRENT.get(name, name)
    if spelling == "legacy":
        return CURRENT_TO_LEGACY.get(name, name)
    return name


def near_miss(name: str) -> str | None:
    """The standard name `name` is probably a typo of (`PageVeiw`, `pageView`), or None.

    TikTok takes custom names, so only a name this close to a standard one is treated as a
    mistake: sent as is, it would silently become a custom event nobody optimises for.
    """
    if name in STANDARD_EVENTS:
        return None
    lower = name.lower()
    if lower in _SUGGESTIONS:
        return _SUGGESTIONS[lower]
    close = difflib.get_close_matches(lower, list(_SUGGESTIONS), n=1, cutoff=NEAR_MISS_CUTOFF)
    return _SUGGESTIONS[close[0]] if close else None
