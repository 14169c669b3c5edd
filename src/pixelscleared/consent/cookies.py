"""Cookie header lookup and the value decodings CMPs use (percent, base64, JSON).

The header is split on `;` only (Cookiebot and CookieYes values hold raw commas); name is the
text before the first `=`. Only the names the engine asked for are kept, so a 4 KB header of
unrelated cookies costs one split and a dict lookup per cookie.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote

MAX_VALUE = 32_768  # a real consent cookie is < 8 KB; longer is garbage or an attack


class ValueErrorUnknown(ValueError):
    """A cookie value that cannot be read; the signal is unknown."""


def find_cookies(header: str, names: frozenset[str], prefixes: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Values of the wanted cookies (every copy, in header order). Prefix matches are keyed by prefix."""
    found: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        name = name.strip()
        if name in names:
            key = name
        elif prefixes and name.startswith(prefixes):
            key = next(p for p in prefixes if name.startswith(p))
        else:
            continue
        found.setdefault(key, []).append(value.strip())
    return found


def raw(value: str) -> str:
    """The cookie value without RFC 6265 quotes, bounded in size."""
    if len(value) > MAX_VALUE:
        raise ValueErrorUnknown("cookie value too large")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def pct(value: str) -> str:
    """Percent-decode exactly once."""
    return unquote(raw(value), errors="replace")


def json_value(value: str) -> Any:
    """A percent-encoded (or plain) JSON cookie value."""
    text = pct(value)
    try:
        return json.loads(text)
    except ValueError:
        raise ValueErrorUnknown("not JSON") from None


def b64_json(value: str) -> Any:
    """A base64 (standard or url-safe, padding optional) JSON cookie value, maybe percent-encoded."""
    text = pct(value).strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
        return json.loads(data)
    except (binascii.Error, ValueError):
        raise ValueErrorUnknown("not base64 JSON") from None


def json_path(obj: Any, path: str) -> Any:
    """Walk a dotted path through dicts (keys) and lists (indexes); missing → KeyError."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            raise KeyError(part)
    return obj
