"""GA4 gtag hits sent first-party (`/g/collect`, server-side GTM style).

Shared parameters ride in the URL query (`v=2&tid=G-…&cid=…&dl=…&en=page_view&ep.x=…&epn.y=…
&pr1=idSKU-1~nmRed Shirt~pr19.99~qt2`); a POST body holds one event per line, each line a query
string that overrides or extends the shared ones. The event keeps GA4's name (`add_to_cart`):
`names.py` maps names. Client and user ids (`cid`, `uid`, `up.*`) are never read.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from pixelscleared.capture.fields import (
    EVENT_ID,
    MAX_EVENTS_PER_CALL,
    CaptureError,
    event_id,
    event_name,
    query_param,
)
from pixelscleared.consent.hit import consent_params
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.limits import MAX_CALL_BYTES

MAX_PARAMS = 1000  # per line; gtag sends a few dozen
MAX_ITEMS = 200  # pr1..pr200; the shape stage keeps the first 100 contents anyway
_ITEM = re.compile(r"pr([1-9][0-9]{0,2})")
# GA4 item fields (two-letter keys inside `pr<n>`) → TikTok content keys.
_ITEM_KEYS = {"id": "content_id", "nm": "content_name", "pr": "price", "qt": "quantity",
              "ca": "content_category", "br": "brand"}
_NUMERIC_ITEM_KEYS = frozenset({"price", "quantity"})
# ep.* names that become TikTok properties under another name (or the event id) rather than as-is.
_CONSUMED = frozenset({"value", "currency", "transaction_id", "event_id"})
_NUMBER = re.compile(r"-?\d{1,15}(?:\.\d{1,15})?(?:[eE][+-]?\d{1,3})?")


def parse_ga4_hit(method: str, query: str, body: bytes, facts: RequestFacts,
                  now: float | None = None) -> list[CapturedEvent]:
    now = time.time() if now is None else now
    if len(query) > MAX_CALL_BYTES or len(body) > MAX_CALL_BYTES:
        raise CaptureError(f"hit larger than {MAX_CALL_BYTES} bytes")
    shared = _params(query, "query")
    lines: list[str] = []
    if method.upper() == "POST" and body.strip():
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise CaptureError("body is not UTF-8 text") from None
        lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if len(lines) > MAX_EVENTS_PER_CALL:
        raise CaptureError(f"more than {MAX_EVENTS_PER_CALL} events in one call")
    hits = [{**shared, **_params(line, f"body line {i + 1}")} for i, line in enumerate(lines)] or [shared]
    return [_event(hit, i, len(hits), facts, now) for i, hit in enumerate(hits) if hit.get("v") == "2"]


def _params(qs: str, where: str) -> dict[str, str]:
    """Last value wins, as in GA4's own collection; values are percent-decoded."""
    try:
        return dict(parse_qsl(qs.strip(), keep_blank_values=True, max_num_fields=MAX_PARAMS))
    except ValueError:
        raise CaptureError(f"{where}: more than {MAX_PARAMS} parameters") from None


def _event(hit: dict[str, str], index: int, count: int, facts: RequestFacts, now: float) -> CapturedEvent:
    where = f"events[{index}]" if count > 1 else "event"
    name = event_name(hit.get("en", ""), f"{where}.en")
    # Without an event id, a purchase's transaction id is one (as Stape does): the browser pixel's
    # copy sent with the same id then deduplicates with this one.
    tx = hit.get("ep.transaction_id", "")
    eid = event_id(hit.get("ep.event_id") or (tx if EVENT_ID.fullmatch(tx) else ""), f"{where}.ep.event_id")
    url = hit.get("dl") or facts.headers.get("referer", "")  # the /g/collect URL is never a page
    return CapturedEvent(
        name=name,
        event_id=eid,
        event_time=int(now),  # a hit carries no event time: it is sent as it happens
        source="ga4",
        url=url,
        referrer=hit.get("dr", ""),
        properties=_properties(hit),
        ttclid=query_param(url, "ttclid"),
        consent_params=consent_params(hit),
    )


def _properties(hit: dict[str, str]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for key, value in hit.items():
        prefix, dot, pname = key.partition(".")
        if not dot or not pname or pname in _CONSUMED:
            continue
        if prefix == "ep":
            props.setdefault(pname, value)
        elif prefix == "epn":
            props[pname] = _number(value)  # a numeric param wins over a string one of the same name
    if "epn.value" in hit or "ep.value" in hit:
        props["value"] = _number(hit["epn.value"]) if "epn.value" in hit else hit["ep.value"]
    if currency := hit.get("cu") or hit.get("ep.currency"):
        props["currency"] = currency
    if order_id := hit.get("ep.transaction_id"):
        props["order_id"] = order_id
    if contents := _contents(hit):
        props["contents"] = contents
    return props


def _contents(hit: dict[str, str]) -> list[dict[str, Any]]:
    items: list[tuple[int, dict[str, Any]]] = []
    for key, value in hit.items():
        m = _ITEM.fullmatch(key)
        if m is None or int(m.group(1)) > MAX_ITEMS:
            continue
        item = _item(value)
        if item:
            items.append((int(m.group(1)), item))
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def _item(encoded: str) -> dict[str, Any]:
    """`idSKU-1~nmRed Shirt~pr19.99~qt2~caApparel~brAcme`: two-letter key, then the value."""
    item: dict[str, Any] = {}
    for field in _fields(encoded):
        target = _ITEM_KEYS.get(field[:2])
        if target is None or len(field) == 2 or target in item:
            continue  # custom k0/v0 pairs, variants, coupons… have no TikTok counterpart
        value = field[2:]
        item[target] = _number(value) if target in _NUMERIC_ITEM_KEYS else value
    if isinstance(item.get("quantity"), float) and item["quantity"].is_integer():
        item["quantity"] = int(item["quantity"])
    return item


def _fields(encoded: str) -> list[str]:
    """Split an item on `~`; gtag writes a `~` inside a value as `~~`."""
    if "~~" not in encoded:
        return encoded.split("~")
    return [f.replace("\0", "~") for f in encoded.replace("~~", "\0").split("~")]


def _number(text: str) -> int | float | str:
    """A number when it reads as a finite one; otherwise the text, for the shape stage to judge."""
    s = text.strip()
    if not _NUMBER.fullmatch(s):
        return text
    if "." not in s and "e" not in s.lower():
        return int(s)
    value = float(s)
    return value if math.isfinite(value) else text
