"""Inline scrubbing of a tracking call that continues to the origin (GA4 hits to server-side GTM).

The call must stay what it was — a query string with its parameters in their order, one GA4
event per body line, JSON that is still JSON — minus the personal data. A body whose format
cannot be rewritten safely is passed on only when nothing personal is detectable in it;
otherwise ScrubError: the glue then answers the call itself (204) and does not forward it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from pixelscleared.scrub import Removed, Scrubber, ScrubError, ScrubResult

MAX_LINES = 1000  # gtag batches at most 25 events per request
_FORM = "application/x-www-form-urlencoded"
_QUERY_LINE = re.compile(r"[^\s=&]+=\S*")
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{4,}")
_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e]\x00){4,}")


@dataclass(slots=True)
class Forwarded:
    """What goes on to the origin instead of the visitor's call."""

    path_qs: str
    body: bytes
    removed: list[Removed] = field(default_factory=list)


def scrub_forwarded(scrubber: Scrubber, path_qs: str, content_type: str, body: bytes) -> Forwarded:
    """Raises ScrubError when the call cannot be forwarded without personal data."""
    url = scrubber.scrub_url(path_qs, "url")
    res = scrub_body(scrubber, content_type, body)
    return Forwarded(url.value, res.value, [*url.removed, *res.removed])


def scrub_body(scrubber: Scrubber, content_type: str, body: bytes) -> ScrubResult:
    """The body in its own format; bytes identical to the input when nothing was removed."""
    if not body:
        return ScrubResult(body, [])
    if len(body) > scrubber.settings.max_bytes:
        raise ScrubError(f"body: larger than {scrubber.settings.max_bytes} bytes")
    media = content_type.partition(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return scrubber.scrub_json_bytes(body, "body")
    text = _utf8(body)
    if media == _FORM:
        if text is None:
            raise ScrubError("body: form data that is not UTF-8")
        return _lines(scrubber, body, text)
    if text is None:
        return _untouched_if_clean(scrubber, body, _binary_text(body))
    if _is_query_lines(text):
        return _lines(scrubber, body, text)
    if text.lstrip()[:1] in ("{", "[") and _is_json(body):
        return scrubber.scrub_json_bytes(body, "body")
    return _untouched_if_clean(scrubber, body, text)


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_query_lines(text: str) -> bool:
    lines = [line.rstrip("\r") for line in text.split("\n")]
    return any(lines) and all(_QUERY_LINE.fullmatch(line) for line in lines if line)


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return True


def _lines(scrubber: Scrubber, body: bytes, text: str) -> ScrubResult:
    """One query string per line (GA4 batches; a form body is the one-line case), line breaks kept."""
    lines = text.split("\n")
    if len(lines) > MAX_LINES:
        raise ScrubError(f"body: more than {MAX_LINES} lines")
    many = sum(1 for line in lines if line.strip()) > 1
    out: list[str] = []
    removed: list[Removed] = []
    for i, line in enumerate(lines):
        end = "\r" if line.endswith("\r") else ""
        core = line[: len(line) - len(end)]
        if not core:
            out.append(line)
            continue
        res = scrubber.scrub_form(core, f"body[{i}]" if many else "body")
        out.append(res.value + end)
        removed.extend(res.removed)
    if not removed:
        return ScrubResult(body, [])
    return ScrubResult("\n".join(out).encode("utf-8"), removed)


def _binary_text(body: bytes) -> str:
    """The readable runs of a binary body (ASCII and UTF-16LE), one per line."""
    runs = [m.decode("ascii") for m in _PRINTABLE_RUN.findall(body)]
    runs += [m.decode("utf-16-le") for m in _UTF16_RUN.findall(body)]
    return "\n".join(runs)


def _untouched_if_clean(scrubber: Scrubber, body: bytes, text: str) -> ScrubResult:
    """A format we cannot rewrite: forwarded as-is only when no detector finds anything in it."""
    if text and scrubber.scrub_text(text, "body").removed:
        raise ScrubError("body: personal data in a body whose format cannot be rewritten")
    return ScrubResult(body, [])
