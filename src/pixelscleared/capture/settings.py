"""The `capture:` section: which first-party paths carry tracking calls the site already sends."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from pixelscleared.capture.access_log import AccessLogSettings
from pixelscleared.capture.pageviews import PageviewSettings
from pixelscleared.capture.rules import Rule
from pixelscleared.capture.snippet import SnippetSettings
from pixelscleared.model import Settings


def _paths(v: list[str]) -> list[str]:
    for path in v:
        if not path.startswith("/") or any(c.isspace() or c in "?#" for c in path):
            raise ValueError(f"{path!r} must be a URL path starting with / (no query)")
    return v


class CaptureSource(Settings):
    """Tracking calls the site already sends to a first-party path."""

    paths: list[str] = Field(default_factory=list)
    forward: bool = False  # scrubbed inline and passed on to the origin, or answered by the sidecar

    _paths = field_validator("paths")(_paths)


class Ga4Capture(CaptureSource):
    forward: bool = True


class CaptureSettings(Settings):
    # A first-party-proxied TikTok browser pixel beacon (`/api/v2/pixel`): the sidecar becomes the
    # gateway — the browser's data goes to TikTok server-side, scrubbed, with its own event_id.
    tiktok_pixel: CaptureSource = CaptureSource()
    # GA4 gtag hits sent first-party (`/g/collect`, server-side GTM): mirrored to TikTok by the GA4
    # name mapping, and by default scrubbed inline and forwarded to the site.
    ga4: Ga4Capture = Ga4Capture()
    # Successful HTML navigations → Pageview (capture/pageviews.py); present = on.
    pageviews: PageviewSettings | None = None
    # Events from ordinary requests and responses: forms, thank-you pages, the site's own
    # tracking endpoints (capture/rules.py).
    rules: list[Rule] = Field(default_factory=list)
    # <script src="<prefix>ttq.js"> added to HTML pages: TikTok's browser API, first-party.
    snippet: SnippetSettings = SnippetSettings()
    # Route-only mode (`pixelscleared routes`): page views from the web server's access log, sent
    # over UDP (capture/access_log.py); present = on, and `pageviews` decides which count.
    access_log: AccessLogSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _log_means_pageviews(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("access_log") is not None and data.get("pageviews") is None:
            return {**data, "pageviews": {}}  # page views are what the access log is for
        return data
