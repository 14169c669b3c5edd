"""Cookie header lookup and the value decodings CMPs use (percent, base64, JSON).

The header is split on `;` only (Cookiebot and CookieYes values hold raw commas); name is the
text before the first `=`. Only the names the engine asked for are kept, so a 4 KB header of
unrelated cookies costs one split and a dict lookup per cookie.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

MAX_VALUE = 32_768  # a real consent cookie is < 8 KB; longer is garbage or an attack


class ValueErrorUnknown(ValueError):
    """A cookie value that cannot be read; the signal is unknown."""


def find_cookies(header: str, names: frozenset[str], prefixes: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Values of the wanted cookies (every copy, in header order). Prefix matches are keyed by prefix."""
    return finder(names, prefixes)(header)


@functools.lru_cache(maxsize=32)
def finder(names: frozenset[str], prefixes: tuple[str, ...]) -> Callable[[str], dict[str, list[str]]]:
    """One regex for the wanted names: the scan jumps from `;` to `;` in C."""
    alts = [re.escape(n) for n in sorted(names, key=len, reverse=True)]
    alts += [re.escape(p) + r"[^=;]*" for p in prefixes]
    if not alts:
        return lambda header: {}
    pattern = re.compile(r";[ \t]*(" + "|".join(alts) + r")[ \t]*=([^;]*)")
    prefix_of = {p: p for p in prefixes}

    def find(header: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, value in pattern.findall(";" + header):
            if name not in names:
                name = prefix_of.get(name) or next(p for p in prefixes if name.startswith(p))
            found.setdefault(name, []).append(value.strip())
        return found
    return find


def raw(value: str) -> str:
    """The cookie value without RFC 6265 quotes, bounded in size."""
    if len(value) > MAX_VALUE:
        raise ValueErrorUnknown("cookie value too large")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
        if "\\" in value:  # RFC 2109 quoting as Python's http.cookies writes it: `\054` for `,`
            value = _QUOTED_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)) if m.group(1) else m.group(2), value)
    return value


_QUOTED_ESCAPE = re.compile(r"\\(?:([0-3][0-7]{2})|(.))")


# The escapes CMPs write, decoded with str.replace (C speed); urllib's unquote costs ~1 µs per
# escape, which alone would blow the per-request budget on a JSON cookie.
_COMMON = tuple((f"%{ord(c):02X}", c) for c in "\"{}[]:,' =&/@;+$!#()*?") + tuple(
    (f"%{ord(c):02x}", c) for c in "{}[]:,;" if f"{ord(c):02x}" != f"{ord(c):02X}")


def pct(value: str) -> str:
    """Percent-decode exactly once (same result as `urllib.parse.unquote`)."""
    value = raw(value)
    if "%" not in value:
        return value
    if "%25" not in value:  # no replacement can then produce a `%`: a leftover one is unhandled
        out = value
        for escape, char in _COMMON:
            if escape in out:
                out = out.replace(escape, char)
        if "%" not in out:
            return out
    return unquote(value, errors="replace")


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
