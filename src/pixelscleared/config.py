"""Configuration: one YAML file, parsed and validated once at start.

Secrets come from the environment through `${VAR}` / `${VAR:-default}`; unknown keys are
errors so a typo is never silently ignored; every error names its key path.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from pixelscleared.admin.access import AdminSettings
from pixelscleared.capture.settings import CaptureSettings
from pixelscleared.consent.settings import ConsentSettings
from pixelscleared.decide import Unconsented
from pixelscleared.deliver import DeliverySettings, Destinations
from pixelscleared.guard import GuardSettings
from pixelscleared.identity import IdentitySettings
from pixelscleared.limits import DEFAULT_MAX_BODY_BYTES, STREAM_LARGE_BODIES
from pixelscleared.logs import LogSettings
from pixelscleared.model import Settings
from pixelscleared.outbox import OutboxSettings
from pixelscleared.scrub.settings import ScrubSettings


class ConfigError(Exception):
    """A configuration problem; `str()` is a list of `key.path: problem` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Listen(Settings):
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)
    # Route-only mode: the sidecar's own endpoints (`<prefix>…`: collect, ttq.js, admin) also
    # served on this port directly, without the proxy — `pixelscleared routes` sends the web
    # server's `<prefix>` calls there (more collect calls per core). Same host as `port`.
    endpoints_port: int | None = Field(None, ge=0, le=65535)

    @model_validator(mode="after")
    def _two_ports(self) -> Listen:
        if self.endpoints_port is not None and self.endpoints_port == self.port != 0:
            raise ValueError(f"endpoints_port {self.endpoints_port} is the proxy's port: give another")
        return self


class TLS(Settings):
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


class Config(Settings):
    """The whole file. Each section's model lives beside the stage that reads it."""

    listen: Listen = Listen()
    upstream: str
    tls: TLS | None = None
    prefix: str = "/_pc/"
    destinations: Destinations = Destinations()
    unconsented: Unconsented = "minimal"
    capture: CaptureSettings = CaptureSettings()
    identity: IdentitySettings = IdentitySettings()
    consent: ConsentSettings = ConsentSettings()
    scrub: ScrubSettings = ScrubSettings()
    outbox: OutboxSettings = OutboxSettings()
    delivery: DeliverySettings = DeliverySettings()
    admin: AdminSettings = AdminSettings()
    log: LogSettings = LogSettings()
    guard: GuardSettings = GuardSettings()
    # tracking calls are read whole and scrubbed inline: bound the work (limits.py)
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024, le=STREAM_LARGE_BODIES)

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


def _message(err: ErrorDetails) -> str:
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
