"""Routing under the prefix: what each of the sidecar's own endpoints answers.

`collect` is public (the site's pages call it); `health` (liveness) and `ready` (readiness:
origin, outbox, deliverer, each pixel's last answer; `ready.py`) are public; `metrics`,
`events` and the `events.html` page are for operators (`access.py`). Takes plain values, not
a mitmproxy flow, so every answer can be tested without a proxy; nothing here ever reaches
the origin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pixelscleared.admin.access import AdminAccess
from pixelscleared.admin.destinations import same_origin
from pixelscleared.admin.pages import DESTINATIONS_PAGE, EVENTS_PAGE
from pixelscleared.capture import CaptureError, plain_path
from pixelscleared.capture.snippet import strong_etag, ttq_script
from pixelscleared.event import RequestFacts
from pixelscleared.eventslog import parse_query
from pixelscleared.outbox import Refused, Unwritable
from pixelscleared.pipeline import Accepted, Pipeline

OPERATOR_ENDPOINTS = frozenset({"events", "events.html", "metrics", "destinations", "destinations.html",
                                "destinations/test"})


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    accepted: list[Accepted] | None = None  # collect: each event's fate, for the flow's annotation
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(doc, separators=(",", ":")).encode(), headers=headers or {})


NO_CONTENT = Reply(204, b"", "")


def endpoint_name(path_qs: str, prefix: str) -> str | None:
    """The endpoint name when the path is under our prefix (also percent-encoded or after
    repeated slashes, which the site would otherwise receive), else None."""
    path, prefix = plain_path(path_qs), prefix.lower()
    return path[len(prefix):] if path.startswith(prefix) else None


class OwnEndpoints:
    def __init__(self, pipeline: Pipeline, access: AdminAccess):
        self.pipeline = pipeline
        self.access = access
        self.ttq_js = ttq_script(pipeline.cfg.prefix)
        self.ttq_etag = strong_etag(self.ttq_js)

    async def reply(self, name: str, method: str, query: Mapping[str, str], body: bytes,
                    facts: RequestFacts) -> Reply:
        """The answer to `<prefix><name>`; `name` is the path after the prefix, without the query."""
        if name == "collect":
            return await self.collect(method, body, facts)
        if name == "health":
            return Reply.json(200, {"status": "ok"})
        if name == "ttq.js":
            return self.ttq(method, facts.headers.get("if-none-match", ""))
        if name == "ready":
            ready, report = await self.pipeline.readiness()
            return Reply.json(200 if ready else 503, report)
        if name not in OPERATOR_ENDPOINTS:
            return Reply.json(404, {"error": "not found"})
        if not self.access.allowed(facts.peer_ip, facts.headers.get("authorization", ""),
                                   via_trusted_proxy=self.pipeline.is_trusted_proxy(facts.peer_ip)):
            return Reply.json(403, {"error": "admin endpoints are limited to admin.allow networks or admin.token"})
        if name == "metrics":
            return Reply(200, await self.pipeline.metrics_text(), "text/plain; version=0.0.4")
        if name == "events.html":
            return Reply(200, EVENTS_PAGE.encode(), "text/html; charset=utf-8")
        if name == "destinations.html":
            return Reply(200, DESTINATIONS_PAGE.encode(), "text/html; charset=utf-8")
        if name == "destinations":
            try:
                return Reply.json(200, {"pixels": await self.pipeline.destinations()})
            except Unwritable as e:
                return Reply.json(503, {"error": f"the events log cannot be opened: {e}"}, {"Retry-After": "5"})
        if name == "destinations/test":
            if method != "POST":
                return Reply.json(405, {"error": "use POST"})
            if not same_origin(facts.headers):
                return Reply.json(403, {"error": "send from the destinations page (same origin, with its header)"})
            wanted = [p for p in query.get("pixel", "").split(",") if p]
            return Reply.json(200, {"checks": await self.pipeline.test_pixels(wanted)})
        try:
            q = parse_query(dict(query))
        except ValueError as e:
            return Reply.json(400, {"error": str(e)})
        try:
            rows, counts = await self.pipeline.events(q)
        except Unwritable as e:
            return Reply.json(503, {"error": f"the events log cannot be opened: {e}"}, {"Retry-After": "5"})
        return Reply.json(200, {"events": rows, "counts": counts})

    def ttq(self, method: str, if_none_match: str) -> Reply:
        """The first-party TikTok API script (capture/ttq.js): cached an hour, revalidated by ETag."""
        if method not in ("GET", "HEAD"):
            return Reply.json(405, {"error": "use GET"})
        headers = {"ETag": self.ttq_etag, "Cache-Control": "public, max-age=3600"}
        if self.ttq_etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")] \
                or if_none_match.strip() == "*":
            return Reply(304, b"", "", headers=headers)
        return Reply(200, self.ttq_js if method == "GET" else b"", "text/javascript; charset=utf-8", headers=headers)

    async def collect(self, method: str, body: bytes, facts: RequestFacts) -> Reply:
        """204 only once the events are on disk; 400 (nothing queued) or 503 (nothing queued: retry)."""
        if method == "OPTIONS":
            return NO_CONTENT
        if method != "POST":
            return Reply.json(405, {"error": "use POST"})
        try:
            accepted = await self.pipeline.collect(body, facts)
        except CaptureError as e:
            return Reply.json(400, {"error": str(e)})
        except Refused as e:
            return Reply.json(503, {"error": f"events not accepted: {e.reason}; send them again later"},
                              {"Retry-After": str(e.retry_after_s)})
        return Reply(204, b"", "", accepted)
