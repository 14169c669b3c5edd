"""Scrubbing engine: every string that can leave goes through here.

Contract used by the rest of the pipeline:
- `Scrubber(settings)` is built once at config load; all patterns are compiled there.
- `scrub_value(value, path)` / `scrub_url(url, path)` / `scrub_form(body, path)` /
  `scrub_json_bytes(body, path)` → ScrubResult(value, removed).
- They raise ScrubError when they cannot finish (too big, too deep, over the time budget,
  a value that is not JSON-like); callers then drop the event (fail closed).

Redaction keeps structure: a personal key is dropped, a finding inside free text becomes
`[kind]`, URLs stay URLs (personal query parameters removed, path segments replaced).
`Removed` records name a path and a kind, never the value; a path never contains a key that
was itself personal data.
"""

from __future__ import annotations

import base64
import functools
import gc
import json
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pixelscleared.percent import quote, unquote
from pixelscleared.scrub import person_names
from pixelscleared.scrub.detectors import Deadline, TextDetectors, b64decode_text, undisguise
from pixelscleared.scrub.keys import AMBIGUOUS_NAME, AMOUNT_OR_PERSON, KEEP, PERSON_PATH_WORDS, KeyRules
from pixelscleared.scrub.secrets import could_be_secret, secret_param, secret_path, secret_segment
from pixelscleared.scrub.settings import DETECTORS, ScrubSettings

_gc_cpu = [0.0, 0.0]  # [CPU seconds spent in garbage collection so far, start of the current one]


def _count_gc(phase: str, info: dict[str, int]) -> None:
    """A collection of the whole heap can take longer than an event's budget; it is not the
    input's fault, so its CPU time is not charged to the budget."""
    if phase == "start":
        _gc_cpu[1] = time.thread_time()
    else:
        _gc_cpu[0] += time.thread_time() - _gc_cpu[1]


gc.callbacks.append(_count_gc)


class ScrubError(Exception):
    """Scrubbing could not complete; the event must not be sent. The reason never holds values."""


class Removed(NamedTuple):
    """What was removed and where (never the value). A tuple: events make several, and a frozen
    dataclass costs ~5× more to build."""

    path: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind}


class ScrubResult(NamedTuple):
    value: Any
    removed: list[Removed]


_URLISH = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]{1,15}:)?//\S+|/\S*\?\S*")
_MAX_KEY_IN_PATH = 80
_MAX_URL_NESTING = 4
# base64 of JSON begins with `{"`, `{ `, `{\n`, `[{`, `["`, `[1`, `[\n` → "ey", "ew", "W3", "Wy", "Wz", "Ww"
_B64_JSON_STARTS = frozenset({"ey", "ew", "W3", "Wy", "Wz", "Ww"})
_B64_JSON_MIN = 12
# `key=value&key=value`: two pairs at least, keys as forms write them, no spaces (prose has them)
_FORM_TEXT = re.compile(r"[\w.\[\]%$-]+=[^&=\s]*(?:&[\w.\[\]%$-]+=[^&=\s]*)+&?")
_JSON_OPEN = ("{", "[")
_JSON_CLOSE = ("}", "]")
_B64_TEXT = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_KEY_CACHE_MAX = 4096  # entries per cache; clean URLs and pairs are ≤ 2 KB each
_PII_KEY = "pii-key"
_CLEAN_URL_LEN = 2048
_REGIONAL_MAX = 64  # scrubbers for other phone regions kept at once (each compiles its detectors)
_MEMO_KEYS = 24  # flat mappings up to this many keys are remembered when clean
_MEMO_ITEMS = 8  # and lists of up to this many of them
_PAIR_VALUES = ("value", "values", "answer")
_PAIR_LABELS = ("name", "field", "fieldName", "field_name", "key", "id", "label", "question")
_LABEL = re.compile(r"[^\W\d][\w .\-\[\]:]{0,79}")  # a field's name or label, not free text


_HAS_DIGIT = re.compile(r"\d")


def _person_segment(before: str, seg: str) -> bool:
    """A segment after `/users/`, `/profile/`, `/kunde/`… that names one person: an id with a
    digit, a name slug or an `@handle` (route words such as `edit` or `sign_in` are not)."""
    if before.lower() not in PERSON_PATH_WORDS:
        return False
    if "%" in seg:
        seg = unquote(seg)
    return _HAS_DIGIT.search(seg) is not None or seg.startswith("@") or person_names.name_slug(seg)


def _fail_closed(fn: Callable[..., ScrubResult]) -> Callable[..., ScrubResult]:
    """Any failure becomes a ScrubError, so callers only have one thing to catch and drop on.

    The message names the exception type only: an exception's text may quote the input.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> ScrubResult:
        try:
            return fn(*args, **kwargs)
        except ScrubError:
            raise
        except RecursionError:
            raise ScrubError("input nested too deeply") from None
        except MemoryError:
            raise ScrubError("input too large") from None
        except Exception as e:  # noqa: BLE001 — a bug must never let an unscrubbed event through
            raise ScrubError(f"internal error ({type(e).__name__})") from None

    return wrapper


_AMOUNT = re.compile(r"-?\d{1,12}(?:[.,]\d{1,6})?")


def _is_amount(value: Any) -> bool:
    """A number, or text that is one (`4.99`, `12,50`): what a cost looks like, and no person does."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and _AMOUNT.fullmatch(value.strip()) is not None


def split_url(u: str) -> tuple[str, str, str, str, str]:
    """`urllib.parse.urlsplit`, with a short way for the usual URL (`https://host/path?query#frag`
    or `/path?query`, printable ASCII, no brackets in the host) giving the same five parts: most
    URLs in events are new (an order number, a page id) and urlsplit caches only its last 128."""
    if u.isascii() and u.isprintable():
        if u.startswith("https://") or u.startswith("http://"):
            scheme, _, rest = u.partition("://")
        elif u[:1] == "/" and u[1:2] != "/":
            scheme, rest = "", u
        else:
            return urlsplit(u)
        # the host ends at the first "/", "?" or "#"; the query at the first "#"
        body, _, fragment = rest.partition("#")
        body, _, query = body.partition("?")
        if not scheme:
            return "", "", body, query, fragment
        slash = body.find("/")
        netloc, upath = (body[:slash], body[slash:]) if slash >= 0 else (body, "")
        if "[" not in netloc and "]" not in netloc:
            return scheme, netloc, upath, query, fragment
    return urlsplit(u)


def join_url(scheme: str, netloc: str, upath: str, query: str, fragment: str) -> str:
    """`urllib.parse.urlunsplit` of five parts, without its generality for the shapes `split_url`
    takes apart itself (`http(s)://host/path`, `/path`)."""
    if scheme in ("https", "http") and (not upath or upath[0] == "/") and (netloc or upath[:2] != "//"):
        # (a "//" path without a host is joined differently by Python 3.12 and 3.13: urllib's call)
        url = f"{scheme}://{netloc}{upath}"
    elif not scheme and not netloc and upath[:1] == "/" and upath[:2] != "//":
        url = upath
    else:
        return urlunsplit((scheme, netloc, upath, query, fragment))
    if query:
        url = f"{url}?{query}"
    if fragment:
        url = f"{url}#{fragment}"
    return url


def _join(path: str, key: str) -> str:
    if len(key) > _MAX_KEY_IN_PATH:
        key = key[:_MAX_KEY_IN_PATH] + "…"
    return f"{path}.{key}" if path else key


class Scrubber:
    """Holds the compiled detectors and key rules for one configuration."""

    def __init__(self, settings: ScrubSettings | None = None):
        self.settings = settings or ScrubSettings()
        s = self.settings
        self.detectors = TextDetectors(
            [d for d in DETECTORS if d not in s.disable], s.patterns, s.phone_regions
        )
        self.keys = KeyRules(s.drop_keys, s.keep_keys)
        self.key_cache: dict[str, tuple[str | None, Any]] = {}  # clean keys: (rule, is thing container)
        self.clean_urls: dict[str, None] = {}  # strings with a "/" (URLs, user agents) found clean as a whole
        self.clean_pairs: dict[str, None] = {}
        self.clean_paths: dict[str, None] = {}
        # Flat mappings (scalar values only) found entirely clean → (strings, bytes) they count:
        # a shop's product items and a tag's fixed blocks repeat in every event.
        self.clean_maps: dict[tuple[Any, ...], tuple[int, int]] = {}
        self._regional: dict[tuple[str, ...], Scrubber] = {}

    def with_regions(self, regions: tuple[str, ...]) -> Scrubber:
        """This scrubber, also recognising national phone formats of `regions` (from the event's
        own hints, scrub/regions.py). One scrubber per set, made once: its clean-value caches are
        its own, since a value clean for US formats may hold a Spanish number."""
        extra = tuple(r for r in regions if r not in self.settings.phone_regions)
        if not extra:
            return self
        if (found := self._regional.get(extra)) is None:
            if len(self._regional) >= _REGIONAL_MAX:
                self._regional.clear()
            settings = self.settings.model_copy(update={"phone_regions": [*self.settings.phone_regions, *extra]})
            found = self._regional[extra] = Scrubber(settings)
        return found

    def clear_caches(self) -> None:
        """Forget the strings, keys, URLs, query pairs and flat mappings already found clean."""
        for cache in (self.detectors.clean, self.detectors.clean_light, self.detectors.clean_thing, self.key_cache,
                      self.clean_urls, self.clean_pairs, self.clean_paths, self.clean_maps):
            cache.clear()

    def __repr__(self) -> str:
        return (f"Scrubber(detectors={sorted(self.detectors.enabled)}, custom={len(self.detectors.custom)}, "
                f"drop_keys={len(self.keys.drop)}, keep_keys={len(self.keys.keep)})")

    @_fail_closed
    def scrub_value(self, value: Any, path: str = "") -> ScrubResult:
        """A JSON-like value at any depth (dicts, lists, strings, numbers, bools, None)."""
        run = _Run(self)
        return run.finish(run.value(value, path, 0, False, False))

    @_fail_closed
    def scrub_url(self, url: str, path: str = "url") -> ScrubResult:
        run = _Run(self)
        if not isinstance(url, str):
            raise ScrubError(f"{path}: not a string")
        return run.finish(run.url(url, path, 0))

    @_fail_closed
    def scrub_form(self, body: str, path: str = "form") -> ScrubResult:
        """An application/x-www-form-urlencoded body; personal fields are removed."""
        run = _Run(self)
        if not isinstance(body, str):
            raise ScrubError(f"{path}: not a string")
        run.count(body)
        return run.finish(run.query(body, path, 0))

    @_fail_closed
    def scrub_text(self, text: str, path: str = "") -> ScrubResult:
        """One free-text string (no key context)."""
        run = _Run(self)
        return run.finish(run.text(text, path, False, 0))

    @_fail_closed
    def scrub_json_bytes(self, body: bytes, path: str = "") -> ScrubResult:
        """A JSON request body; the result is bytes, identical to the input when nothing was removed."""
        if len(body) > self.settings.max_bytes:
            raise ScrubError(f"{path or 'body'}: larger than {self.settings.max_bytes} bytes")
        try:
            doc = json.loads(body)
        except RecursionError:
            raise ScrubError(f"{path or 'body'}: nested too deeply") from None
        except (ValueError, UnicodeDecodeError):
            raise ScrubError(f"{path or 'body'}: not JSON") from None
        res = self.scrub_value(doc, path)
        if not res.removed:
            return ScrubResult(body, [])
        try:
            out = json.dumps(res.value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: keep them as JSON escapes
            out = json.dumps(res.value, separators=(",", ":")).encode("ascii")
        return ScrubResult(out, res.removed)


class _Run:
    """The state of one scrub call: findings, limits and the deadline."""

    __slots__ = ("_seen", "bytes", "clean_maps", "clean_pairs", "clean_paths", "clean_urls", "cpu_start", "deadline", "det", "key_cache", "keys",
                 "json_depth", "max_bytes", "max_depth", "max_strings", "removed", "s", "strings")

    def __init__(self, scrubber: Scrubber):
        self.det = scrubber.detectors
        self.keys = scrubber.keys
        self.key_cache = scrubber.key_cache
        self.clean_urls = scrubber.clean_urls
        self.clean_pairs = scrubber.clean_pairs
        self.clean_paths = scrubber.clean_paths
        self.clean_maps = scrubber.clean_maps
        s = self.s = scrubber.settings
        self.max_strings, self.max_bytes, self.max_depth = s.max_strings, s.max_bytes, s.max_depth
        self.removed: list[Removed] = []
        self._seen: set[Removed] = set()
        # The budget is CPU time of this thread: the wall clock is the cheap check, and when it
        # runs out the CPU actually spent decides (a busy machine pausing us is not the input's fault).
        self.cpu_start = time.thread_time() - _gc_cpu[0]
        self.deadline = time.perf_counter() + s.time_budget_ms / 1000
        self.strings = 0
        self.bytes = 0
        self.json_depth = 0  # JSON text inside a string, inside JSON text…: each level counts

    def finish(self, value: Any) -> ScrubResult:
        return ScrubResult(value, self.removed)

    def add(self, path: str, kind: str) -> None:
        found = Removed(path, kind)
        if found not in self._seen:
            self._seen.add(found)
            self.removed.append(found)

    def count(self, s: str) -> None:
        self.strings += 1
        self.bytes += len(s)
        if self.strings > self.max_strings or self.bytes > self.max_bytes or time.perf_counter() > self.deadline:
            self.over()

    def over(self) -> None:
        """Raise for the first limit passed (checked in this order)."""
        if self.strings > self.max_strings:
            raise ScrubError(f"more than {self.s.max_strings} strings")
        if self.bytes > self.max_bytes:
            raise ScrubError(f"more than {self.s.max_bytes} bytes of text")
        if self.out_of_time():
            raise ScrubError(f"time budget of {self.s.time_budget_ms} ms exceeded")

    def out_of_time(self) -> bool:
        """Past the wall-clock deadline: True if the CPU spent is past the budget too, else the
        deadline moves to where the rest of the budget ends."""
        now = time.perf_counter()
        if now <= self.deadline:
            return False
        left = self.s.time_budget_ms / 1000 - (time.thread_time() - _gc_cpu[0] - self.cpu_start)
        if left <= 0:
            return True
        self.deadline = now + left
        return False

    def detect(self, s: str, light: bool, thing: bool = False) -> tuple[str, list[str]]:
        while True:
            kinds: list[str] = []
            try:
                return self.det.scrub(s, kinds, light, self.deadline, thing), kinds
            except Deadline:
                if self.out_of_time():
                    raise ScrubError(f"time budget of {self.s.time_budget_ms} ms exceeded") from None
                # paused, not slow: this string again, with the rest of the budget
            except RecursionError:
                raise ScrubError("input too complex") from None

    def key(self, key: str) -> tuple[str | None, Any]:
        """(rule, is thing container) for a clean key; (_PII_KEY, [redacted key, *kinds]) for a key that is
        personal data. One tuple shape for both: this runs for every key, so no wrapper object."""
        info = self.key_cache.get(key)
        if info is not None:
            return info
        clean_key, kinds = self.detect(key, False)
        if kinds:
            return (_PII_KEY, [clean_key, *kinds])
        info = (self.keys.rule(key), self.keys.is_thing_container(key))
        if len(self.key_cache) >= _KEY_CACHE_MAX:
            self.key_cache.clear()
        self.key_cache[key] = info  # only clean keys are remembered
        return info

    # --- JSON-like values ----------------------------------------------------------------
    def value(self, v: Any, path: str, depth: int, product: bool, light: bool) -> Any:
        if depth > self.max_depth:
            raise ScrubError(f"nested deeper than {self.s.max_depth} levels")
        t = type(v)
        if t is str:
            return self.text(v, path, light, 0, product)
        if t is dict:
            return self.mapping(v, path, depth, product, light)
        if t is list or t is tuple:
            return self.sequence(v, path, depth, product, light)
        if v is None or t is bool or t is float:
            return v
        if t is int:
            # numbers as long as a card number are checked as text; ids and amounts are shorter
            if light or -10**12 < v < 10**12:
                return v
            s = str(v)
            out = self.text(s, path, light, 0)
            return v if out == s else out
        if isinstance(v, str):
            return self.text(str(v), path, light, 0)
        if isinstance(v, dict):
            return self.mapping(v, path, depth, product, light)
        raise ScrubError(f"{path or 'value'}: unsupported type {t.__name__}")

    def sequence(self, v: list[Any] | tuple[Any, ...], path: str, depth: int, product: bool, light: bool) -> list[Any]:
        """A list; in a command-style array (`["set", "user_data", {…}]`, gtag's and dataLayer's
        shape) a string naming personal data makes the element after it personal too."""
        memo: tuple[Any, ...] | None = None
        if 1 < len(v) <= _MEMO_ITEMS and type(v[0]) is dict and depth + 2 < self.max_depth:
            # a list of flat items (a shop's `contents`, GA4's `items`): remembered as a whole when clean
            try:
                memo = (product, light, *[(*x, *x.values()) for x in v])
                counts = self.clean_maps.get(memo)
            except (TypeError, AttributeError):  # not all flat mappings
                memo = counts = None
            if counts is not None:
                self.recount(counts)
                return [dict(x) for x in v]
        strings, nbytes = self.strings, self.bytes
        out: list[Any] = []
        drop_next: str | None = None
        for i, x in enumerate(v):
            if drop_next is not None:
                self.add(f"{path}[{i}]", drop_next)
                drop_next = None
                continue
            if type(x) is dict and depth < self.max_depth:  # a list of items: straight to the mapping
                out.append(self.mapping(x, f"{path}[{i}]", depth + 1, product, light))
                continue
            out.append(self.value(x, f"{path}[{i}]", depth + 1, product, light))
            if type(x) is str and i + 1 < len(v) and (len(v) <= 4 or type(v[i + 1]) in (dict, list)) \
                    and _LABEL.fullmatch(x) and " " not in x:
                rule = self.keys.rule(x)
                if rule is not None and rule is not KEEP and not (rule is AMOUNT_OR_PERSON and _is_amount(v[i + 1])):
                    drop_next = "name" if rule is AMBIGUOUS_NAME else "user" if rule is AMOUNT_OR_PERSON else rule
        if memo is not None and out == v:
            self.remember(memo, strings, nbytes)
        return out

    def pair(self, d: dict[Any, Any]) -> tuple[Any, Any, str | None] | None:
        """(label key, value key, rule of the label) when `d` is one field of a name/value list —
        HubSpot's `{"name": "email", "value": …}`, `{"field": …, "value": …}`, `{"id": "Email",
        "value": …}` — where the sibling label, not the literal key `value`, says what the value is."""
        value_key = next((k for k in _PAIR_VALUES if k in d), None)
        if value_key is None or len(d) > 8:
            return None
        for label_key in _PAIR_LABELS:
            label = d.get(label_key)
            if type(label) is str and _LABEL.fullmatch(label):
                rule = self.keys.rule(label)
                if rule is None and " " in label:
                    return None  # "Jane Doe": a person's record, not a field's label
                if rule is KEEP:
                    rule = None  # a kept field: its value is scrubbed like any text
                elif rule is AMBIGUOUS_NAME:
                    rule = "name"  # a form's `name` field holds the person's name
                return label_key, value_key, rule
        return None

    def name_is_a_thing(self, d: dict[Any, Any]) -> bool:
        """A `name` beside item or event keys (value, sku, category…) and no personal key."""
        keys = [k for k in d if type(k) is str]
        if not self.keys.names_a_thing(keys):
            return False
        return all(self.keys.rule(k) in (None, KEEP, AMBIGUOUS_NAME) for k in keys)

    def mapping(self, d: dict[Any, Any], path: str, depth: int, product: bool, light: bool) -> dict[Any, Any]:
        memo: tuple[Any, ...] | None = None
        if len(d) <= _MEMO_KEYS and depth + 1 < self.max_depth:
            memo = (product, light, *d, *d.values())  # one tuple: n keys, then their n values
            try:
                counts = self.clean_maps.get(memo)
            except TypeError:  # a list or a mapping among the values: not flat, walked every time
                counts = memo = None
            if counts is not None:
                self.recount(counts)
                return dict(d)
        strings, nbytes = self.strings, self.bytes
        out = self.walk(d, path, depth, product, light)
        if memo is not None and out == d:
            self.remember(memo, strings, nbytes)
        return out

    def remember(self, memo: tuple[Any, ...], strings: int, nbytes: int) -> None:
        """A small container that came out equal to its input (nothing removed or changed, so
        nothing personal is remembered), with what it counted since `strings`/`nbytes`."""
        if self.bytes - nbytes <= _CLEAN_URL_LEN:
            if len(self.clean_maps) >= _KEY_CACHE_MAX:
                self.clean_maps.clear()
            self.clean_maps[memo] = (self.strings - strings, self.bytes - nbytes)

    def recount(self, counts: tuple[int, int]) -> None:
        """A remembered clean container: its strings and bytes still count toward the limits."""
        self.strings += counts[0]
        self.bytes += counts[1]
        if self.strings > self.max_strings or self.bytes > self.max_bytes:
            self.over()

    def walk(self, d: dict[Any, Any], path: str, depth: int, product: bool, light: bool) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        det, clean_urls, key_cache = self.det, self.clean_urls, self.key_cache
        clean, clean_light, clean_thing = det.clean, det.clean_light, det.clean_thing
        leaf_ok = depth < self.max_depth  # a value one level down is within max_depth
        n = c = 0
        pair = self.pair(d) if ("value" in d or "values" in d or "answer" in d) else None
        thing: bool | None = None  # whether a `name` here names a thing: decided when one is met
        for k, sub in d.items():
            key = k if type(k) is str else str(k)
            n += len(key)
            rule, extra = key_cache.get(key) or self.key(key)
            if pair is not None:
                if k == pair[0]:
                    rule = None  # the label names a field; it is not a person's name
                elif k == pair[1]:
                    rule = pair[2]
            if rule is AMOUNT_OR_PERSON:
                rule = None if _is_amount(sub) else "user"
            if rule is AMBIGUOUS_NAME and not product:
                if thing is None:
                    thing = self.name_is_a_thing(d)
                if thing:
                    rule = None
            if rule is None or (rule is AMBIGUOUS_NAME and product):
                t = type(sub)
                # fast paths: numbers, and strings already known to hold nothing (most of an event)
                if t is str:
                    as_thing = extra or rule is AMBIGUOUS_NAME
                    if ("/" not in sub and (sub in clean or (as_thing and sub in clean_thing))) or sub in clean_urls:
                        n += len(sub)
                        c += 1
                        out[k] = sub
                    else:
                        # a thing's own name, brand or category (`content_name`, `brand`, an item's
                        # `name`) — not every string beside it (`engraving` on an item stays personal)
                        out[k] = self.text(sub, f"{path}.{key}" if path else key, light, 0, as_thing)
                elif t is float or t is bool or sub is None or (t is int and -10**12 < sub < 10**12):
                    out[k] = sub
                elif t is dict and leaf_ok:
                    out[k] = self.mapping(sub, f"{path}.{key}" if path else key, depth + 1, product or extra, light)
                else:
                    out[k] = self.value(sub, f"{path}.{key}" if path else key, depth + 1, product or extra, light)
            elif rule is _PII_KEY:  # the key itself is personal data: drop the entry, name it by its redacted form
                for kind in extra[1:]:
                    self.add(_join(path, extra[0]), kind)
            elif rule is KEEP:
                t = type(sub)
                if leaf_ok and t is str and "/" not in sub and (sub in clean or sub in clean_light):
                    n += len(sub)  # known to hold nothing for the light check: what `value` would find
                    c += 1
                    out[k] = sub
                elif leaf_ok and (t is float or t is bool or t is int or sub is None):
                    out[k] = sub  # numbers under a kept key are never checked
                elif leaf_ok and t is str:
                    out[k] = self.text(sub, f"{path}.{key}" if path else key, True, 0)  # what `value` would do
                else:
                    out[k] = self.value(sub, f"{path}.{key}" if path else key, depth + 1, product or extra, True)
            else:
                self.add(_join(path, key), "name" if rule is AMBIGUOUS_NAME else rule)
        self.strings += len(d) + c + 1  # keys, values known clean, and the mapping itself
        self.bytes += n
        if self.strings > self.max_strings or self.bytes > self.max_bytes or time.perf_counter() > self.deadline:
            self.over()
        return out

    def text(self, s: str, path: str, light: bool, nesting: int, thing: bool = False) -> str:
        """`thing`: the text describes a thing (a product's name, a brand, a category), where a name
        pair alone is a brand (`Calvin Klein`), not a visitor; context still finds a person."""
        self.strings += 1
        self.bytes += len(s)
        if self.strings > self.max_strings or self.bytes > self.max_bytes or time.perf_counter() > self.deadline:
            self.over()
        if "/" in s and nesting < _MAX_URL_NESTING and _URLISH.fullmatch(s):
            if s in self.clean_urls:
                return s
            n = len(self.removed)
            out = self.url(s, path, nesting + 1)
            if out is s and len(self.removed) == n and len(s) <= _CLEAN_URL_LEN:
                if len(self.clean_urls) >= _KEY_CACHE_MAX:
                    self.clean_urls.clear()
                self.clean_urls[s] = None  # only URLs with no finding are remembered
            return out
        if s[:1] in _JSON_OPEN and s[-1:] in _JSON_CLOSE and self.json_depth < _MAX_URL_NESTING:
            found = self.json_text(s, path, light, thing)
            if found is not None:
                return found
        if "&" in s and "=" in s and nesting < _MAX_URL_NESTING and _FORM_TEXT.fullmatch(s):
            # a form body kept as text (`"form": "first_name=Jane&zip=02118"`): judged pair by pair
            return self.query(s, path, nesting + 1)
        out, kinds = self.detect(s, light, thing)
        for kind in kinds:
            self.add(path, kind)
        if not kinds and "/" in s and nesting == 0 and not light and not thing and len(s) <= _CLEAN_URL_LEN:
            # a user agent, a date, a path in prose: not a URL, so clean for the detectors is clean
            # as a whole (the walk's fast path needs this for strings with a "/")
            if len(self.clean_urls) >= _KEY_CACHE_MAX:
                self.clean_urls.clear()
            self.clean_urls[s] = None
        return out

    def json_text(self, s: str, path: str, light: bool, thing: bool) -> str | None:
        """A string holding JSON (`"payload": "{\"first_name\": …}"`, a stringified dataLayer):
        scrubbed by its keys like the rest of the body, written back compactly when something
        went; None when it is not a JSON object or list (then it is text)."""
        if (found := self.json_doc(s, path, light, thing)) is None:
            return None
        return json.dumps(found[0], ensure_ascii=False, separators=(",", ":")) if found[1] else s

    def json_doc(self, text: str, path: str, light: bool, thing: bool = False) -> tuple[Any, bool] | None:
        """JSON text of an object or a list, scrubbed by its keys like a body: (the result, whether
        anything went); None when it is not JSON of that kind (then it is judged as text)."""
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, (dict, list)):
            return None
        n = len(self.removed)
        self.json_depth += 1
        try:
            out = self.value(doc, path, 1, thing, light)
        finally:
            self.json_depth -= 1
        return out, not (len(self.removed) == n and out == doc)

    # --- URLs and query strings ----------------------------------------------------------
    def url(self, u: str, path: str, nesting: int) -> str:
        if nesting == 0:
            self.count(u)
        if "&#" in u or "&commat;" in u:
            # `?to=jane&#64;example.com`: the entity's `#` would split the address into a fragment
            revealed = undisguise(u)
            if revealed != u:
                n = len(self.removed)
                out = self.url_parts(revealed, path, nesting)
                return out if len(self.removed) > n else self.url_parts(u, path, nesting)
        return self.url_parts(u, path, nesting)

    def url_parts(self, u: str, path: str, nesting: int) -> str:
        try:
            parts = split_url(u)
        except ValueError:
            raise ScrubError(f"{path}: not a valid URL") from None
        scheme, netloc, upath, query, fragment = parts
        changed = False
        if "@" in netloc:
            netloc = netloc.rpartition("@")[2]
            self.add(f"{path}.userinfo", "credentials")
            changed = True
        if upath:
            new_path = self.url_path(upath, path)
            changed |= new_path is not upath
            upath = new_path
        if query:
            new_query = self.query(query, f"{path}.query", nesting)
            changed |= new_query is not query
            query = new_query
        if fragment:
            new_frag = self.fragment(fragment, f"{path}.fragment", nesting)
            changed |= new_frag is not fragment
            fragment = new_frag
        if not changed:
            return u
        return join_url(scheme, netloc, upath, query, fragment)

    def url_path(self, upath: str, path: str) -> str:
        if upath in self.clean_paths:
            return upath
        segs = upath.split("/")
        offset = 1 if upath.startswith("/") else 0
        changed = False
        in_secret_path = secret_path(segs)
        for i, seg in enumerate(segs):
            if not seg:
                continue
            where = f"{path}.path[{i - offset}]"
            if ";" in seg:  # `/cart;jsessionid=…`: path parameters, judged like query pairs
                kept = self.path_params(seg, where)
                if kept is not seg:
                    segs[i] = seg = kept
                    changed = True
            out, kinds = self.detect(seg, False)
            if not kinds and secret_segment(unquote(seg) if "%" in seg else seg, in_secret_path):
                out, kinds = "[secret]", ["secret"]
            if not kinds and i > 0 and _person_segment(segs[i - 1], seg):
                out, kinds = "[user_id]", ["user_id"]
            if kinds:
                for kind in kinds:
                    self.add(where, kind)
                segs[i] = quote(out)
                changed = True
        if changed:
            return "/".join(segs)
        if len(upath) <= _CLEAN_URL_LEN:
            if len(self.clean_paths) >= _KEY_CACHE_MAX:
                self.clean_paths.clear()
            self.clean_paths[upath] = None  # only paths with no finding are remembered
        return upath

    def path_params(self, seg: str, where: str) -> str:
        base, *params = seg.split(";")
        kept = [base]
        for param in params:
            name, _, value = param.partition("=")
            rule = self.keys.rule(name) if name else None
            if rule not in (None, KEEP) or secret_param(name, value):
                self.add(f"{where};{name[:_MAX_KEY_IN_PATH]}", "secret" if rule in (None, KEEP) else
                         "name" if rule is AMBIGUOUS_NAME else str(rule))
                continue
            kept.append(param)
        return seg if len(kept) == len(params) + 1 else ";".join(kept)

    def fragment(self, frag: str, path: str, nesting: int) -> str:
        if frag.startswith(("/", "!/")) and nesting < _MAX_URL_NESTING:
            bang = "!" if frag.startswith("!") else ""
            body = frag[len(bang):]
            out = self.url(body, path, nesting + 1)
            return frag if out is body else bang + out
        if "=" in frag:
            return self.query(frag, path, nesting)
        out, kinds = self.detect(frag, False)
        if not kinds:
            return frag
        for kind in kinds:
            self.add(path, kind)
        return quote(out)

    def query(self, qs: str, path: str, nesting: int) -> str:
        """`a=1&b=2`: personal keys dropped, values scrubbed; untouched pairs stay byte-identical."""
        out: list[str] = []
        changed = False
        strings = nbytes = 0  # counted here, added to the run's totals at the end
        clean, key_cache, clean_pairs = self.det.clean, self.key_cache, self.clean_pairs
        for pair in qs.split("&"):
            if not pair or pair in clean_pairs:  # most pairs of a tag's hits: known to hold nothing
                strings += 1
                nbytes += len(pair)
                out.append(pair)
                continue
            k_raw, eq, v_raw = pair.partition("=")
            key = unquote(k_raw.replace("+", " ")) if ("%" in k_raw or "+" in k_raw) else k_raw
            strings += 1
            nbytes += len(key)
            rule, extra = key_cache.get(key) or self.key(key)
            if (rule is None or rule is KEEP) and len(v_raw) >= _B64_JSON_MIN and v_raw[:2] in _B64_JSON_STARTS:
                found = self.b64_json_param(v_raw, _join(path, key), rule is KEEP)
                if found is not None:  # Mixpanel's and Segment's `data=`, Snowplow's `cx=`/`ue_px=`
                    if found:
                        out.append(f"{k_raw}={found}")
                        changed = True
                    else:
                        out.append(pair)
                    continue
            if rule is None and len(v_raw) >= 4 and could_be_secret(key, len(v_raw)) \
                    and secret_param(key, unquote(v_raw) if "%" in v_raw else v_raw):
                self.add(_join(path, key), "secret")  # a reset link's `key=`, a signed URL's `sig=`
                changed = True
                continue
            if rule is None and v_raw in clean and not ("%" in v_raw or "/" in v_raw or "+" in v_raw):
                strings += 1  # fast path: a plain value already known to hold nothing
                nbytes += len(v_raw)
                out.append(pair)
                continue
            if rule is _PII_KEY:
                for kind in extra[1:]:
                    self.add(_join(path, extra[0]), kind)
                changed = True
                continue
            if rule is AMOUNT_OR_PERSON:
                rule = None if _is_amount(v_raw) else "user"
            if rule is not None and rule is not KEEP:
                self.add(_join(path, key), "name" if rule is AMBIGUOUS_NAME else rule)
                changed = True
                continue
            if not eq or not v_raw:
                out.append(pair)
                continue
            new = self.query_value(v_raw, path, key, rule is KEEP, nesting)
            if new is None:
                out.append(pair)
                # only pairs with no finding are remembered; in a nested query (a URL inside a URL)
                # only those whose value cannot hold a URL, which nesting deeper would not examine
                if len(pair) <= _CLEAN_URL_LEN and (nesting == 0 or not ("/" in v_raw or "%2F" in v_raw
                                                                         or "%2f" in v_raw)):
                    if len(clean_pairs) >= _KEY_CACHE_MAX:
                        clean_pairs.clear()
                    clean_pairs[pair] = None
            else:
                out.append(f"{k_raw}={quote(new)}")
                changed = True
        self.strings += strings
        self.bytes += nbytes
        self.count("")
        return "&".join(out) if changed else qs

    def json_param(self, v_raw: str, path: str, light: bool) -> str | None:
        """A parameter holding a JSON object or list: "" when it is JSON and nothing was removed,
        the scrubbed JSON when something was, None when it is not JSON (then it is plain text)."""
        text = unquote(v_raw.replace("+", " ")) if "%" in v_raw or "+" in v_raw else v_raw
        if text[-1:] not in "}]" or (found := self.json_doc(text, path, light)) is None:
            return None
        return json.dumps(found[0], separators=(",", ":"), ensure_ascii=False) if found[1] else ""

    def b64_json_param(self, v_raw: str, path: str, light: bool) -> str | None:
        """A parameter holding base64 of a JSON object or list: "" when nothing was removed, the
        scrubbed JSON encoded as it came (same alphabet, padding) when something was, None when it
        is not base64 JSON — then it is judged like any value (a random one is a secret)."""
        text = unquote(v_raw) if "%" in v_raw else v_raw
        decoded = b64decode_text(text) if _B64_TEXT.fullmatch(text) else None
        if decoded is None or decoded.lstrip()[:1] not in ("{", "[") or (found := self.json_doc(decoded, path, light)) is None:
            return None
        if not found[1]:
            return ""
        raw = json.dumps(found[0], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if "-" in text or "_" in text:
            enc = base64.urlsafe_b64encode(raw).decode("ascii")
        else:
            enc = base64.b64encode(raw).decode("ascii")
        if not text.endswith("="):
            enc = enc.rstrip("=")
        return quote(enc)

    def query_value(self, v_raw: str, qpath: str, key: str, light: bool, nesting: int) -> str | None:
        """The redacted, decoded value of `key` in the query at `qpath`, or None when nothing was found."""
        self.strings += 1
        self.bytes += len(v_raw)
        if self.strings > self.max_strings or self.bytes > self.max_bytes or time.perf_counter() > self.deadline:
            self.over()
        # JSON in a parameter (Pinterest's `pd={"em":…}`, a tag's `cd={…}`): scrubbed by its keys,
        # as a body would be, and written back compactly when something went
        if v_raw[:1] in ("{", "[") or v_raw[:3].upper() in ("%7B", "%5B"):
            if (found := self.json_param(v_raw, _join(qpath, key), light)) is not None:
                return found or None
        # a form body as one parameter (`fd=first_name%3DJane%26zip%3D02118`): judged pair by pair
        if nesting < _MAX_URL_NESTING and ("%26" in v_raw or "&" in v_raw) and ("%3D" in v_raw or "%3d" in v_raw):
            value = unquote(v_raw)
            if _FORM_TEXT.fullmatch(value):
                out = self.query(value, _join(qpath, key), nesting + 1)
                return None if out is value else out
        # a decoded "/" comes from "/" or "%2F" (a UTF-8 sequence never decodes to one)
        if nesting < _MAX_URL_NESTING and ("/" in v_raw or "%2F" in v_raw or "%2f" in v_raw):
            value = unquote(v_raw)
            if _URLISH.fullmatch(value):
                out = self.url(value, _join(qpath, key), nesting + 1)
                return None if out is value else out
        # `+` is a space in a query string, but people write `?email=jane+tag@x.com` unencoded: the
        # value as written first, then what is left of it with `+` read as a space (a name in a
        # form's message, `Hi,+I'm+Jane+Doe`, is only found between spaces)
        out, kinds = self.detect(v_raw, light)
        if "+" in out:
            spaced, more = self.detect(out.replace("+", " "), light)
            if more:
                out, kinds = spaced, kinds + more
        if not kinds:
            return None
        path = _join(qpath, key)
        for kind in kinds:
            self.add(path, kind)
        return out
