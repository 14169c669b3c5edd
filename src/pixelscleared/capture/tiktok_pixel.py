"""A first-party-proxied TikTok browser pixel beacon.

`POST .../api/v2/pixel` carries the event as JSON; `.../api/v2/pixel/act?analytics_message=<b64>`
carries the same JSON base64-encoded, in the query or in the body; `.../api/v2/pixel/batch`
carries `{"batch": [...]}`. The sidecar becomes the gateway: the event goes to TikTok
server-side with the browser's own `event_id`, so TikTok deduplicates it against the pixel.

`context.user` (email, phone_number, external_id…) is never read into the event: personal data
never leaves, not even hashed (product rule). Identity comes from the identity stage alone.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote

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
from pixelscleared.consent.hit import consent_params
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.limits import MAX_CALL_BYTES

_PIXEL_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TTCLID = re.compile(r"[\x21-\x7e]{1,512}")
_MESSAGE_PARAM = "analytics_message"


# What the pixel sends by itself (auto-click and page-metadata pings, an empty event): not
# conversions. They are answered and left out, and are not bad calls.
AUTOMATIC = frozenset({"", "Click", "Metadata"})


def parse_tiktok_beacon(body: bytes, query: str, facts: RequestFacts, now: float | None = None) -> list[CapturedEvent]:
    now = time.time() if now is None else now
    items = read_beacon(body, query)
    consent = _consent(query)
    return [_event(item, i, facts, now, consent) for i, item in enumerate(items) if not is_automatic(item)]


def _consent(query: str) -> dict[str, str]:
    """`us_privacy` / `gpp` on the beacon's URL, if any."""
    if "=" not in query:
        return {}
    try:
        return consent_params(dict(parse_qsl(query, max_num_fields=1000)))
    except ValueError:
        raise CaptureError("too many query parameters") from None


def is_automatic(item: dict[str, Any]) -> bool:
    name = item.get("event", "")
    return name is None or (isinstance(name, str) and name.strip() in AUTOMATIC)


def beacon_pixel_code(body: bytes, query: str) -> str:
    """The pixel code the page's pixel was loaded for, or "" (lets the glue compare with the config)."""
    items = read_beacon(body, query)
    context = items[0].get("context")
    pixel = context.get("pixel") if isinstance(context, dict) else None
    code = pixel.get("code") if isinstance(pixel, dict) else None
    return code if isinstance(code, str) and _PIXEL_CODE.fullmatch(code) else ""


def read_beacon(body: bytes, query: str) -> list[dict[str, Any]]:
    """The beacon's event objects, whichever of the three transports carried them."""
    if len(body) > MAX_CALL_BYTES or len(query) > MAX_CALL_BYTES:
        raise CaptureError(f"call larger than {MAX_CALL_BYTES} bytes")
    message = _param(query, _MESSAGE_PARAM)
    if message is not None:
        doc = load_json(_b64(message), "analytics_message")
    elif body.lstrip()[:1] in (b"{", b"["):
        doc = load_json(body, "body")
    elif body.strip():
        try:
            text = body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise CaptureError("body is neither JSON nor an analytics_message") from None
        in_form = _param(text, _MESSAGE_PARAM)
        doc = load_json(_b64(text if in_form is None else in_form), "analytics_message")
    else:
        raise CaptureError("no beacon in the body or the query")
    if isinstance(doc, dict) and "batch" in doc and "event" not in doc:
        doc = doc["batch"]
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise CaptureError("no events")
    if len(items) > MAX_EVENTS_PER_CALL:
        raise CaptureError(f"more than {MAX_EVENTS_PER_CALL} events in one call")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CaptureError(f"{_where(i)}: must be a JSON object")
    return items


def _param(qs: str, name: str) -> str | None:
    if name not in qs:
        return None
    try:
        values = parse_qs(qs, keep_blank_values=True, max_num_fields=1000).get(name)
    except ValueError:
        raise CaptureError("too many query parameters") from None
    return values[0] if values else None


def _b64(text: str) -> bytes:
    """Standard or URL-safe alphabet, padding optional; a `+` that a query string turned into a space is restored."""
    s = text.strip().replace(" ", "+").replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CaptureError("analytics_message is not base64") from None
    if raw[:3].upper() == b"%7B" or raw[:3].upper() == b"%5B":  # btoa(encodeURIComponent(json))
        raw = unquote(raw.decode("ascii", "replace")).encode()
    return raw


def _where(index: int) -> str:
    return f"events[{index}]" if index else "event"


def _event(item: dict[str, Any], index: int, facts: RequestFacts, now: float,
           consent: dict[str, str]) -> CapturedEvent:
    where = _where(index)
    name = event_name(item.get("event"), f"{where}.event")
    # Without {event_id} in ttq.track there is nothing to deduplicate with: a fresh id.
    eid = event_id(item.get("event_id"), f"{where}.event_id")
    props = obj(item.get("properties"), f"{where}.properties")
    context = obj(item.get("context"), f"{where}.context")
    page = obj(context.get("page"), f"{where}.context.page")
    ad = obj(context.get("ad"), f"{where}.context.ad")
    # the Referer is the page that sent the beacon; the beacon URL itself is never a page
    url = _decoded(text(page.get("url"), f"{where}.context.page.url")) or facts.headers.get("referer", "")
    referrer = text(page.get("referrer"), f"{where}.context.page.referrer")
    ttclid = query_param(url, "ttclid")
    callback = ad.get("callback")
    if not ttclid and isinstance(callback, str) and _TTCLID.fullmatch(callback):
        ttclid = callback
    return CapturedEvent(
        name=name,
        event_id=eid,
        event_time=event_time(_timestamp(item.get("timestamp")), now),
        source="tiktok_pixel",
        url=url,
        referrer=referrer,
        properties=props,
        ttclid=ttclid,
        consent_params=consent,
    )


def _decoded(url: str) -> str:
    """Some pixel builds send `page.url` percent-encoded whole (`https%3A%2F%2Fshop…`): decode it once."""
    if url[:8].lower().startswith(("http%3a", "https%3a")):
        return unquote(url)
    return url


def _timestamp(value: Any) -> float | None:
    """ISO 8601 (what the pixel sends) or epoch seconds/milliseconds; None when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # json.loads reads NaN and 400-digit integers; neither survives _event_time's arithmetic
        return value if -1e15 < value < 1e15 else None  # also False for NaN
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if t.tzinfo is None:
        return None  # a naive time is the browser's local clock: unknown offset, so unusable
    try:
        return t.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
