"""Configuration: one YAML file, parsed and validated once at start.

Secrets come from the environment through `${VAR}` / `${VAR:-default}`; unknown keys are
errors so a typo is never silently ignored; every error names its key path.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator,
                      model_validator)

from pixelscleared.consent.settings import ConsentSettings
from pixelscleared.scrub.settings import ScrubSettings

DEFAULT_API_BASE = "https://business-api.tiktok.com"
EVENT_NAME_ALIASES = {"PageView": "Pageview", "pageview": "Pageview", "page_view": "Pageview"}

# TikTok's standard web event names (docs/reference: the legacy 14, the current list, and the
# pixel's `Pageview`). Other names are accepted as custom events.
STANDARD_EVENTS = frozenset({
    "ViewContent", "ClickButton", "Search", "AddToWishlist", "AddToCart", "InitiateCheckout",
    "AddPaymentInfo", "CompletePayment", "PlaceAnOrder", "Contact", "Download", "SubmitForm",
    "CompleteRegistration", "Subscribe",
    "ApplicationApproval", "CustomizeProduct", "FindLocation", "Lead", "Purchase", "Schedule",
    "StartTrial", "SubmitApplication",
    "Pageview",
})
# Spellings offered in "did you mean": the standard names, with page views as people write them.
_SUGGESTIONS = {n.lower(): n for n in STANDARD_EVENTS} | {"pageview": "PageView"}
NEAR_MISS_CUTOFF = 0.85


class ConfigError(Exception):
    """A configuration problem; `str()` is a list of `key.path: problem` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_whitespace(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain whitespace")
    return value


def canonical_event_name(name: str) -> str:
    """TikTok's spelling of an event name (`PageView` is written by people, `Pageview` is sent)."""
    return EVENT_NAME_ALIASES.get(name, name)


def configured_event_name(name: str) -> str:
    """The TikTok name a `destinations.tiktok[].events` entry stands for.

    The pipeline maps incoming GA4 names (`purchase` → `CompletePayment`) before matching, so a
    GA4 name listed here must mean the same TikTok event, or it would never match anything.
    """
    from pixelscleared.shape import tiktok_event_name  # shape imports this module

    return tiktok_event_name(_no_whitespace(name))


def near_miss(name: str) -> str | None:
    """The standard name `name` is probably a typo of (`PageVeiw`, `pageView`), or None.

    TikTok takes custom names, so only a name this close to a standard one is treated as a
    mistake: sent as is, it would silently become a custom event nobody optimises for.
    """
    if name in STANDARD_EVENTS:
        return None
    lower = name.lower()
    if lower in _SUGGESTIONS:
        return _SUGGESTIONS[lower]
    close = difflib.get_close_matches(lower, list(_SUGGESTIONS), n=1, cutoff=NEAR_MISS_CUTOFF)
    return _SUGGESTIONS[close[0]] if close else None


def _event_name(name: str) -> str:
    canonical = configured_event_name(name)
    if (suggestion := near_miss(canonical)) is not None:
        raise ValueError(f"{name!r} is not a TikTok event; did you mean {suggestion!r}? "
                         "(a custom event of that name goes under custom_events)")
    return canonical


EventName = Annotated[str, AfterValidator(_event_name)]


class Listen(_Model):
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)


class TLS(_Model):
    """Operator's certificate for an HTTPS listener (PEM files)."""

    cert: Path
    key: Path
    port: int = Field(8443, ge=0, le=65535)

    @model_validator(mode="after")
    def _files_exist(self) -> TLS:
        for name in ("cert", "key"):
            if not getattr(self, name).is_file():
                raise ValueError(f"{name} file {getattr(self, name)} does not exist")
        return self


class TikTokPixel(_Model):
    pixel_id: str
    access_token: SecretStr
    events: list[EventName] = Field(default_factory=list)
    # custom names taken as written, for the rare one that looks like a typo of a standard name
    custom_events: list[Annotated[str, AfterValidator(_no_whitespace)]] = Field(default_factory=list)
    test_event_code: str = ""
    api_base: str = DEFAULT_API_BASE
    partner_name: str = "PixelsCleared"

    _pid = field_validator("pixel_id")(_no_whitespace)

    @field_validator("access_token")
    @classmethod
    def _token(cls, v: SecretStr) -> SecretStr:
        secret = v.get_secret_value()
        if not secret:
            raise ValueError("must not be empty (set it from the environment: ${TIKTOK_ACCESS_TOKEN})")
        if any(c.isspace() for c in secret):
            raise ValueError("must not contain whitespace")
        return v

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for i, name in enumerate(v):
            if name in out:
                raise ValueError(f"event {name!r} is listed twice (events[{out.index(name)}] and events[{i}])")
            out.append(name)
        return out

    @model_validator(mode="after")
    def _some_event(self) -> TikTokPixel:
        if not self.events and not self.custom_events:
            raise ValueError("events: list at least one event (or custom_events)")
        return self

    def takes(self, name: str) -> bool:
        """`name` as the pipeline maps it (`tiktok_event_name`)."""
        return name in self.events or name in self.custom_events

    def nonstandard_events(self) -> list[str]:
        """Names TikTok will take as custom events (reporting and audiences, not optimisation)."""
        return [name for name in self.events if name not in STANDARD_EVENTS] + [
            name for name in self.custom_events if name not in self.events]

    @field_validator("test_event_code")
    @classmethod
    def _tec(cls, v: str) -> str:
        if any(c.isspace() for c in v):
            raise ValueError("must not contain whitespace")
        return v

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")


class Destinations(_Model):
    tiktok: list[TikTokPixel] = Field(default_factory=list)

    @field_validator("tiktok")
    @classmethod
    def _unique(cls, v: list[TikTokPixel]) -> list[TikTokPixel]:
        first: dict[str, int] = {}
        for i, p in enumerate(v):
            if p.pixel_id in first:
                raise ValueError(f"pixel_id {p.pixel_id!r} is configured twice: "
                                 f"destinations.tiktok[{first[p.pixel_id]}] and destinations.tiktok[{i}]")
            first[p.pixel_id] = i
        return v


class Identity(_Model):
    """Match parameters: how the client IP and external ID are derived (DESIGN: identity rules)."""

    ip: Literal["sha256", "plain", "omit"] = "sha256"
    trusted_proxies: list[str] = Field(default_factory=list)
    salt: SecretStr = SecretStr("")
    session_cookie: str = ""
    visitor_cookie: str = ""  # set by the sidecar after consent when there is no session cookie
    visitor_cookie_max_age_days: int = Field(395, ge=1, le=400)  # ~13 months; browsers cap at 400
    send_ttclid: bool = False
    send_ttp: bool = False

    @field_validator("session_cookie", "visitor_cookie")
    @classmethod
    def _cookie_name(cls, v: str) -> str:
        if v and not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,200}", v):
            raise ValueError(f"{v!r} is not a cookie name")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for cidr in v:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an IP network (CIDR)") from None
        return v


def _paths(v: list[str]) -> list[str]:
    for path in v:
        if not path.startswith("/") or any(c.isspace() or c in "?#" for c in path):
            raise ValueError(f"{path!r} must be a URL path starting with / (no query)")
    return v


class CaptureSource(_Model):
    """Tracking calls the site already sends to a first-party path."""

    paths: list[str] = Field(default_factory=list)
    forward: bool = False  # scrubbed inline and passed on to the origin, or answered by the sidecar

    _paths = field_validator("paths")(_paths)


class Ga4Capture(CaptureSource):
    forward: bool = True


class Capture(_Model):
    # A first-party-proxied TikTok browser pixel beacon (`/api/v2/pixel`): the sidecar becomes the
    # gateway — the browser's data goes to TikTok server-side, scrubbed, with its own event_id.
    tiktok_pixel: CaptureSource = CaptureSource()
    # GA4 gtag hits sent first-party (`/g/collect`, server-side GTM): mirrored to TikTok by the GA4
    # name mapping, and by default scrubbed inline and forwarded to the site.
    ga4: Ga4Capture = Ga4Capture()


class Outbox(_Model):
    path: Path = Path(".pixelscleared/outbox.sqlite")
    max_buffered: int = Field(10_000, ge=1)
    flush_interval_ms: int = Field(20, ge=1, le=10_000)


class Delivery(_Model):
    batch_size: int = Field(1000, ge=1, le=1000)
    timeout_s: float = Field(10.0, gt=0)
    max_attempts: int = Field(12, ge=1)
    backoff_base_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(600.0, gt=0)
    concurrency: int = Field(4, ge=1, le=64)
    dry_run: bool = False


class Admin(_Model):
    """Who may read `/_pc/events`, `/_pc/metrics` and the admin page."""

    allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    token: SecretStr = SecretStr("")

    _cidrs = field_validator("allow")(Identity._cidrs.__func__)


class Log(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Config(_Model):
    listen: Listen = Listen()
    upstream: str
    tls: TLS | None = None
    prefix: str = "/_pc/"
    destinations: Destinations = Destinations()
    unconsented: Literal["minimal", "drop"] = "minimal"
    capture: Capture = Capture()
    identity: Identity = Identity()
    consent: ConsentSettings = ConsentSettings()
    scrub: ScrubSettings = ScrubSettings()
    outbox: Outbox = Outbox()
    delivery: Delivery = Delivery()
    admin: Admin = Admin()
    log: Log = Log()
    max_body_bytes: int = Field(256 * 1024, ge=1024)  # scrubbing runs inline: bound the work

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+/?", v):
            raise ValueError("must be http(s)://host[:port] (no path)")
        return v.rstrip("/")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*/?", v):
            raise ValueError("must be a path like /_pc/")
        return v.rstrip("/") + "/"


# --- loading -------------------------------------------------------------------------------

# What a missing `${VAR}` reads as in read-only commands: valid wherever a token or name is
# expected, and plainly not a real value if it ever shows up.
UNSET_PLACEHOLDER = "unset-env-var"

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: Any, env: dict[str, str], path: str = "", *, unset: dict[str, str] | None = None) -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string; `$$` is a literal `$`.

    A missing `${VAR}` is an error, unless `unset` is given (read-only commands): then it becomes
    a placeholder and `unset[key path] = VAR`, so a problem at that key can still name the variable.
    There a set-but-empty `${VAR}` counts as missing too (`TIKTOK_ACCESS_TOKEN= pixelscleared events`).
    """
    if isinstance(value, dict):
        return {k: expand_env(v, env, _join(path, k), unset=unset) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, f"{path}[{i}]", unset=unset) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if env.get(name):
            return env[name]
        if default is not None:
            return default
        if name in env and unset is None:  # set but empty: the value itself; its key's check decides
            return ""
        if unset is not None:
            unset[path] = name
            return UNSET_PLACEHOLDER
        raise ConfigError([f"{path}: environment variable {name} is not set"])

    return _VAR.sub(sub, value)


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _loc(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path = _join(path, part)
    return path or "(top level)"


_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "is required",
}


def _message(err: dict[str, Any]) -> str:
    if err["type"] in _MESSAGES:
        return _MESSAGES[err["type"]]
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def parse_config(data: Any, env: dict[str, str] | None = None, *, allow_unset_env: bool = False) -> Config:
    """Validate a parsed YAML document; raises ConfigError listing every problem.

    `allow_unset_env` is for commands that never send anything (events, scrub, consent): a missing
    `${VAR}` — typically the access token — must not stop a tester reading the events log.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["(top level): must be a mapping of keys"])
    unset: dict[str, str] | None = {} if allow_unset_env else None
    env = dict(os.environ) if env is None else env
    data = expand_env(data, env, unset=unset)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            where = _loc(err["loc"])
            if unset and where in unset:  # the placeholder did not fit here: the variable is the problem
                var = unset[where]
                problems.append(f"{where}: environment variable {var} is {'empty' if var in env else 'not set'}")
            else:
                problems.append(f"{where}: {_message(err)}")
        raise ConfigError(problems) from None


def load_for_command(path: str | Path, *, allow_unset_env: bool = False) -> Config | None:
    """For CLI commands: the config, or None after printing every problem to stderr.

    Read-only commands pass `allow_unset_env=True`; `run` and `check-config` keep the default,
    so a missing secret is reported before anything starts.
    """
    try:
        return load_config(path, allow_unset_env=allow_unset_env)
    except ConfigError as e:
        print(f"{path}: invalid configuration", file=sys.stderr)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def load_config(path: str | Path, env: dict[str, str] | None = None, *, allow_unset_env: bool = False) -> Config:
    """Read and validate a YAML config file (blocking: call at start, not in a hook)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([f"{p}: cannot read: {e.strerror or e}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        hint = yaml_hint(text, e)
        raise ConfigError([f"{p}: not valid YAML{where}: {getattr(e, 'problem', e)}{hint}"]) from None
    return parse_config(data, env, allow_unset_env=allow_unset_env)


def yaml_hint(text: str, error: yaml.YAMLError) -> str:
    """Advice for the commonest cause: `{token: ${X}}` — in a flow mapping `{` starts a nested one."""
    lines = text.splitlines()
    marks = [getattr(error, "problem_mark", None), getattr(error, "context_mark", None)]
    if any(m is not None and m.line < len(lines) and "${" in lines[m.line] for m in marks):
        return "; a ${VAR} inside {...} must be quoted: '${VAR}'"
    return ""
