"""What TikTok's `event/track/` endpoint accepts, and how it says no.

Pure: bytes in, a validated request and its warnings out, or a `Rejection` carrying TikTok's
code and a message in TikTok's style (`Batch.0.properties.contents.0.content_id: Not a valid
string`). The first bad field is named first, because the sidecar's deliver stage reads
`Batch.<i>` from the message to dead-letter only that event.

No stricter than TikTok: a request is rejected only for what TikTok is known to reject (wrong
types on documented fields, a numeric `event_id` or `content_id`, a missing name or time, more
than 1000 events). Everything TikTok's documentation leaves open (unhashed values, odd
locales, custom keys, float times, case-folded standard names…) is accepted and reported as a
warning, so a test can never pass because of a rule TikTok does not have. Bodies other vendors
send in production (Segment's arrays of hashed emails, RudderStack's `contents[].content_type`,
Stape's `gtm_version`, CRM events with `lead`) are accepted.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_EVENTS = 1000
MAX_LIST = 1000  # contents / content_ids / external_id arrays: undocumented, bounded anyway
MAX_EVENT_ID = 256
MAX_CUSTOM_NAME = 100
# Unix seconds. Anything before 2015 is a bug (TikTok's pixel did not exist); far above "now"
# is usually milliseconds.
MIN_EVENT_TIME = 1_420_070_400
DEFAULT_MAX_FUTURE_S = 86_400
MAX_AGE_S = 7 * 86_400

LEGACY_EVENTS = frozenset({
    "ViewContent", "ClickButton", "Search", "AddToWishlist", "AddToCart", "InitiateCheckout",
    "AddPaymentInfo", "CompletePayment", "PlaceAnOrder", "Contact", "Download", "SubmitForm",
    "CompleteRegistration", "Subscribe",
})
CURRENT_EVENTS = frozenset({
    "AddPaymentInfo", "AddToCart", "AddToWishlist", "ApplicationApproval", "CompleteRegistration",
    "Contact", "CustomizeProduct", "Download", "FindLocation", "InitiateCheckout", "Lead", "Purchase",
    "Schedule", "Search", "StartTrial", "SubmitApplication", "Subscribe", "ViewContent",
})
# The pixel sends `Pageview`; TikTok's reserved-events table and Segment write `PageView`.
PAGEVIEW_SPELLINGS = frozenset({"Pageview", "PageView"})
STANDARD_EVENTS = LEGACY_EVENTS | CURRENT_EVENTS | PAGEVIEW_SPELLINGS
_STANDARD_FOLDED = {name.casefold(): name for name in STANDARD_EVENTS} | {"pageview": "Pageview"}
_CUSTOM_NAME = re.compile(rf"[A-Za-z0-9_](?:[A-Za-z0-9_ .-]{{0,{MAX_CUSTOM_NAME - 2}}}[A-Za-z0-9_.-])?")
_HEX64 = re.compile(r"[a-f0-9]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")

# `user` keys TikTok documents: hashed ones (SHA-256 hex; Segment sends "" when unknown), plain ones.
HASHED_USER_KEYS = ("email", "phone", "external_id", "first_name", "last_name", "city", "state", "country",
                    "zip_code")
PLAIN_USER_KEYS = ("ip", "user_agent", "locale", "ttclid", "ttp")
EVENT_KEYS = frozenset({"event", "event_time", "event_id", "user", "page", "properties", "limited_data_use",
                        "lead", "app", "ad"})
TOP_KEYS = frozenset({"event_source", "event_source_id", "test_event_code", "partner_name", "data"})

OK = 0
INVALID_PARAMETER = 40002
NO_PERMISSION = 40001
RATE_LIMITED = 40100
EMPTY_TOKEN = 40104
BAD_TOKEN = 40105


class Rejection(Exception):
    """A request TikTok would refuse: `code` and `message` go into the answer envelope."""

    def __init__(self, code: int, message: str, http_status: int = 200, errors: list[str] | None = None):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.errors = errors if errors is not None else [message]

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def show(value: object, limit: int = 40) -> str:
    """A short, printable rendering of client-supplied text for messages and logs."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- models: the documented types ------------------------------------------------------------
# Optional fields default to None without allowing an explicit `null`: pydantic does not
# validate defaults, so `"value": null` is still rejected as "Not a valid number". Extra keys
# are kept (`model_extra`): custom properties are normal, other extras become warnings.

class _Typed(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", allow_inf_nan=False, hide_input_in_errors=True)


def _string_or_strings(v: Any) -> Any:
    """A hashed identifier: one string, or a list of them (Segment always sends lists)."""
    if isinstance(v, str):
        return v
    if not isinstance(v, list) or len(v) > MAX_LIST or not all(isinstance(x, str) for x in v):
        raise ValueError(f"Not a valid string or list of at most {MAX_LIST} strings")
    return v


class User(_Typed):
    email: Any = None
    phone: Any = None
    external_id: Any = None
    first_name: str = None  # type: ignore[assignment]
    last_name: str = None  # type: ignore[assignment]
    city: str = None  # type: ignore[assignment]
    state: str = None  # type: ignore[assignment]
    country: str = None  # type: ignore[assignment]
    zip_code: str = None  # type: ignore[assignment]
    ip: str = None  # type: ignore[assignment]
    user_agent: str = None  # type: ignore[assignment]
    locale: str = None  # type: ignore[assignment]
    ttclid: str = None  # type: ignore[assignment]
    ttp: str = None  # type: ignore[assignment]

    _lists = field_validator("email", "phone", "external_id")(_string_or_strings)


class Page(_Typed):
    url: str = None  # type: ignore[assignment]
    referrer: str = None  # type: ignore[assignment]


class Content(_Typed):
    content_id: str = None  # type: ignore[assignment]
    content_name: str = None  # type: ignore[assignment]
    content_category: str = None  # type: ignore[assignment]
    brand: str = None  # type: ignore[assignment]
    price: float = None  # type: ignore[assignment]
    quantity: int = None  # type: ignore[assignment]


class Properties(_Typed):
    contents: Annotated[list[Content], Field(max_length=MAX_LIST)] = None  # type: ignore[assignment]
    content_type: str = None  # type: ignore[assignment]
    content_ids: Annotated[list[str], Field(max_length=MAX_LIST)] = None  # type: ignore[assignment]
    currency: str = None  # type: ignore[assignment]
    value: float = None  # type: ignore[assignment]
    num_items: int = None  # type: ignore[assignment]
    query: str = None  # type: ignore[assignment]
    search_string: str = None  # type: ignore[assignment]
    description: str = None  # type: ignore[assignment]
    order_id: str = None  # type: ignore[assignment]
    shop_id: str = None  # type: ignore[assignment]


class Lead(_Typed):
    """CRM events: the lead they belong to."""

    lead_id: str = None  # type: ignore[assignment]
    lead_event_source: str = None  # type: ignore[assignment]


class Event(_Typed):
    event: str = Field(min_length=1)
    event_time: Any
    event_id: Annotated[str, Field(min_length=1)] = None  # type: ignore[assignment]
    user: User = None  # type: ignore[assignment]
    page: Page = None  # type: ignore[assignment]
    properties: Properties = None  # type: ignore[assignment]
    limited_data_use: bool = None  # type: ignore[assignment]
    lead: Lead = None  # type: ignore[assignment]

    @field_validator("event_time")
    @classmethod
    def _event_time(cls, v: Any) -> Any:
        # an integer per the docs; float seconds are sent by one vendor (how TikTok treats the
        # fraction is unconfirmed: a warning, not a rejection)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
            raise ValueError("Not a valid integer")
        return v


class TrackRequest(_Typed):
    event_source: Literal["web", "app", "offline", "crm"]
    event_source_id: str = Field(min_length=1)
    test_event_code: str = None  # type: ignore[assignment]
    partner_name: str = None  # type: ignore[assignment]
    data: list[Event] = Field(max_length=MAX_EVENTS)


# --- warnings: what TikTok's documentation leaves open ---------------------------------------

@dataclass(frozen=True, slots=True)
class Checked:
    """A request TikTok accepts, with what it might not take as meant."""

    request: TrackRequest
    warnings: list[str]  # about the request itself
    event_warnings: list[list[str]]  # one list per event of `data`


def request_warnings(req: TrackRequest) -> list[str]:
    out = [f"{show(k)}: unknown top-level field" for k in (req.model_extra or {})]
    if not req.data:
        out.append("data: no events")
    if req.partner_name is not None:
        out.append("partner_name: TikTok checks it against registered partners (40063 INVALID_PARTNER_NAME when "
                   "not registered); send it only if you are one")
    return out


def _event_warnings(at: str, ev: Event, source: str, now: float, max_future_s: int) -> list[str]:
    out = [f"{at}.{show(k)}: unknown field" for k in (ev.model_extra or {}) if k not in EVENT_KEYS]
    name = ev.event
    if name not in STANDARD_EVENTS:
        if (standard := _STANDARD_FOLDED.get(name.casefold())) is not None:
            out.append(f"{at}.event: '{show(name)}' is not a standard name (names are case-sensitive): TikTok takes "
                       f"it as a custom event; the standard one is '{standard}'")
        elif not _CUSTOM_NAME.fullmatch(name):
            out.append(f"{at}.event: custom name with characters TikTok's examples never use")
    t = ev.event_time
    if isinstance(t, float):
        out.append(f"{at}.event_time: a float; TikTok documents integer seconds (the fraction may be dropped)")
    if t > 10**11:
        out.append(f"{at}.event_time: looks like milliseconds; TikTok wants Unix seconds")
    elif t > now + max_future_s:
        out.append(f"{at}.event_time: in the future")
    elif t < now - MAX_AGE_S:
        out.append(f"{at}.event_time: older than 7 days; TikTok may not attribute it")
    if ev.event_id is not None and len(ev.event_id) > MAX_EVENT_ID:
        out.append(f"{at}.event_id: longer than {MAX_EVENT_ID} characters")
    if ev.user is not None:
        out += _user_warnings(f"{at}.user", ev.user)
    if ev.page is not None:
        out += [f"{at}.page.{show(k)}: unknown field" for k in (ev.page.model_extra or {})]
        if ev.page.url is not None and not _absolute(ev.page.url):
            out.append(f"{at}.page.url: not a full http(s) URL")
        if ev.page.referrer and not _absolute(ev.page.referrer):
            out.append(f"{at}.page.referrer: not a full http(s) URL")
    if ev.properties is not None:
        out += _properties_warnings(f"{at}.properties", ev.properties)
    if ev.lead is not None and source != "crm":
        out.append(f"{at}.lead: only CRM events (event_source crm) carry a lead")
    return out


def _user_warnings(at: str, user: User) -> list[str]:
    out = [f"{at}.{show(k)}: unknown field" for k in (user.model_extra or {})]
    for key in HASHED_USER_KEYS:
        value = getattr(user, key)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and v and not _HEX64.fullmatch(v) for v in values):
            out.append(f"{at}.{key}: not a SHA-256 hash (64 lower-case hex); TikTok expects it hashed")
    if user.ip is not None and not _HEX64.fullmatch(user.ip):
        try:
            ipaddress.ip_address(user.ip)
        except ValueError:
            out.append(f"{at}.ip: neither an IP address nor a SHA-256 hash")
    if user.locale is not None and not _LOCALE.fullmatch(user.locale):
        out.append(f"{at}.locale: not a BCP 47 tag such as en-US")
    return out


def _properties_warnings(at: str, props: Properties) -> list[str]:
    out = []
    if props.currency is not None and not _CURRENCY.fullmatch(props.currency):
        out.append(f"{at}.currency: not an ISO 4217 code in upper case (USD, EUR)")
    if props.value is not None and props.value < 0:
        out.append(f"{at}.value: negative")
    if props.content_type is not None and props.content_type not in ("product", "product_group"):
        out.append(f"{at}.content_type: TikTok documents product or product_group")
    for i, c in enumerate(props.contents or []):
        if c.price is not None and c.price < 0:
            out.append(f"{at}.contents.{i}.price: negative")
        if c.quantity is not None and c.quantity < 0:
            out.append(f"{at}.contents.{i}.quantity: negative")
    return out


def _absolute(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(
        c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value)


# --- parsing --------------------------------------------------------------------------------

def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Decode a request body; non-UTF-8, NaN/Infinity, and absurd nesting are refused."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise Rejection(INVALID_PARAMETER, "Request body is not valid UTF-8 JSON") from None
    except RecursionError:
        raise Rejection(INVALID_PARAMETER, "Request body is nested too deeply") from None
    except ValueError as e:
        raise Rejection(INVALID_PARAMETER, f"Request body is not valid JSON: {show(str(e), 120)}") from None


def error_path(loc: tuple[int | str, ...]) -> str:
    """`("data", 0, "user", "email")` → `Batch.0.user.email`, TikTok's way of naming a field."""
    parts = [str(p) if isinstance(p, int) else show(p) for p in loc]
    if len(loc) > 1 and loc[0] == "data" and isinstance(loc[1], int):
        parts[0] = "Batch"
    return ".".join(parts) or "(body)"


def error_message(err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    match kind:
        case "string_type":
            return "Not a valid string"
        case "int_type":
            return "Not a valid integer"
        case "float_type" | "finite_number":
            return "Not a valid number"
        case "bool_type":
            return "Not a valid boolean"
        case "list_type":
            return "Not a valid list"
        case "model_type" | "model_attributes_type" | "dict_type":
            return "Not a valid object"
        case "missing":
            return "Missing data for required field"
        case "extra_forbidden":
            return "Unknown field"
        case "literal_error":
            return f"Must be one of: {ctx.get('expected', '')}".replace("'", "")
        case "string_too_short":
            return "Must not be empty"
        case "string_too_long" | "too_long":
            return f"Longer than maximum length {ctx.get('max_length')}"
        case "too_short":
            return f"Shorter than minimum length {ctx.get('min_length')}"
        case "greater_than_equal" if ctx.get("ge") == 0:
            return "Must not be negative"
        case "greater_than_equal":
            return f"Must be greater than or equal to {ctx.get('ge')}"
        case "less_than_equal":
            return f"Must be less than or equal to {ctx.get('le')}"
        case "value_error":
            return str(err["msg"]).removeprefix("Value error, ")
    return str(err["msg"])


def validate_request(doc: Any) -> TrackRequest:
    """Check a parsed body against TikTok's documented types; the first problem becomes the 40002 message."""
    if not isinstance(doc, dict):
        raise Rejection(INVALID_PARAMETER, "Request body must be a JSON object")
    data = doc.get("data")
    if isinstance(data, list) and len(data) > MAX_EVENTS:
        # Rejected whole, before any event is looked at (TikTok: at most 1000 per request).
        raise Rejection(INVALID_PARAMETER, f"data: Longer than maximum length {MAX_EVENTS}")
    try:
        return TrackRequest.model_validate(doc)
    except ValidationError as e:
        errors = [f"{error_path(err['loc'])}: {error_message(err)}" for err in e.errors(include_url=False)]
        raise Rejection(INVALID_PARAMETER, errors[0], errors=errors[:20]) from None


def is_standard(name: str) -> bool:
    return name in STANDARD_EVENTS


def check_request(doc: Any, *, now: float | None = None, max_future_s: int = DEFAULT_MAX_FUTURE_S) -> Checked:
    """`validate_request`, then the warnings: raises Rejection, or returns what TikTok accepts."""
    now = time.time() if now is None else now
    req = validate_request(doc)
    return Checked(req, request_warnings(req), [_event_warnings(f"Batch.{i}", ev, req.event_source, now, max_future_s)
                                                for i, ev in enumerate(req.data)])
