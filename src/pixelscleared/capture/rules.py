"""`capture.rules`: TikTok events from the site's ordinary traffic — a form post, a thank-you
page, the site's own tracking endpoint — with values read from the request or the response.

A rule matches a method and a path glob (and a response status, default 2xx). Its event name,
event_id and properties each come from one source: `query`, `form` (urlencoded or multipart),
`json` (JSONPath over the request body), `path` (a regex with one group), `header`, `cookie`,
`const` — read when the request arrives — or `response_json` (JSONPath) and `html` (a CSS
selector; the element's `attr` or its text), read from the response. A value that cannot be read
is the source's `default`, or absent: never an error that touches the page. Everything is
validated at load; extraction functions are pure and take plain values.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import cached_property
from typing import Any, Literal
from urllib.parse import parse_qsl

import jsonpath
from pydantic import Field, field_validator, model_validator
from selectolax.lexbor import LexborHTMLParser

from pixelscleared.capture.fields import query_param
from pixelscleared.capture.pageviews import glob_regex
from pixelscleared.event import CapturedEvent
from pixelscleared.limits import BodyTooLarge, BodyUndecodable, decode_body
from pixelscleared.model import Settings
from pixelscleared.names import CAPTURED_NAME

Scalar = str | int | float | bool
REQUEST_SOURCES = ("query", "form", "json", "path", "header", "cookie", "const")
RESPONSE_SOURCES = ("response_json", "html")
MAX_RESPONSE_BYTES = 2 << 20  # response bodies read for `html` / `response_json`, decoded


class ValueSource(Settings):
    query: str | None = None
    form: str | None = None
    json_: str | None = Field(None, alias="json")
    path: str | None = None
    header: str | None = None
    cookie: str | None = None
    const: Scalar | None = None
    response_json: str | None = None
    html: str | None = None
    attr: str | None = None  # with `html`: this attribute instead of the element's text
    default: Scalar | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ValueSource:
        given = [k for k in (*REQUEST_SOURCES, *RESPONSE_SOURCES) if self.raw(k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one source of {', '.join((*REQUEST_SOURCES, *RESPONSE_SOURCES))}"
                             f" (got {', '.join(given) or 'none'})")
        if self.attr is not None and self.html is None:
            raise ValueError("`attr` goes with `html`")
        for key in ("json_", "response_json"):
            if (expr := getattr(self, key)) is not None:
                try:
                    jsonpath.compile(expr)
                except Exception as e:  # noqa: BLE001 — the library's own syntax errors
                    raise ValueError(f"{expr!r} is not a JSONPath: {e}") from None
        if self.path is not None:
            try:
                rx = re.compile(self.path)
            except re.error as e:
                raise ValueError(f"path: not a regular expression: {e}") from None
            if rx.groups != 1:
                raise ValueError("path: the regular expression needs exactly one group")
        if self.html is not None:
            try:
                LexborHTMLParser("<p></p>").css_first(self.html)
            except Exception as e:  # noqa: BLE001
                raise ValueError(f"html: {self.html!r} is not a CSS selector: {e}") from None
        return self

    def raw(self, key: str) -> Any:
        return getattr(self, "json_" if key == "json" else key)

    @cached_property  # read for every matched request: worked out once (the model is frozen)
    def kind(self) -> str:
        return next(k for k in (*REQUEST_SOURCES, *RESPONSE_SOURCES) if self.raw(k) is not None)

    @cached_property
    def from_response(self) -> bool:
        return self.kind in RESPONSE_SOURCES


class RuleMatch(Settings):
    method: str = "GET"
    path: str
    status: str = "2xx"  # "2xx", or one code such as "200"

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3,10}", v):
            raise ValueError(f"{v!r} is not an HTTP method")
        return v.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/") or any(c.isspace() or c == "#" for c in v):
            raise ValueError(f"{v!r} must be a path pattern starting with / (globs: *, **)")
        return v

    @field_validator("status")
    @classmethod
    def _status(cls, v: str) -> str:
        if not re.fullmatch(r"[1-5](?:xx|\d\d)", str(v)):
            raise ValueError("status is a code such as 200 or a class such as 2xx")
        return str(v)


class Rule(Settings):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    match: RuleMatch
    event: str | ValueSource
    event_id: ValueSource | None = None
    properties: dict[str, ValueSource] = Field(default_factory=dict)
    # unchanged: the site gets the request as sent (a contact form must reach it); scrubbed:
    # personal data removed first (a tracking endpoint)
    forward: Literal["unchanged", "scrubbed"] = "unchanged"
    respond: int | None = Field(None, ge=200, le=299)  # answer here instead of passing it on

    @field_validator("event")
    @classmethod
    def _event(cls, v: str | ValueSource) -> str | ValueSource:
        if isinstance(v, str) and not re.fullmatch(r"[A-Za-z0-9_ .:-]{1,100}", v):
            raise ValueError(f"{v!r} is not an event name")
        return v

    @model_validator(mode="after")
    def _respond_alone(self) -> Rule:
        if self.respond is not None and self.needs_response:
            raise ValueError("a rule that answers with `respond` has no response to read html/response_json from")
        return self

    @cached_property
    def request_sources(self) -> tuple[tuple[str, ValueSource], ...]:
        return tuple((k, v) for k, v in self.sources() if not v.from_response)

    @cached_property
    def response_sources(self) -> tuple[tuple[str, ValueSource], ...]:
        return tuple((k, v) for k, v in self.sources() if v.from_response)

    def sources(self) -> list[tuple[str, ValueSource]]:
        out: list[tuple[str, ValueSource]] = [(f"properties.{k}", v) for k, v in self.properties.items()]
        if isinstance(self.event, ValueSource):
            out.append(("event", self.event))
        if self.event_id is not None:
            out.append(("event_id", self.event_id))
        return out

    @property
    def needs_response(self) -> bool:
        return bool(self.response_sources)


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    method: str
    path: re.Pattern[str]
    status: str

    def matches_request(self, method: str, path: str) -> bool:
        return method == self.method and self.path.fullmatch(path) is not None

    def matches_status(self, status: int) -> bool:
        return str(status)[0] == self.status[0] if self.status.endswith("xx") else str(status) == self.status


def compile_rules(rules: list[Rule]) -> list[CompiledRule]:
    return [CompiledRule(r, r.match.method, glob_regex(r.match.path), r.match.status) for r in rules]


@dataclass
class RequestParts:
    """What a rule may read from the request: plain values (lower-cased header names)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    body: bytes
    content_type: str = ""
    _form: dict[str, str] | None = field(default=None, repr=False)
    _json: Any = field(default=None, repr=False)
    _json_read: bool = field(default=False, repr=False)

    def form(self) -> dict[str, str]:
        if self._form is None:
            self._form = parse_form(self.body, self.content_type)
        return self._form

    def json(self) -> Any:
        if not self._json_read:
            self._json_read = True
            try:
                self._json = json.loads(self.body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                self._json = None
        return self._json


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """urlencoded or multipart/form-data fields (the last copy of a name wins; files skipped)."""
    ctype = content_type.lower()
    try:
        if ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                     + body)
            out: dict[str, str] = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if isinstance(name, str) and part.get_filename() is None:
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        out[name] = payload.decode("utf-8", "replace")
            return out
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    except Exception:  # noqa: BLE001 — a broken form is no values, never an error
        return {}


def _first(found: list[Any]) -> Any:
    return found[0] if found else None


def read_request(src: ValueSource, req: RequestParts) -> Any:
    """The value `src` names in the request, or its default (None when absent)."""
    value: Any = None
    kind = src.kind
    try:
        if kind == "const":
            value = src.const
        elif kind == "query":
            value = dict(parse_qsl(req.query, keep_blank_values=True)).get(src.query or "")
        elif kind == "form":
            value = req.form().get(src.form or "")
        elif kind == "json":
            doc = req.json()
            value = _first(jsonpath.findall(src.json_ or "", doc)) if doc is not None else None
        elif kind == "path":
            m = re.search(src.path or "", req.path)
            value = m.group(1) if m else None
        elif kind == "header":
            value = req.headers.get((src.header or "").lower())
        elif kind == "cookie":
            value = req.cookies.get(src.cookie or "")
    except Exception:  # noqa: BLE001 — unreadable is absent
        value = None
    return src.default if value in (None, "") else value


def read_response(src: ValueSource, text: str, is_html: bool) -> Any:
    """The value `src` names in the (decoded) response text, or its default."""
    value: Any = None
    try:
        if src.kind == "response_json":
            value = _first(jsonpath.findall(src.response_json or "", json.loads(text)))
        elif src.kind == "html" and is_html:
            node = LexborHTMLParser(text).css_first(src.html or "")
            if node is not None:
                value = node.attributes.get(src.attr) if src.attr else node.text(strip=True)
    except Exception:  # noqa: BLE001
        value = None
    return src.default if value in (None, "") else value


def cookies_of(cookie_header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in cookie_header.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name:
            out[name] = value.strip().strip('"')
    return out


class ResponseTee:
    """mitmproxy's `response.stream` callable: passes every chunk on unchanged and keeps the
    first `limit` bytes for a rule to read once the response is complete."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data = bytearray()

    def __call__(self, chunk: bytes) -> bytes:
        if len(self.data) < self.limit:
            self.data += chunk[: self.limit - len(self.data)]
        return chunk

    def text(self, content_encoding: str, content_type: str) -> str:
        """The kept body decoded (gzip/br/deflate/zstd, then its charset); "" when it cannot be."""
        try:
            raw = decode_body(bytes(self.data), content_encoding, MAX_RESPONSE_BYTES)
        except (BodyTooLarge, BodyUndecodable):
            return ""
        charset = "utf-8"
        for param in content_type.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return raw.decode(charset, "replace")
        except LookupError:
            return raw.decode("utf-8", "replace")


def read_response_values(rule: Rule, tee: ResponseTee, content_encoding: str, content_type: str) -> dict[str, Any]:
    """The rule's response-side values from the kept (decoded) response body."""
    text = tee.text(content_encoding, content_type)
    is_html = "html" in content_type.lower()
    return {key: read_response(src, text, is_html) for key, src in rule.response_sources}


def rule_event(rule: Rule, values: Mapping[str, Any], url: str, referrer: str) -> CapturedEvent | None:
    """The event a matched rule makes from its values; None when it has no usable name."""
    name = rule.event if isinstance(rule.event, str) else values.get("event")
    if not isinstance(name, str) or not CAPTURED_NAME.fullmatch(name):
        return None
    props = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("properties.") and v is not None}
    event_id = values.get("event_id")
    return CapturedEvent(name, str(event_id) if event_id not in (None, "") else str(uuid.uuid4()),
                         int(time.time()), f"rule:{rule.name}", url=url, referrer=referrer, properties=props,
                         ttclid=query_param(url, "ttclid"))
