"""Capture stage: is this request a tracking call? → captured events.

One module per source: `collect` (the sidecar's own endpoint), `tiktok_pixel` (a first-party
TikTok pixel beacon), `ga4` (first-party GA4 hits); `fields` holds the rules they share and
`inline` scrubs a tracking call that continues to the origin. Parsers are pure: they return
events or raise CaptureError with a reason that never echoes values.
"""

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from pixelscleared.capture.collect import parse_collect
from pixelscleared.capture.fields import MAX_EVENTS_PER_CALL, CaptureError
from pixelscleared.capture.ga4 import parse_ga4_hit
from pixelscleared.capture.inline import Forwarded, scrub_forwarded
from pixelscleared.capture.settings import CaptureSettings
from pixelscleared.capture.tiktok_pixel import beacon_pixel_code, parse_tiktok_beacon
from pixelscleared.event import CapturedEvent, RequestFacts

__all__ = ["MAX_EVENTS_PER_CALL", "CaptureError", "Forwarded", "beacon_pixel_code", "parse_collect", "parse_ga4_hit",
           "parse_tiktok_beacon", "scrub_forwarded", "Route", "SOURCES", "build_routes", "match_route", "plain_path"]


Parser = Callable[[str, str, bytes, RequestFacts], list[CapturedEvent]]


def _tiktok_pixel(method: str, query: str, body: bytes, facts: RequestFacts) -> list[CapturedEvent]:
    return parse_tiktok_beacon(body, query, facts)


SOURCES: dict[str, Parser] = {"tiktok_pixel": _tiktok_pixel, "ga4": parse_ga4_hit}


@dataclass(frozen=True, slots=True)
class Route:
    """A first-party path carrying tracking calls the site already sends."""

    source: str
    parse: Parser
    forward: bool  # scrub inline and pass to the origin, or answer it ourselves


def plain_path(path_qs: str) -> str:
    """The path without its query, as a lenient router reads it, for matching only (the request
    itself is never rewritten): percent-decoded, `;params` cut, repeated slashes merged, `.` and
    `..` resolved, lower case. `/%5Fpc/events`, `//_pc/events`, `/G/collect`, `/g/./collect` and
    `/g/collect;x` reach the same handler at many origins, so they must match our paths too, or
    a tracking call would pass on unscrubbed. Cheap for ordinary paths."""
    path = path_qs.partition("?")[0]
    if "%" in path:
        path = unquote(path, errors="replace")
    if ";" in path:
        path = "/".join(segment.partition(";")[0] for segment in path.split("/"))
    if "//" in path or "/." in path:
        path = posixpath.normpath("/" + path.lstrip("/")) + ("/" if path.endswith("/") else "")
        path = "/" + path.lstrip("/")
    return path.lower()


def build_routes(settings: CaptureSettings) -> dict[str, Route]:
    """Exact path → route, built once at load (a dict lookup per request on the hot path)."""
    routes: dict[str, Route] = {}
    for source, parser in SOURCES.items():
        spec = getattr(settings, source)
        for path in spec.paths:
            routes[plain_path(path).rstrip("/") or "/"] = Route(source, parser, spec.forward)
    return routes


def match_route(routes: dict[str, Route], path_qs: str) -> Route | None:
    """The route a request path is for (`/g/collect/`, `//g/collect`, `/g/%63ollect` included)."""
    return routes.get(plain_path(path_qs).rstrip("/") or "/")
