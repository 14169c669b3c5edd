"""Cookie header lookup and the value decodings CMPs use (percent, base64, JSON).

The header is split on `;` only (Cookiebot and CookieYes values hold raw commas); name is the
text before the first `=`. Only the names the engine asked for are kept, so a 4 KB header of
unrelated cookies costs one regex scan in C and a letter or two of matching per cookie.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable
from typing import Any

from pixelscleared.percent import unquote

MAX_VALUE = 32_768  # a real consent cookie is < 8 KB; longer is garbage or an attack


class ValueErrorUnknown(ValueError):
    """A cookie value that cannot be read; the signal is unknown."""


def find_cookies(header: str, names: frozenset[str], prefixes: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Values of the wanted cookies (every copy, in header order). Prefix matches are keyed by prefix."""
    return finder(names, prefixes)(header)


@functools.lru_cache(maxsize=32)
def finder(names: frozenset[str], prefixes: tuple[str, ...]) -> Callable[[str], dict[str, list[str]]]:
    """One regex for the wanted names: the scan jumps from `;` to `;` in C, and the names are a
    trie so each `;` costs one branch per letter rather than one per name."""
    if not names and not prefixes:
        return lambda header: {}
    # Possessive repeats: nothing after them can match what they gave up, so never backtrack.
    pattern = re.compile(r";[ \t]*+(" + _trie(names, prefixes) + r")[ \t]*+=([^;]*+)")
    prefix_of = {p: p for p in prefixes}

    def find(header: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, value in pattern.findall(";" + header):
            if name not in names:
                name = prefix_of.get(name) or next(p for p in prefixes if name.startswith(p))
            if name in found:
                found[name].append(value.strip())
            else:
                found[name] = [value.strip()]
        return found
    return find


def _trie(names: frozenset[str], prefixes: tuple[str, ...]) -> str:
    """A regex alternation of `names` (literal) and `prefixes` (then any name characters),
    factored by common prefix. Longer matches are tried first, as in a longest-first list."""
    root: dict[str, Any] = {}  # character → child node; "" → the tail that ends a match here
    for word, tail in [(n, "") for n in names] + [(p, r"[^=;]*+") for p in prefixes]:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = max(node.get("", ""), tail)  # a word ends here; a prefix's tail also matches it
    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(node[ch]) for ch in sorted(node) if ch]
        if "" in node:
            alts.append(node[""])
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    return emit(root)


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


def pct(value: str) -> str:
    """Percent-decode exactly once (same result as `urllib.parse.unquote`)."""
    return unquote(raw(value))


_JSON = json.JSONDecoder()


def json_value(value: str) -> Any:
    """A percent-encoded (or plain) JSON cookie value."""
    text = pct(value)
    try:
        obj, end = _JSON.raw_decode(text)  # json.loads without its wrappers, for the usual case
        if end == len(text):
            return obj
    except ValueError:
        pass
    try:
        return json.loads(text)  # leading/trailing whitespace, or not JSON at all
    except ValueError:
        raise ValueErrorUnknown("not JSON") from None


# `{"name":true,"other":false}` as encodeURIComponent writes it, names of unreserved characters.
_BOOL_ITEM = r"%22[\w.\-]++%22%3A(?:true|false)"
_FLAT_BOOLS = re.compile(rf"%7B(?:{_BOOL_ITEM}(?:%2C{_BOOL_ITEM})*+)?%7D", re.ASCII)
_BOOL_ITEMS = re.compile(r"%22([\w.\-]+)%22%3A(true|false)", re.ASCII)


def flat_bools(value: str) -> dict[str, str] | None:
    """A flat JSON object of booleans, read without decoding: name → "true" | "false" (the
    last copy of a name wins, as in JSON). None when the value is anything else; then use
    `json_value`, which gives the same object with real booleans."""
    if len(value) <= MAX_VALUE and _FLAT_BOOLS.fullmatch(value):
        return dict(_BOOL_ITEMS.findall(value))
    return None


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
