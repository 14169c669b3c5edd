"""Shape stage: a scrubbed event → one TikTok Events API v1.3 event object.

Sends the name as TikTok knows it (`names.py`), and cleans properties into the types TikTok
accepts (string content_id, numeric value, upper-case currency), because Events Manager rejects
or warns on exactly those mistakes. Which pixels receive the event is `decide.py`'s question.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pixelscleared.event import CapturedEvent
from pixelscleared.names import tiktok_event_name

PROPERTY_KEYS = frozenset(
    {"contents", "content_type", "content_ids", "currency", "value", "num_items", "search_string", "query",
     "description", "order_id", "shop_id"}
)
# The search term, as sites and GA4 name it; TikTok reads `query` (newer) and `search_string` (older).
SEARCH_KEYS = ("query", "search_string", "search_term")
# GA4 / dataLayer `items[]` fields → TikTok content fields (the same table as GA4's `pr1` in capture).
GA4_ITEM_KEYS = {"item_id": "content_id", "item_name": "content_name", "item_category": "content_category",
                 "item_brand": "brand", "price": "price", "quantity": "quantity"}
CONTENT_KEYS = frozenset({"content_id", "content_name", "content_category", "price", "quantity", "brand"})
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_ABSOLUTE = re.compile(r"https?://[^\s/?#]+", re.IGNORECASE)  # TikTok wants absolute page URLs
READ_AS_PEERS = frozenset({*SEARCH_KEYS, "transaction_id", "items"})  # not TikTok's, but read into its keys
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}")
MAX_CONTENTS = 100
MAX_NUMBER = 10**15  # larger integers are no price, quantity or count (and overflow a float)


def shape_event(event: CapturedEvent, user: dict[str, str], limited_data_use: bool) -> dict[str, Any]:
    """The `data[]` entry TikTok receives. `event` must already be scrubbed."""
    page = {}
    if _ABSOLUTE.match(event.url):
        page["url"] = event.url
    if _ABSOLUTE.match(event.referrer):
        page["referrer"] = event.referrer
    obj: dict[str, Any] = {
        "event": tiktok_event_name(event.name),
        "event_time": int(event.event_time),
        "event_id": str(event.event_id),
        "user": user,
        "properties": clean_properties(event.properties),
        "limited_data_use": bool(limited_data_use),
    }
    if page:
        obj["page"] = page
    return obj


def clean_properties(props: dict[str, Any]) -> dict[str, Any]:
    """Keep TikTok's documented properties, in TikTok's types; drop what cannot be made right.

    The names sites use for the same things are read too, as the best peers do: a GA4
    `search_term`, `transaction_id` and `items[]` become `query`/`search_string`, `order_id` and
    `contents`; `content_type` is `product` when there are contents and none is given.
    """
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key not in PROPERTY_KEYS:
            continue
        if key == "contents":
            contents = [c for c in (_content(item) for item in _list(value)[:MAX_CONTENTS]) if c]
            if contents:
                out[key] = contents
        elif key == "content_ids":
            ids = [s for s in (_string(v) for v in _list(value)[:MAX_CONTENTS]) if s]
            if ids:
                out[key] = ids
        elif key == "value":
            if (num := _number(value)) is not None:
                out[key] = num
        elif key == "num_items":
            if (num := _number(value)) is not None:
                out[key] = int(num)
        elif key == "currency":
            if isinstance(value, str) and _CURRENCY.fullmatch(value.strip()):
                out[key] = value.strip().upper()
        elif key == "content_type":
            if value in ("product", "product_group"):
                out[key] = value
        elif (text := _string(value)) is not None:
            out[key] = text
    return _peer_names(props, out)


def undocumented_keys(props: dict[str, Any]) -> list[str]:
    """Property keys not sent because TikTok does not document them (shown in the events log as
    `properties.<key>`; a key that is not a plain identifier could itself hold personal data and
    is shown as `properties.(not shown)`)."""
    return sorted({k if _PLAIN_KEY.fullmatch(k) else "(not shown)" for k in props
                   if k not in PROPERTY_KEYS and k not in READ_AS_PEERS})


def _peer_names(props: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """Fill TikTok's properties from the other names of the same things (never overriding TikTok's own)."""
    term = next((t for k in SEARCH_KEYS if (t := _string(props.get(k))) is not None), None)
    if term is not None:
        out["query"] = out["search_string"] = term
    if "order_id" not in out and (order := _string(props.get("transaction_id"))) is not None:
        out["order_id"] = order
    if "contents" not in out and isinstance(items := props.get("items"), list):
        contents = [c for c in (_content(_ga4_item(i)) for i in items[:MAX_CONTENTS]) if c]
        if contents:
            out["contents"] = contents
    if "contents" in out and "content_type" not in out:
        out["content_type"] = "product"
    return out


def _ga4_item(item: Any) -> Any:
    if not isinstance(item, dict):
        return None
    return {GA4_ITEM_KEYS[k]: v for k, v in item.items() if k in GA4_ITEM_KEYS}


def _content(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key not in CONTENT_KEYS:
            continue
        if key == "price":
            if (num := _number(value)) is not None:
                out[key] = num
        elif key == "quantity":
            if (num := _number(value)) is not None:
                out[key] = int(num)
        elif (text := _string(value)) is not None:
            out[key] = text
    return out or None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _string(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()[:500]
    return None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and -MAX_NUMBER <= value <= MAX_NUMBER:  # a 400-digit integer is no amount
        return value
    return None
