"""Field rules every capture source shares: names, ids, times, text, JSON.

Each returns a clean value or raises CaptureError with a reason that names the field, never
its value.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pixelscleared.names import CAPTURED_NAME

MAX_EVENTS_PER_CALL = 50
EVENT_ID = re.compile(r"[\x21-\x7e]{1,128}")
FUTURE_SKEW_S = 300
MAX_AGE_S = 7 * 24 * 3600  # TikTok accepts events up to 7 days old


class CaptureError(ValueError):
    """The tracking call cannot be read; the reason is safe to show (it never echoes values)."""


def load_json(raw: bytes | str, what: str = "body") -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise CaptureError(f"{what}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise CaptureError(f"{what}: not JSON") from None


def event_name(value: Any, where: str) -> str:
    if value is None:
        raise CaptureError(f'{where}: missing; every event needs a name such as "PageView"')
    if not isinstance(value, str) or not CAPTURED_NAME.fullmatch(value):
        raise CaptureError(f"{where}: must be a name of 1-100 letters, digits, _ . : - or space")
    return value.strip()


def event_id(value: Any, where: str) -> str:
    """The caller's id (kept for deduplication with the browser pixel), or a fresh uuid4."""
    if value is None or value == "":
        return str(uuid.uuid4())
    if isinstance(value, (int, str)) and not isinstance(value, bool) and EVENT_ID.fullmatch(str(value)):
        return str(value)  # TikTok needs a string; a numeric id from the page is kept as text
    raise CaptureError(f"{where}: must be a string (or integer) of 1-128 printable characters, no spaces")


def event_time(value: Any, now: float) -> int:
    """Seconds; milliseconds are recognised. Unreadable, clock-skewed or stale times become `now`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return int(now)
    try:
        t = float(value)
    except OverflowError:  # a 400-digit integer
        return int(now)
    if not math.isfinite(t):
        return int(now)
    t = t / 1000 if t > 1e11 else t
    if t > now + FUTURE_SKEW_S or t < now - MAX_AGE_S:
        return int(now)
    return int(t)


def text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CaptureError(f"{where}: must be a string")
    return value


def obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CaptureError(f"{where}: must be a JSON object")
    return value


def query_param(url: str, name: str) -> str:
    if name not in url:
        return ""
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return ""
    return values[0][:512] if values else ""
