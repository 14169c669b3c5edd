"""Page views from the traffic a site already serves: successful HTML navigations → `Pageview`.

For sites that change only DNS or routing (no tag): every page a browser navigates to passes
the sidecar, so the navigation itself is the event. Only real navigations count — not assets,
XHR/fetch of HTML fragments, HEAD, redirects, errors, prefetch/prerender, or the sidecar's own
paths — decided from the request and response headers alone (`is_navigation`, pure).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

from pydantic import Field, field_validator

from pixelscleared.capture.fields import query_param
from pixelscleared.event import CapturedEvent
from pixelscleared.model import Settings

PAGEVIEW = "Pageview"
SOURCE = "pageview"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """`/admin/**` → everything under /admin; `*` stays within one path segment; `?` one character."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


class PageviewSettings(Settings):
    """`capture.pageviews`: present = on."""

    include: list[str] = Field(default_factory=lambda: ["/**"])
    exclude: list[str] = Field(default_factory=list)
    # Known bots, crawlers, uptime checkers and HTTP tools (crawlerdetect's list) are not visitors.
    bots: bool = False
    # each bot navigation is a `dropped` row in the events log (off for sites crawled very heavily)
    log_bots: bool = True

    @field_validator("include", "exclude")
    @classmethod
    def _globs(cls, v: list[str]) -> list[str]:
        for p in v:
            if not p.startswith("/") or any(c.isspace() or c == "#" for c in p):
                raise ValueError(f"{p!r} must be a path pattern starting with / (globs: *, **, ?)")
        return v

    def matcher(self) -> PathMatcher:
        return PathMatcher([glob_regex(p) for p in self.include], [glob_regex(p) for p in self.exclude])


class PathMatcher:
    """Include/exclude globs compiled once."""

    def __init__(self, include: list[re.Pattern[str]], exclude: list[re.Pattern[str]]):
        self.include, self.exclude = include, exclude

    def __call__(self, path: str) -> bool:
        return any(p.fullmatch(path) for p in self.include) and not any(p.fullmatch(path) for p in self.exclude)


MAX_USER_AGENTS = 10_000
_PREFETCH = re.compile(r"prefetch|prerender|preview", re.IGNORECASE)


class BotCheck:
    """`crawlerdetect`'s maintained list, loaded once (its patterns compile at first use)."""

    def __init__(self) -> None:
        from crawlerdetect import CrawlerDetect

        self._detect = CrawlerDetect()
        # a site's visitors use a few thousand user agents: each is matched against the list once
        self._seen: dict[str, str] = {}

    def __call__(self, user_agent: str) -> str:
        """Why this user agent is not a visitor ("" when it is one)."""
        if not user_agent:
            return "no user agent"
        if (known := self._seen.get(user_agent)) is not None:
            return known
        why = f"known bot {self._detect.getMatches()!r}" if self._detect.isCrawler(user_agent) else ""
        if len(self._seen) >= MAX_USER_AGENTS:
            self._seen.clear()
        self._seen[user_agent] = why
        return why


def pageview_event(url: str, referrer: str) -> CapturedEvent:
    return CapturedEvent(PAGEVIEW, str(uuid.uuid4()), int(time.time()), SOURCE, url=url, referrer=referrer,
                         ttclid=query_param(url, "ttclid"))


def is_navigation(method: str, status: int, content_type: str, request_headers: Mapping[str, str]) -> bool:
    """A browser navigating to an HTML page that answered 2xx (lower-cased header names).

    `Sec-Fetch-Dest: document` and `Sec-Fetch-Mode: navigate` are required when the browser sends
    them (all current browsers do); older clients without them count when everything else fits.
    """
    if method != "GET" or not 200 <= status < 300 or not content_type.lower().startswith("text/html"):
        return False
    dest, mode = request_headers.get("sec-fetch-dest"), request_headers.get("sec-fetch-mode")
    if dest is not None and dest != "document":
        return False  # iframe, empty (fetch/XHR), script…
    if mode is not None and mode != "navigate":
        return False
    for name in ("sec-purpose", "purpose", "x-purpose", "x-moz"):
        if _PREFETCH.search(request_headers.get(name, "")):
            return False
    return True
