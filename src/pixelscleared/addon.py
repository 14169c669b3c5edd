"""The mitmproxy addon: thin glue between proxy hooks and the pipeline.

Site traffic fails open (an exception here never changes the site's response; it is logged and
counted); the sidecar's own endpoints never reach the origin.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mitmproxy import ctx, exceptions, http

from pixelscleared import logs
from pixelscleared.admin import EVENTS_PAGE, NO_CONTENT, AdminAccess, Reply
from pixelscleared.capture import CaptureError, Route, build_routes, parse_collect, plain_path
from pixelscleared.config import Config, ConfigError, load_config
from pixelscleared.event import RequestFacts
from pixelscleared.eventslog import fetch, parse_query, summary
from pixelscleared.flowview import FateWatch, annotate, items
from pixelscleared.forwarding import forwarded_headers
from pixelscleared.pipeline import Pipeline

logger = logging.getLogger("pixelscleared")
OPTION = "pixelscleared_config"
# an over-limit body up to this size is read and dropped to answer 413; a larger one (which
# mitmproxy would stream to the origin, stream_large_bodies=1m) or a chunked one is killed
ANSWER_413_UP_TO = 1 << 20


def request_facts(flow: http.HTTPFlow) -> RequestFacts:
    req = flow.request
    headers = {k.lower(): v for k, v in req.headers.items()}
    return RequestFacts(
        peer_ip=flow.client_conn.peername[0] if flow.client_conn.peername else "",
        headers=headers,
        cookie_header="; ".join(req.headers.get_all("cookie")),
        url=req.pretty_url,
        scheme="https" if flow.client_conn.tls_established else "http",
    )


def own_name(path_qs: str, prefix: str) -> str | None:
    """The endpoint name when the path is under our prefix (also percent-encoded or after
    repeated slashes, which the site would otherwise receive), else None."""
    path = plain_path(path_qs)
    return path[len(prefix):] if path.startswith(prefix) else None


class PixelsCleared:
    """Loaded by `pixelscleared run`, or by `mitmdump/mitmweb -s addon/pixelscleared.py`."""

    def __init__(self, cfg: Config | None = None):
        self.cfg: Config | None = None
        self.pipeline: Pipeline | None = None
        self.admin: AdminAccess | None = None
        self.prefix = "/_pc/"
        self.routes: dict[str, Route] = {}
        self._running = False
        self._keep_host = False
        self._visitor_cookie = False
        self.watch: FateWatch | None = None
        if cfg is not None:
            self._use(cfg)

    def _use(self, cfg: Config) -> None:
        self.cfg = cfg
        self.pipeline = Pipeline(cfg)
        self.admin = AdminAccess(cfg.admin)
        self.prefix = cfg.prefix
        self.routes: dict[str, Route] = build_routes(cfg.capture)
        self._visitor_cookie = bool(cfg.identity.visitor_cookie)

    # -- lifecycle -------------------------------------------------------------------------
    def load(self, loader: Any) -> None:
        if (check := ctx.master.addons.get("errorcheck")) is not None and hasattr(check, "logger"):
            check.logger.addFilter(logs.not_one_flow)  # a failed flow must not stop a starting proxy
        loader.add_option(
            OPTION, str | None, None,
            "PixelsCleared YAML config file (pixels, tokens, consent and scrub rules). "
            "Validated once at load; an invalid file stops the proxy with the key path of each problem.",
        )

    def configure(self, updated: set[str]) -> None:
        if "keep_host_header" in updated:
            self._keep_host = ctx.options.keep_host_header
        if OPTION not in updated or ctx.options.pixelscleared_config is None:
            return
        if self._running:
            raise exceptions.OptionsError(f"{OPTION} cannot change while running; restart the proxy")
        try:
            cfg = load_config(ctx.options.pixelscleared_config)
        except ConfigError as e:
            raise exceptions.OptionsError("invalid PixelsCleared config:\n  " + "\n  ".join(e.problems)) from None
        logs.configure(cfg.log.level, cfg.log.format, install_handler=False)
        self._use(cfg)

    async def running(self) -> None:
        if self.pipeline is None:
            logger.warning("PixelsCleared loaded without a config: set --set %s=FILE", OPTION)
            return
        await self.pipeline.start()
        self._running = True
        if ctx.master.addons.get("view") is not None:  # a UI shows the flows: keep their fates current
            self.watch = FateWatch(self.pipeline.outbox)
            self.watch.start()

    async def done(self) -> None:
        if self.watch is not None:
            await self.watch.stop()
            self.watch = None
        if self.pipeline is not None and self._running:
            await self.pipeline.close()
            self._running = False

    # -- HTTP hooks ------------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.cfg is None or not (own_name(flow.request.path, self.prefix) is not None or self._route(flow)):
            return
        # Our own endpoints and tracking calls are read whole, so their size is bounded before
        # reading. A chunked body of unknown size could outgrow the buffer and be streamed on to
        # the origin, so it is refused too (browsers send beacons with a Content-Length).
        headers = flow.request.headers
        length = headers.get("content-length", "0" if "transfer-encoding" not in headers else "")
        if length.isdigit() and int(length) <= self.cfg.max_body_bytes:
            return
        assert self.pipeline is not None
        self.pipeline.metrics.dropped.labels("body_too_large").inc()
        if length.isdigit() and int(length) <= ANSWER_413_UP_TO and not flow.request.stream:
            # mitmproxy reads (and drops) a body it already answered: bounded, so answer properly
            flow.response = http.Response.make(
                413, json.dumps({"error": f"body over {self.cfg.max_body_bytes} bytes"}).encode(),
                {"Content-Type": "application/json", "Cache-Control": "no-store", "Connection": "close"})
        else:
            flow.kill()  # unknown or huge size: closed before a byte is read

    async def request(self, flow: http.HTTPFlow) -> None:
        if self.pipeline is None or flow.response is not None:
            return
        name = own_name(flow.request.path, self.prefix)
        own = name is not None
        route = None
        try:
            if name is not None:
                reply = await self._own(flow, name)
                flow.response = http.Response.make(
                    reply.status, reply.body,
                    {"Content-Type": reply.content_type, "Cache-Control": "no-store"} if reply.content_type
                    else {"Cache-Control": "no-store"},
                )
            else:
                if route := self._route(flow):
                    self._tracking_call(flow, route)
                if flow.response is None:
                    self._forwarded_headers(flow)
        except Exception:
            self.pipeline.metrics.addon_errors.labels("request").inc()
            logger.exception("PixelsCleared error on %s %s (site traffic unaffected)",
                             flow.request.method, flow.request.path.split("?")[0], extra=logs.ONE_FLOW)
            if own:  # never pass our endpoints to the origin
                flow.response = http.Response.make(500, b'{"error":"internal"}', {"Content-Type": "application/json"})
            elif route is not None:  # a tracking call we could not clean is not passed on (fail closed)
                flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if self.pipeline is None or flow.response is None or flow.response.stream:
            return
        resp = flow.response
        try:
            if self._visitor_cookie and flow.request.method == "GET" and resp.status_code == 200 \
                    and resp.headers.get("content-type", "").startswith("text/html"):
                if cookie := self.pipeline.visitor_cookie(request_facts(flow)):
                    resp.headers.add("Set-Cookie", cookie)
        except Exception:
            self.pipeline.metrics.addon_errors.labels("responseheaders").inc()
            logger.exception("PixelsCleared error while adding the visitor cookie (response unaffected)",
                             extra=logs.ONE_FLOW)
        # Bodies we do not inspect are streamed: keeps SSE, long polling and downloads live.
        if "content-length" not in resp.headers or resp.headers.get("content-type", "").startswith(
                "text/event-stream"):
            resp.stream = True

    # -- helpers ---------------------------------------------------------------------------
    def _route(self, flow: http.HTTPFlow) -> Route | None:
        if not self.routes:
            return None
        return self.routes.get(plain_path(flow.request.path).rstrip("/") or "/")

    def _tracking_call(self, flow: http.HTTPFlow, route: Route) -> None:
        assert self.pipeline is not None
        req = flow.request
        call = self.pipeline.tracking_call(route, req.method, req.path, req.headers.get("content-type", ""),
                                           req.get_content(strict=False) or b"", request_facts(flow))
        forward_removed = [r.as_dict() for r in call.forward.removed] if call.forward else []
        fate = "forwarded to the origin" if call.forward else "answered by the sidecar"
        if forward_removed:
            fate += " without " + items(forward_removed)
        annotate(flow, [a.as_dict() for a in call.accepted], f"{route.source} call {fate}"
                 + (f"; {call.problem}" if call.problem else ""), forward_removed=forward_removed)
        if self.watch is not None:
            self.watch.add(flow)
        if call.forward is None:
            flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})
            return
        if call.forward.path_qs != req.path:
            req.path = call.forward.path_qs
        if call.forward.removed:
            req.content = call.forward.body

    def _forwarded_headers(self, flow: http.HTTPFlow) -> None:
        assert self.pipeline is not None
        req = flow.request
        peer = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        prior = {k: req.headers[k] for k in ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host")
                 if k in req.headers}
        for name, value in forwarded_headers(peer, flow.client_conn.tls_established,
                                             (req.host_header or "") if self._keep_host else "", prior,
                                             self.pipeline.identity.is_trusted_proxy(peer)).items():
            if value is None:
                req.headers.pop(name, None)
            else:
                req.headers[name] = value

    async def _own(self, flow: http.HTTPFlow, name: str) -> Reply:
        assert self.pipeline is not None and self.admin is not None
        req = flow.request
        if name == "collect":
            if req.method == "OPTIONS":
                return NO_CONTENT
            if req.method != "POST":
                return Reply.json(405, {"error": "use POST"})
            return self._collect(flow)
        if name == "health":
            return Reply.json(200, {"status": "ok"})
        if name not in ("events", "events.html", "metrics"):
            return Reply.json(404, {"error": "not found"})
        peer = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        if not self.admin.allowed(peer, req.headers.get("authorization", "")):
            return Reply.json(403, {"error": "admin endpoints are limited to admin.allow networks or admin.token"})
        if name == "metrics":
            return Reply(200, self.pipeline.metrics.render(), "text/plain; version=0.0.4")
        if name == "events.html":
            return Reply(200, EVENTS_PAGE.encode(), "text/html; charset=utf-8")
        try:
            query = parse_query(dict(req.query))
        except ValueError as e:
            return Reply.json(400, {"error": str(e)})
        rows = await self.pipeline.outbox.query(fetch, query)
        counts = await self.pipeline.outbox.query(summary)
        return Reply.json(200, {"events": rows, "counts": counts})

    def _collect(self, flow: http.HTTPFlow) -> Reply:
        assert self.pipeline is not None
        facts = request_facts(flow)
        try:
            events = parse_collect(flow.request.get_content(strict=False) or b"", facts)
        except CaptureError as e:
            self.pipeline.metrics.dropped.labels("bad_collect_call").inc()
            return Reply.json(400, {"error": str(e)})
        accepted = self.pipeline.accept(events, facts)
        annotate(flow, [a.as_dict() for a in accepted])
        if self.watch is not None:
            self.watch.add(flow)
        return NO_CONTENT
