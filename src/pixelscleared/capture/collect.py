"""The sidecar's own collect endpoint.

`POST <prefix>collect` takes one event object or a list of them:
`{"event": "AddToCart", "event_id"?: "...", "properties"?: {...}, "url"?: "...", "referrer"?: "..."}`.
Parsing is pure: it returns events or raises CaptureError with a reason a tester can read.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pixelscleared.event import CapturedEvent, RequestFacts

MAX_EVENTS_PER_CALL = 50
_NAME = re.compile(r"[A-Za-z0-9_ .:-]{1,100}")
_EVENT_ID = re.compile(r"[\x21-\x7e]{1,128}")
_FUTURE_SKEW_S = 300
_MAX_AGE_S = 7 * 24 * 3600  # TikTok accepts events up to 7 days old


class CaptureError(ValueError):
    """The tracking call cannot be read; the reason is safe to show (it never echoes values)."""


def parse_collect(body: bytes, facts: RequestFacts, now: float | None = None) -> list[CapturedEvent]:
    now = time.time() if now is None else now
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CaptureError("body is not JSON") from None
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise CaptureError("no events")
    if len(items) > MAX_EVENTS_PER_CALL:
        raise CaptureError(f"more than {MAX_EVENTS_PER_CALL} events in one call")
    return [_event(item, i, facts, now) for i, item in enumerate(items)]


def _event(item: Any, index: int, facts: RequestFacts, now: float) -> CapturedEvent:
    where = f"events[{index}]" if index else "event"
    if not isinstance(item, dict):
        raise CaptureError(f"{where}: must be a JSON object")
    name = item.get("event")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise CaptureError(f"{where}.event: must be a name of 1-100 letters, digits, _ . : - or space")
    event_id = item.get("event_id")
    if event_id is None or event_id == "":
        event_id = str(uuid.uuid4())
    elif isinstance(event_id, (int, str)) and not isinstance(event_id, bool) and _EVENT_ID.fullmatch(str(event_id)):
        event_id = str(event_id)  # TikTok needs a string; a numeric id from the page is kept as text
    else:
        raise CaptureError(f"{where}.event_id: must be a string of 1-128 printable characters")
    props = item.get("properties", {})
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise CaptureError(f"{where}.properties: must be a JSON object")
    # A beacon's Referer is the page that sent it; the collect URL itself is never a page.
    url = _text(item.get("url"), f"{where}.url") or facts.headers.get("referer", "")
    referrer = _text(item.get("referrer"), f"{where}.referrer")
    return CapturedEvent(
        name=name.strip(),
        event_id=event_id,
        event_time=_event_time(item.get("event_time"), now),
        source="collect",
        url=url,
        referrer=referrer,
        properties=props,
        ttclid=_query_param(url, "ttclid"),
    )


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CaptureError(f"{where}: must be a string")
    return value


def _event_time(value: Any, now: float) -> int:
    """Seconds; milliseconds are recognised. Clock-skewed or stale times become `now`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return int(now)
    t = value / 1000 if value > 1e11 else value
    if t > now + _FUTURE_SKEW_S or t < now - _MAX_AGE_S:
        return int(now)
    return int(t)


def _query_param(url: str, name: str) -> str:
    if name not in url:
        return ""
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return ""
    return values[0][:512] if values else ""
