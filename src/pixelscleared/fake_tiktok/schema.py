"""What TikTok's `event/track/` endpoint accepts, as strict models, and how it says no.

Pure: bytes in, a validated request out, or a `Rejection` carrying TikTok's code and a message
in TikTok's style (`Batch.0.properties.contents.0.content_id: Not a valid string`). The first
bad field is named first, because the sidecar's deliver stage reads `Batch.<i>` from the
message to dead-letter only that event.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

MAX_EVENTS = 1000
MAX_LIST = 1000  # contents / content_ids / external_id arrays: undocumented, bounded anyway
MAX_EVENT_ID = 256
MAX_CUSTOM_NAME = 100
# Unix seconds. Anything before 2015 is a bug (TikTok's pixel did not exist); far above "now"
# is usually milliseconds.
MIN_EVENT_TIME = 1_420_070_400
DEFAULT_MAX_FUTURE_S = 86_400

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
PAGEVIEW = "Pageview"
STANDARD_EVENTS = LEGACY_EVENTS | CURRENT_EVENTS | {PAGEVIEW}
_STANDARD_FOLDED = {name.casefold(): name for name in STANDARD_EVENTS}
_CUSTOM_NAME = re.compile(rf"[A-Za-z0-9_](?:[A-Za-z0-9_ .-]{{0,{MAX_CUSTOM_NAME - 2}}}[A-Za-z0-9_.-])?")
_HEX64 = re.compile(r"[a-f0-9]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")

OK = 0
INVALID_PARAMETER = 40002
NO_PERMISSION = 40001
RATE_LIMITED = 40100
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


# --- field checks ---------------------------------------------------------------------------

def event_name(name: str) -> str:
    if name in STANDARD_EVENTS:
        return name
    if (standard := _STANDARD_FOLDED.get(name.casefold())) is not None:
        raise ValueError(f"'{name}' is not a valid event name; names are case-sensitive, send '{standard}'")
    if not _CUSTOM_NAME.fullmatch(name):
        raise ValueError(
            f"Not a valid event name (custom names: 1-{MAX_CUSTOM_NAME} letters, digits, '_', '-', '.' or inner spaces)"
        )
    return name


def sha256_hex(value: str) -> str:
    if not _HEX64.fullmatch(value):
        raise ValueError("Not a valid SHA-256 hash (64 lower-case hex characters)")
    return value


def ip_or_hash(value: str) -> str:
    if _HEX64.fullmatch(value):
        return value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("Not a valid IPv4/IPv6 address or SHA-256 hash") from None
    return value


def absolute_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (
        parts is None or parts.scheme not in ("http", "https") or not parts.netloc
        or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        raise ValueError("Not a valid URL (a full http:// or https:// URL is required)")
    return value


def currency_code(value: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise ValueError("Not a valid ISO 4217 currency code (3 upper-case letters)")
    return value


def locale_tag(value: str) -> str:
    if not _LOCALE.fullmatch(value):
        raise ValueError("Not a valid BCP 47 locale (e.g. en-US)")
    return value


# --- models ---------------------------------------------------------------------------------
# Optional fields default to None without allowing an explicit `null`: pydantic does not
# validate defaults, so `"value": null` is still rejected as "Not a valid number".

NonEmpty = Annotated[str, Field(min_length=1)]
Money = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, hide_input_in_errors=True)


class User(_Strict):
    external_id: Any = None
    email: Annotated[str, AfterValidator(sha256_hex)] = None  # type: ignore[assignment]
    phone: Annotated[str, AfterValidator(sha256_hex)] = None  # type: ignore[assignment]
    ttclid: NonEmpty = None  # type: ignore[assignment]
    ttp: NonEmpty = None  # type: ignore[assignment]
    ip: Annotated[str, AfterValidator(ip_or_hash)] = None  # type: ignore[assignment]
    user_agent: NonEmpty = None  # type: ignore[assignment]
    locale: Annotated[str, AfterValidator(locale_tag)] = None  # type: ignore[assignment]

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, v: Any) -> Any:
        if isinstance(v, str):
            return sha256_hex(v)
        if not isinstance(v, list) or not v or len(v) > MAX_LIST or not all(isinstance(x, str) for x in v):
            raise ValueError(f"Not a valid string or list of 1-{MAX_LIST} strings")
        for x in v:
            sha256_hex(x)
        return v


class Page(_Strict):
    url: Annotated[str, AfterValidator(absolute_url)] = None  # type: ignore[assignment]
    referrer: Annotated[str, AfterValidator(absolute_url)] = None  # type: ignore[assignment]


class Content(_Strict):
    content_id: NonEmpty = None  # type: ignore[assignment]
    content_name: str = None  # type: ignore[assignment]
    content_category: str = None  # type: ignore[assignment]
    brand: str = None  # type: ignore[assignment]
    price: Money = None  # type: ignore[assignment]
    quantity: Count = None  # type: ignore[assignment]


class Properties(_Strict):
    contents: Annotated[list[Content], Field(max_length=MAX_LIST)] = None  # type: ignore[assignment]
    content_type: Literal["product", "product_group"] = None  # type: ignore[assignment]
    content_ids: Annotated[list[NonEmpty], Field(max_length=MAX_LIST)] = None  # type: ignore[assignment]
    currency: Annotated[str, AfterValidator(currency_code)] = None  # type: ignore[assignment]
    value: Money = None  # type: ignore[assignment]
    num_items: Count = None  # type: ignore[assignment]
    search_string: str = None  # type: ignore[assignment]
    description: str = None  # type: ignore[assignment]
    order_id: str = None  # type: ignore[assignment]
    shop_id: str = None  # type: ignore[assignment]


class Event(_Strict):
    event: Annotated[str, AfterValidator(event_name)]
    event_time: int
    event_id: Annotated[str, Field(min_length=1, max_length=MAX_EVENT_ID)] = None  # type: ignore[assignment]
    user: User = None  # type: ignore[assignment]
    page: Page = None  # type: ignore[assignment]
    properties: Properties = None  # type: ignore[assignment]
    limited_data_use: bool = None  # type: ignore[assignment]

    @field_validator("event_time")
    @classmethod
    def _event_time(cls, v: int, info: ValidationInfo) -> int:
        ctx = info.context or {}
        latest = int(ctx.get("now", time.time())) + int(ctx.get("max_future_s", DEFAULT_MAX_FUTURE_S))
        if v > 10**11:
            raise ValueError("Must be Unix seconds, not milliseconds")
        if not MIN_EVENT_TIME <= v <= latest:
            raise ValueError(f"Must be Unix seconds between {MIN_EVENT_TIME} and {latest}")
        return v


class TrackRequest(_Strict):
    event_source: Literal["web"]
    event_source_id: NonEmpty
    test_event_code: NonEmpty = None  # type: ignore[assignment]
    partner_name: str = None  # type: ignore[assignment]
    data: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


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


def validate_request(doc: Any, *, now: float | None = None, max_future_s: int = DEFAULT_MAX_FUTURE_S) -> TrackRequest:
    """Check a parsed body against the schema; the first problem becomes the 40002 message."""
    if not isinstance(doc, dict):
        raise Rejection(INVALID_PARAMETER, "Request body must be a JSON object")
    data = doc.get("data")
    if isinstance(data, list) and len(data) > MAX_EVENTS:
        # Rejected whole, before any event is looked at (TikTok: at most 1000 per request).
        raise Rejection(INVALID_PARAMETER, f"data: Longer than maximum length {MAX_EVENTS}")
    context = {"now": time.time() if now is None else now, "max_future_s": max_future_s}
    try:
        return TrackRequest.model_validate(doc, context=context)
    except ValidationError as e:
        errors = [f"{error_path(err['loc'])}: {error_message(err)}" for err in e.errors(include_url=False)]
        raise Rejection(INVALID_PARAMETER, errors[0], errors=errors[:20]) from None


def is_standard(name: str) -> bool:
    return name in STANDARD_EVENTS
