"""The sidecar's own collect endpoint.

`POST <prefix>collect` takes one event object or a list of them:
`{"event": "AddToCart", "event_id"?: "...", "properties"?: {...}, "url"?: "...", "referrer"?: "..."}`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from pixelscleared.capture.fields import (
    MAX_EVENTS_PER_CALL,
    CaptureError,
    event_id,
    event_name,
    event_time,
    load_json,
    obj,
    query_param,
    text,
)
from pixelscleared.event import CapturedEvent, RequestFacts


def parse_collect(body: bytes, facts: RequestFacts, now: float | None = None) -> list[CapturedEvent]:
    now = time.time() if now is None else now
    doc = load_json(body)
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise CaptureError("no events")
    if len(items) > MAX_EVENTS_PER_CALL:
        raise CaptureError(f"more than {MAX_EVENTS_PER_CALL} events in one call")
    return [_event(item, i, facts, now) for i, item in enumerate(items)]


KEYS = ("event", "event_id", "event_time", "properties", "url", "referrer")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


def _event(item: Any, index: int, facts: RequestFacts, now: float) -> CapturedEvent:
    where = f"events[{index}]" if index else "event"
    if not isinstance(item, dict):
        raise CaptureError(f"{where}: must be a JSON object")
    # a misspelt key ("propeties") would silently lose data: refuse it, naming the key
    unknown = sorted(k for k in item if k not in KEYS)
    if unknown:
        # only plain identifiers are named: a key may itself be personal data (reasons are logged)
        shown = ", ".join(repr(k) if _PLAIN_KEY.fullmatch(k) else "(not shown)" for k in unknown[:5])
        raise CaptureError(f"{where}: unknown key {shown} (known: {', '.join(KEYS)})")
    when = item.get("event_time")
    if when is not None and (isinstance(when, bool) or not isinstance(when, (int, float))):
        # a date string would silently become "now": refuse it (a number out of range still does)
        raise CaptureError(f"{where}.event_time: must be a number, unix seconds or milliseconds")
    # A beacon's Referer is the page that sent it; the collect URL itself is never a page.
    url = text(item.get("url"), f"{where}.url") or facts.headers.get("referer", "")
    return CapturedEvent(
        name=event_name(item.get("event"), f"{where}.event"),
        event_id=event_id(item.get("event_id"), f"{where}.event_id"),
        event_time=event_time(when, now),
        source="collect",
        url=url,
        referrer=text(item.get("referrer"), f"{where}.referrer"),
        properties=obj(item.get("properties"), f"{where}.properties"),
        ttclid=query_param(url, "ttclid"),
    )
