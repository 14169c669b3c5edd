"""The mitmproxy addon: thin glue between proxy hooks and the pipeline.

Site traffic fails open (an exception here never changes the site's response; it is logged and
counted); the sidecar's own endpoints never reach the origin.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from mitmproxy import ctx, exceptions, http

from pixelscleared import logs
from pixelscleared.admin.access import AdminAccess
from pixelscleared.admin.direct import DirectEndpoints
from pixelscleared.admin.endpoints import OwnEndpoints, endpoint_name
from pixelscleared.capture import Route, build_routes, match_route
from pixelscleared.capture.access_log import BadRecord, RecordListener, listen_for_records, parse_record
from pixelscleared.capture.pageviews import BotCheck, PathMatcher, is_navigation, pageview_event
from pixelscleared.capture.rules import (
    MAX_RESPONSE_BYTES,
    CompiledRule,
    RequestParts,
    ResponseTee,
    compile_rules,
    cookies_of,
    read_request,
    read_response_values,
    rule_event,
)
from pixelscleared.capture.snippet import Injector, eligible, injected_headers, meta_allows, plan_csp, script_tag
from pixelscleared.config import Config, ConfigError, load_config
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.flowview import FateWatch, annotate, call_note
from pixelscleared.forwarding import forwarded_headers
from pixelscleared.guard import Door, abort_client, error_page, header_problem, install_error_page, page_template
from pixelscleared.limits import BodyPolicy, BodyTooLarge, BodyUndecodable, body_or_refusal, body_policy, decode_body
from pixelscleared.outbox import Refused
from pixelscleared.pipeline import Pipeline
from pixelscleared.routes import SidecarPaths

logger = logging.getLogger("pixelscleared")
OPTION = "pixelscleared_config"
RULE_KEY = "pixelscleared_rule"  # flow.metadata: (rule, values read so far, request facts)
TEE_KEY = "pixelscleared_tee"


FACTS_KEY = "pixelscleared_facts"


def request_facts(flow: http.HTTPFlow) -> RequestFacts:
    """The visitor's request as the stages see it, built once per flow (hooks ask several times)."""
    if (facts := flow.metadata.get(FACTS_KEY)) is not None:
        return facts  # type: ignore[no-any-return]
    req = flow.request
    headers = {k.lower(): v for k, v in req.headers.items()}
    facts = flow.metadata[FACTS_KEY] = RequestFacts(
        peer_ip=flow.client_conn.peername[0] if flow.client_conn.peername else "",
        headers=headers,
        cookie_header="; ".join(req.headers.get_all("cookie")),
        url=req.pretty_url,
        scheme="https" if flow.client_conn.tls_established else "http",
    )
    return facts


class PixelsCleared:
    """Loaded by `pixelscleared run`, or by `mitmdump/mitmweb -s addon/pixelscleared.py`."""

    def __init__(self, cfg: Config | None = None):
        self.cfg: Config | None = None
        self.pipeline: Pipeline | None = None
        self.endpoints: OwnEndpoints | None = None
        self.prefix = "/_pc/"
        self.routes: dict[str, Route] = {}
        self._running = False
        self._keep_host = False
        self._id_cookies = False  # visitor id, ttclid, _ttp: set on pages after consent
        self._max_body_bytes = 0
        self.watch: FateWatch | None = None
        self.door: Door | None = None
        self._pageviews: PathMatcher | None = None
        self._bots: BotCheck | None = None
        self._rules: list[CompiledRule] = []
        self._page = ""
        self._snippet = False
        self._log_listener: RecordListener | None = None
        self._direct: DirectEndpoints | None = None
        self._sent_here: SidecarPaths | None = None  # route-only mode: what the web server sends us
        if cfg is not None:
            self._use(cfg)

    def _use(self, cfg: Config) -> None:
        self.cfg = cfg
        self.pipeline = Pipeline(cfg)
        self.endpoints = OwnEndpoints(self.pipeline, AdminAccess(cfg.admin))
        self.prefix = cfg.prefix
        self.routes = build_routes(cfg.capture)
        self._id_cookies = bool(cfg.identity.visitor_cookie or cfg.identity.send_ttclid or cfg.identity.send_ttp)
        self._max_body_bytes = cfg.max_body_bytes
        self._pageviews = cfg.capture.pageviews.matcher() if cfg.capture.pageviews is not None else None
        self._bots = BotCheck() if cfg.capture.pageviews is not None and not cfg.capture.pageviews.bots else None
        self._rules = compile_rules(cfg.capture.rules)
        self._sent_here = SidecarPaths.of(cfg)
        self._snippet = cfg.capture.snippet.inject
        self.door = Door(cfg.guard, self.pipeline.count_refused)
        self._page = page_template(cfg.guard)
        install_error_page(self._page)

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
        if self.cfg is not None and self.cfg.capture.access_log is not None:
            pipeline = self.pipeline
            rows_per_view = max(1, len(self.cfg.destinations.tiktok))  # a page view is a row per pixel
            self._log_listener = await listen_for_records(
                self.cfg.capture.access_log, self._logged, lambda: pipeline.count_drop("access_log_backlog_full"),
                lambda n: pipeline.outbox.has_room(n * rows_per_view))
        if self.cfg is not None and self.cfg.listen.endpoints_port is not None and self.endpoints is not None:
            self._direct = DirectEndpoints(self.endpoints, self.pipeline, self.prefix, self._max_body_bytes)
            await self._direct.start(self.cfg.listen.host, self.cfg.listen.endpoints_port)
        if self.door is not None:
            self.door.start()
        if ctx.master.addons.get("view") is not None:  # a UI shows the flows: keep their fates current
            self.watch = FateWatch(self.pipeline.fates)
            self.watch.start()

    async def done(self) -> None:
        if self._direct is not None:
            await self._direct.close()
            self._direct = None
        if self._log_listener is not None:
            await self._log_listener.close()
            self._log_listener = None
        if self.door is not None:
            await self.door.stop()
        if self.watch is not None:
            await self.watch.stop()
            self.watch = None
        if self.pipeline is not None and self._running:
            await self.pipeline.close()
            self._running = False

    # -- connection hooks ------------------------------------------------------------------
    def client_connected(self, client: Any) -> None:
        if self.door is not None:
            self.door.waiting_for_headers(client.id)

    def client_disconnected(self, client: Any) -> None:
        if self.door is not None:
            self.door.arrived(client.id)

    # -- HTTP hooks ------------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.pipeline is None or self.door is None or self.cfg is None:
            return
        if self._refused_at_the_door(flow):
            return
        own = endpoint_name(flow.request.path, self.prefix) is not None
        if not own:
            # here, before mitmproxy decides to stream the body: a streamed request never reaches
            # the `request` hook in time, and the origin must never see a visitor's own X-Forwarded-Host
            try:
                self._forwarded_headers(flow)
            except Exception:
                self.pipeline.count_hook_error("requestheaders")
                logger.exception("PixelsCleared error while setting X-Forwarded-* (site traffic unaffected)",
                                 extra=logs.ONE_FLOW)
        if not (own or self._route(flow)):
            return
        # Our own endpoints and tracking calls are read whole: their size is bounded before reading.
        headers = flow.request.headers
        policy = body_policy(headers.get("content-length"), "transfer-encoding" in headers,
                             self._max_body_bytes, bool(flow.request.stream))
        if policy is BodyPolicy.READ:
            if "content-length" in headers or "transfer-encoding" in headers:
                # a beacon's body must finish in time (slow-body senders); the site's own uploads
                # are left to mitmproxy's idle timeout: a large form on a slow phone is no attack
                self.door.waiting_for_body(flow.client_conn.id)
            return
        self.pipeline.count_drop("body_too_large")
        if policy is BodyPolicy.ANSWER_413:  # mitmproxy reads (and drops) a body it already answered
            flow.response = http.Response.make(
                413, json.dumps({"error": f"body over {self._max_body_bytes} bytes"}).encode(),
                {"Content-Type": "application/json", "Cache-Control": "no-store", "Connection": "close"})
        else:  # unknown or huge size: closed before a byte is read
            self._cut(flow)

    def _refused_at_the_door(self, flow: http.HTTPFlow) -> bool:
        """guard.py's rules on the header block."""
        assert self.pipeline is not None and self.door is not None and self.cfg is not None
        req = flow.request
        try:
            self.door.arrived(flow.client_conn.id)
            first_line = len(req.method) + len(req.path) + len(req.http_version) + 4
            if problem := header_problem(first_line, tuple(req.headers.fields), req.http_version, self.cfg.guard):
                self.pipeline.count_refused(problem.reason)
                self._refuse(flow, problem.status)
                return True
        except Exception:
            self.pipeline.count_hook_error("requestheaders")
            logger.exception("PixelsCleared error in the header checks (request passed on)", extra=logs.ONE_FLOW)
        return False

    def _refuse(self, flow: http.HTTPFlow, status: int) -> None:
        """Answer `status` with the plain error page and close; cut a body mitmproxy streams."""
        if flow.request.stream:
            self._cut(flow)
            return
        flow.response = http.Response.make(status, error_page(self._page, status), {
            "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Connection": "close"})

    def _cut(self, flow: http.HTTPFlow) -> None:
        flow.kill()
        if self.door is not None:
            self.door.arrived(flow.client_conn.id)
        abort_client(flow.client_conn.id)  # kill alone can leave the socket in CLOSE-WAIT

    async def request(self, flow: http.HTTPFlow) -> None:
        if self.door is not None:
            self.door.arrived(flow.client_conn.id)  # the whole body is in
        if self.pipeline is None or flow.response is not None:
            return
        name = endpoint_name(flow.request.path, self.prefix)
        route = None
        try:
            if name is not None:
                await self._own(flow, name)
            elif route := self._route(flow):
                await self._tracking_call(flow, route)
            else:
                if self._rules:
                    self._rule_request(flow)
                if self.pipeline.grace:  # events wait for this visitor's consent: does this request carry it?
                    self.pipeline.settle_held(request_facts(flow))
        except Exception:
            self.pipeline.count_hook_error("request")
            logger.exception("PixelsCleared error on a request (site traffic unaffected)",
                             extra={"method": flow.request.method, "path": flow.request.path.split("?")[0],
                                    **logs.ONE_FLOW})
            if name is not None:  # never pass our endpoints to the origin
                flow.response = http.Response.make(500, b'{"error":"internal"}', {"Content-Type": "application/json"})
            elif route is not None:  # a tracking call we could not clean is not passed on (fail closed)
                flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if self.pipeline is None or flow.response is None or flow.response.stream:
            return
        resp = flow.response
        if RULE_KEY in flow.metadata and flow.metadata[RULE_KEY][0].rule.needs_response:
            try:
                self._rule_response_body(flow)
            except Exception:
                self.count_error("responseheaders")
        if self._snippet:
            try:
                self._inject_snippet(flow)
            except Exception:
                self.count_error("snippet")
        try:
            if self._id_cookies and flow.request.method == "GET" and resp.status_code == 200 \
                    and resp.headers.get("content-type", "").startswith("text/html"):
                for cookie in self.pipeline.cookies_to_set(request_facts(flow)):
                    resp.headers.add("Set-Cookie", cookie)
        except Exception:
            self.pipeline.count_hook_error("responseheaders")
            logger.exception("PixelsCleared error while adding the first-party id cookies (response unaffected)",
                             extra=logs.ONE_FLOW)
        # Bodies we do not inspect are streamed: keeps SSE, long polling and downloads live.
        if not resp.stream and ("content-length" not in resp.headers or resp.headers.get(
                "content-type", "").startswith("text/event-stream")):
            resp.stream = True

    def response(self, flow: http.HTTPFlow) -> None:
        if self.door is None or flow.response is None or flow.response.status_code == 101:
            return
        if flow.request.http_version.startswith("HTTP/1"):  # an idle HTTP/1 connection waits for its next request
            self.door.waiting_for_headers(flow.client_conn.id)
        events: list[CapturedEvent] = []
        if RULE_KEY in flow.metadata:
            try:
                if (event := self._rule_event(flow)) is not None:
                    events.append(event)
            except Exception:
                self.count_error("rule")
        if self._pageviews is not None:
            try:
                if (event := self._pageview(flow)) is not None:
                    events.append(event)
            except Exception:
                self.count_error("pageview")
        if events:  # one consent reading and one outbox unit for the flow's events
            asyncio.get_running_loop().call_soon(self._take_later, events, request_facts(flow))

    # -- capture rules (capture/rules.py) --------------------------------------------------
    def _rule_request(self, flow: http.HTTPFlow) -> None:
        """Read the request side of the first matching rule; answer or scrub the request if asked."""
        assert self.pipeline is not None
        req = flow.request
        path, _, query = req.path.partition("?")
        rule = next((r for r in self._rules if r.matches_request(req.method, path)), None)
        if rule is None:
            return
        facts = request_facts(flow)
        headers = facts.headers
        try:
            body = decode_body(req.raw_content or b"", headers.get("content-encoding", ""), self._max_body_bytes)
        except (BodyTooLarge, BodyUndecodable):
            body = b""
        parts = RequestParts(req.method, path, query, headers, cookies_of(facts.cookie_header),
                             body, headers.get("content-type", ""))
        values = {key: read_request(src, parts) for key, src in rule.rule.request_sources}
        flow.metadata[RULE_KEY] = (rule, values, facts)
        if rule.rule.respond is not None:
            flow.response = http.Response.make(rule.rule.respond, b"", {"Cache-Control": "no-store"})
            self._rule_event_now(flow)
        elif rule.rule.forward == "scrubbed":
            forward = self.pipeline.scrub_for_forward(req.path, headers.get("content-type", ""), body)
            if forward is None:  # cannot be cleaned: answered here, never passed on
                flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})
                self._rule_event_now(flow)
            else:
                req.path = forward.path_qs
                if forward.body != body:
                    req.content = forward.body

    def _rule_response_body(self, flow: http.HTTPFlow) -> None:
        """Keep (a bounded copy of) the response body for `html`/`response_json` values; the
        visitor's bytes pass unchanged, streamed or not."""
        tee = ResponseTee(MAX_RESPONSE_BYTES)
        assert flow.response is not None
        flow.response.stream = tee
        flow.metadata[TEE_KEY] = tee

    # -- the ttq.js tag on HTML pages (capture/snippet.py) -----------------------------------
    def _inject_snippet(self, flow: http.HTTPFlow) -> None:
        """Add the tag while the page streams through, under the page's CSP (or not at all)."""
        assert self.pipeline is not None and flow.response is not None
        req, resp = flow.request, flow.response
        if endpoint_name(req.path, self.prefix) is not None or self._route(flow):
            return
        if not eligible(req.method, resp.status_code, req.http_version, {k.lower(): v for k, v in req.headers.items()},
                        {k.lower(): v for k, v in resp.headers.items()}):
            return
        facts = request_facts(flow)
        scheme, host = self.pipeline.identity.visitor_scheme(facts), facts.host
        plan = plan_csp({name: resp.headers.get_all(name) for name in
                         ("content-security-policy", "content-security-policy-report-only") if name in resp.headers},
                        scheme, host)
        if not plan.ok:
            self.pipeline.count_snippet("csp")
            return
        injector = Injector(script_tag(self.prefix, plan.nonce), resp.headers.get("content-encoding", ""),
                            lambda head: meta_allows(head, scheme, host, plan.nonce), self.pipeline.count_snippet)
        changes = injected_headers(plan, resp.headers.get("etag", ""), req.http_version)
        for name in changes.drop:
            resp.headers.pop(name, None)
        for name, values in changes.set.items():
            resp.headers.set_all(name, values)
        tee = flow.metadata.get(TEE_KEY)
        resp.stream = injector if tee is None else (lambda chunk: injector(tee(chunk)))

    def _rule_event_now(self, flow: http.HTTPFlow) -> None:
        """A call the rule answers itself: its event is queued now (no response hook follows)."""
        if (event := self._rule_event(flow)) is not None:
            asyncio.get_running_loop().call_soon(self._take_later, [event], request_facts(flow))

    def _rule_event(self, flow: http.HTTPFlow) -> CapturedEvent | None:
        rule, values, _facts = flow.metadata.pop(RULE_KEY)
        resp = flow.response
        if resp is None or (rule.rule.respond is None and not rule.matches_status(resp.status_code)):
            return None
        if rule.rule.needs_response and (tee := flow.metadata.pop(TEE_KEY, None)) is not None:
            values |= read_response_values(rule.rule, tee, resp.headers.get("content-encoding", ""),
                                           resp.headers.get("content-type", ""))
        event = rule_event(rule.rule, values, flow.request.pretty_url, flow.request.headers.get("referer", ""))
        if event is None:
            assert self.pipeline is not None
            self.pipeline.count_drop("rule_without_event")
        return event

    def _pageview(self, flow: http.HTTPFlow) -> CapturedEvent | None:
        """A successful HTML navigation becomes a Pageview, decided after the page is on its way:
        the work runs in a later turn of the event loop, never before the response is sent."""
        assert self._pageviews is not None and flow.response is not None
        req, resp = flow.request, flow.response
        content_type = resp.headers.get("content-type", "")
        if req.method != "GET" or not 200 <= resp.status_code < 300 or "html" not in content_type:
            return None  # assets, API calls, redirects: most flows stop here, cheaply
        if endpoint_name(req.path, self.prefix) is not None or self._route(flow):
            return None
        return self._navigation(req.method, resp.status_code, content_type, req.path.split("?", 1)[0],
                                request_facts(flow))

    def _navigation(self, method: str, status: int, content_type: str, path: str,
                    facts: RequestFacts) -> CapturedEvent | None:
        """A Pageview for a browser's navigation to an included path (bots are dropped, visibly)."""
        assert self._pageviews is not None and self.pipeline is not None
        if not is_navigation(method, status, content_type, facts.headers) or not self._pageviews(path):
            return None
        event = pageview_event(facts.url, facts.headers.get("referer", ""))
        if self._bots is not None and (bot := self._bots(facts.user_agent)):
            self.pipeline.drop_junk(event, "bot", bot)
            return None
        return event

    # -- route-only mode: page views from the web server's access log (capture/access_log.py) --
    def _logged(self, datagram: bytes, peer: str) -> None:
        """One access-log record from the web server: a navigation it served becomes a Pageview."""
        assert self.pipeline is not None and self.cfg is not None and self.cfg.capture.access_log is not None
        if peer != "file" and not self.cfg.capture.access_log.allowed(peer):
            self.pipeline.count_drop("access_log_peer_not_allowed")
            return
        try:
            record = parse_record(datagram)
        except BadRecord:
            self.pipeline.count_drop("bad_access_log_record")
            return
        if self._sent_here is not None and self._sent_here.sends(record.path):
            return  # the web server sends these paths to the sidecar (routes.py): it saw them itself
        if (event := self._navigation(record.method, record.status, record.content_type, record.path,
                                      record.facts)) is not None:
            self._take_later([event], record.facts)

    def _take_later(self, events: list[CapturedEvent], facts: RequestFacts) -> None:
        """Page views and rule events, queued after the page is on its way (never awaited)."""
        assert self.pipeline is not None
        try:
            self.pipeline.accept(events, facts)
        except Refused:
            self.pipeline.count_drop("outbox_refused")  # the outbox is not writable: counted, the site unaffected
        except Exception:
            self.count_error("pageview")

    def count_error(self, where: str) -> None:
        if self.pipeline is not None:
            self.pipeline.count_hook_error(where)
        logger.exception("PixelsCleared error in %s (site traffic unaffected)", where, extra=logs.ONE_FLOW)

    # -- helpers ---------------------------------------------------------------------------
    def _route(self, flow: http.HTTPFlow) -> Route | None:
        return match_route(self.routes, flow.request.path) if self.routes else None

    async def _tracking_call(self, flow: http.HTTPFlow, route: Route) -> None:
        assert self.pipeline is not None
        req = flow.request
        if (body := self._body(flow)) is None:
            return  # answered: over the limit once decoded, or not what its encoding says
        call = await self.pipeline.tracking_call(route, req.method, req.path, req.headers.get("content-type", ""),
                                                 body, request_facts(flow))
        forward_removed = [r.as_dict() for r in call.forward.removed] if call.forward else []
        annotate(flow, [a.as_dict() for a in call.accepted],
                 call_note(route.source, call.forward is not None, forward_removed, call.problem),
                 forward_removed=forward_removed)
        if self.watch is not None:
            self.watch.add(flow)
        if call.refused is not None:  # not on disk, so not acknowledged: the caller may send it again
            flow.response = http.Response.make(503, b"", {"Cache-Control": "no-store",
                                                          "Retry-After": str(call.refused.retry_after_s)})
            return
        if call.forward is None:
            flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})
            return
        if call.forward.path_qs != req.path:
            req.path = call.forward.path_qs
        if call.forward.removed:
            req.content = call.forward.body

    def _body(self, flow: http.HTTPFlow) -> bytes | None:
        """The request body decoded with a bound (never mitmproxy's unbounded `get_content()`), or
        None after answering the call: 413 past the limit, 400 when it cannot be decoded."""
        assert self.pipeline is not None
        req = flow.request
        body = body_or_refusal(req.raw_content or b"", req.headers.get("content-encoding", ""), self._max_body_bytes)
        if isinstance(body, bytes):
            return body
        self.pipeline.count_drop(body.reason)
        flow.response = http.Response.make(body.status, json.dumps({"error": body.message}).encode(),
                                           {"Content-Type": "application/json", "Cache-Control": "no-store"})
        return None

    def _forwarded_headers(self, flow: http.HTTPFlow) -> None:
        assert self.pipeline is not None
        req = flow.request
        peer = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        prior = {k: req.headers[k] for k in ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host")
                 if k in req.headers}
        for name, value in forwarded_headers(peer, flow.client_conn.tls_established,
                                             (req.host_header or "") if self._keep_host else "", prior,
                                             self.pipeline.is_trusted_proxy(peer)).items():
            if value is None:
                req.headers.pop(name, None)
            else:
                req.headers[name] = value

    async def _own(self, flow: http.HTTPFlow, name: str) -> None:
        assert self.endpoints is not None
        req = flow.request
        if (body := self._body(flow)) is None:
            return
        reply = await self.endpoints.reply(name, req.method, dict(req.query), body, request_facts(flow))
        headers = {"Content-Type": reply.content_type} if reply.content_type else {}
        flow.response = http.Response.make(reply.status, reply.body,
                                           headers | {"Cache-Control": "no-store"} | reply.headers)
        if reply.accepted is not None:
            annotate(flow, [a.as_dict() for a in reply.accepted])
            if self.watch is not None:
                self.watch.add(flow)
