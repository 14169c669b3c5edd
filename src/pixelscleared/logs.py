"""Logging: structlog, JSON lines when stdout is not a TTY, readable lines on a TTY.

mitmproxy logs through the standard `logging` module; both streams get the same formatting and
the same secret redaction, so an access token can never reach a log line by accident.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable
from typing import Any, Literal

import structlog

from pixelscleared.model import Settings

REDACTED = "[redacted]"
# `extra=` of an error about one flow (logged and counted, the site unaffected). mitmproxy's
# errorcheck stops the proxy for any error logged before startup ends; traffic arriving in that
# window must not take the proxy down (see `not_one_flow`).
ONE_FLOW = {"pixelscleared_one_flow": True}
# `extra=` of an error the sidecar lives with while the site is served (an unwritable outbox):
# reported, and never a reason for errorcheck to stop a starting proxy.
NOT_FATAL = ONE_FLOW
# Key-value fields a log call may pass in `extra=`: they become keys of the JSON line (or
# `key=value` on a TTY) instead of being formatted into the message.
FIELDS = ("pixel_id", "event_id", "code", "attempts", "events", "result", "tiktok_message", "advice", "reason",
          "outbox", "pixels", "url", "upstream", "method", "path", "state")
_secrets: set[str] = set()


class LogSettings(Settings):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


def register_secrets(values: Iterable[str]) -> None:
    """Values that must never appear in a log line (tokens, salts). Short ones are ignored."""
    _secrets.update(v for v in values if v and len(v) >= 6)


def _redact_text(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_secrets(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    if not _secrets:
        return event_dict
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = _redact_text(value)
        elif not isinstance(value, (int, float, bool, type(None))):
            text = str(value)
            if _redact_text(text) != text:
                event_dict[key] = _redact_text(text)
    return event_dict


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure(level: str = "info", fmt: str = "auto", *, install_handler: bool = True) -> None:
    """Set up structlog (+ the stdlib root handler when we own the process).

    `install_handler=False` is for the addon loaded into an operator's own mitmdump/mitmweb:
    their log handlers stay in charge and our records arrive as plain key=value text.
    """
    _quiet_shutdown_cancellations()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    if not install_handler:
        structlog.configure(
            processors=[*shared, structlog.processors.KeyValueRenderer(key_order=["event"])],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )
        return
    json_out = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_out else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(FIELDS), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
    # Per-connection chatter from mitmproxy, and mitmweb's per-request access lines (tornado), are
    # noise for an operator (kept at `debug`); their warnings (a refused UI login, say) stay.
    chatter = logging.DEBUG if level == "debug" else logging.WARNING
    logging.getLogger("mitmproxy.proxy.server").setLevel(chatter)
    logging.getLogger("tornado.access").setLevel(chatter)


def _not_a_cancellation(record: logging.LogRecord) -> bool:
    """False for asyncio's report of a cancelled connection task: Python 3.12.0/3.12.1 log one per
    open connection when a server stops (`StreamReaderProtocol` asks a cancelled task for its
    exception). A cancellation at shutdown is not an error; every other asyncio report is kept."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, asyncio.CancelledError)


def _quiet_shutdown_cancellations() -> None:
    log = logging.getLogger("asyncio")
    if _not_a_cancellation not in log.filters:
        log.addFilter(_not_a_cancellation)


def not_one_flow(record: logging.LogRecord) -> bool:
    """A log filter for mitmproxy's errorcheck: an error on one flow is not a startup error."""
    return not getattr(record, "pixelscleared_one_flow", False)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
