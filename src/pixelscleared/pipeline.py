"""The pipeline: capture → consent → scrub → identity → shape → decide → outbox → deliver → events log.

Built once from a validated Config. The inline stages (`collect`, `tracking_call`, `accept`)
only compute and append to the outbox buffer, so they are safe on the proxy's hot path;
`start()` runs the background stages (outbox writer, deliverer, retention). This class is also
the one door the proxy glue and the admin endpoints use: they never reach into a stage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from pixelscleared import logs
from pixelscleared.admin.destinations import describe, test_connection
from pixelscleared.capture import CaptureError, Forwarded, Route, parse_collect, scrub_forwarded
from pixelscleared.capture.fields import query_param
from pixelscleared.config import Config
from pixelscleared.consent import ConsentEngine, Verdict
from pixelscleared.consent.grace import GraceWindow
from pixelscleared.decide import NO_PIXEL, Decision, Drop, decide
from pixelscleared.deliver import Deliverer
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.identity import IdentityResolver, client_ip
from pixelscleared.metrics import Metrics
from pixelscleared.outbox import EventsQuery, FateKey, Outbox, OutboxRow, Refused, Status, Unwritable
from pixelscleared.ready import OriginProbe, pixel_state
from pixelscleared.scrub import Scrubber, ScrubError
from pixelscleared.scrub.engine import Removed
from pixelscleared.scrub.event import ScrubbedEvent, scrub_event, scrub_ids_only
from pixelscleared.shape import shape_event, undocumented_keys

logger = logging.getLogger(__name__)
RETENTION_S = 7 * 24 * 3600
PRUNE_EVERY_S = 3600


@dataclass(slots=True)
class Accepted:
    """What happened to one captured event inline (shown on the flow in mitmweb)."""

    event_id: str
    event: str
    verdict: str
    consent_sources: list[str]
    removed: list[dict[str, str]]
    pixels: dict[str, str] = field(default_factory=dict)  # pixel_id → queued | dropped: reason

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "event": self.event, "verdict": self.verdict,
                "consent_sources": self.consent_sources, "removed": self.removed, "pixels": self.pixels}


def as_accepted(decision: Decision) -> Accepted:
    """The decision as the flow's annotation shows it: one event, each pixel's fate."""
    first = decision.rows[0]
    return Accepted(first.event_id, first.event_name, decision.verdict.state, list(decision.verdict.sources),
                    first.removed, {r.pixel_id: f"{r.status}: {r.reason}" if r.reason else str(r.status)
                                    for r in decision.rows})


@dataclass(slots=True)
class Intake:
    """The events of one call, taken by the outbox as a unit."""

    accepted: list[Accepted]
    committed: asyncio.Future[None] | None  # resolves once on disk (raises Refused); None: not awaited


@dataclass(slots=True)
class TrackingCall:
    """The outcome of a tracking call the site already sends (GA4 hit, pixel beacon)."""

    accepted: list[Accepted]
    forward: Forwarded | None  # what goes on to the origin; None: the sidecar answers the call
    problem: str = ""
    refused: Refused | None = None  # the sidecar answers, and could not take the events: 503


class Pipeline:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.metrics = Metrics()
        self.consent = ConsentEngine(cfg.consent)
        self.scrubber = Scrubber(cfg.scrub)
        self.identity = IdentityResolver(cfg.identity)
        self.grace = GraceWindow(cfg.consent.grace_window_s)  # empty (falsy) unless events wait
        self.outbox = Outbox(cfg.outbox.path, self.metrics, max_buffered=cfg.outbox.max_buffered,
                             flush_interval_ms=cfg.outbox.flush_interval_ms)
        self.deliverer = Deliverer(self.outbox, cfg.destinations.tiktok, cfg.delivery, self.metrics)
        self._tasks: list[asyncio.Task[None]] = []
        self.pixel_checks: dict[str, dict[str, Any]] = {}  # pixel id → the last validate result
        self.origin_probe = OriginProbe(cfg.upstream)
        logs.register_secrets(
            [p.access_token.get_secret_value() for p in cfg.destinations.tiktok]
            + [cfg.identity.salt.get_secret_value(), cfg.admin.token.get_secret_value()]
        )

    # -- inline stages (hot path: computing only; a call the sidecar answers awaits its commit) --
    async def collect(self, body: bytes, facts: RequestFacts) -> list[Accepted]:
        """A call to our collect endpoint, answered only once its events are on disk.

        Raises CaptureError (counted) when the call cannot be read, Refused when the outbox cannot
        take its events now: in both cases none of them was queued, so the caller may retry.
        """
        try:
            events = parse_collect(body, facts)
        except CaptureError:
            self.metrics.dropped.labels("bad_collect_call").inc()
            raise
        return await self._take(events, facts, wait=True)

    async def tracking_call(self, route: Route, method: str, path_qs: str, content_type: str, body: bytes,
                            facts: RequestFacts) -> TrackingCall:
        """Capture events from the call; scrub the call itself when it continues to the origin.

        A call the sidecar answers itself is answered once its events are on disk (or refused);
        one that continues to the origin never waits for the outbox.
        """
        problem = ""
        try:
            events = route.parse(method, path_qs.partition("?")[2], body, facts)
        except CaptureError as e:
            self.metrics.dropped.labels("bad_tracking_call").inc()
            events, problem = [], f"{route.source}: {e}"
        accepted: list[Accepted] = []
        refused: Refused | None = None
        try:
            accepted = await self._take(events, facts, wait=not route.forward) if events else []
        except Refused as e:
            refused = e
            problem = problem or f"events refused: {e.reason}"
        if not route.forward:
            return TrackingCall(accepted, None, problem, refused)
        try:
            forward = scrub_forwarded(self.scrubber, path_qs, content_type, body)
        except ScrubError as e:
            # Fail closed: a call we cannot clean is answered here, never passed on.
            self.metrics.dropped.labels("forward_scrub_failed").inc()
            return TrackingCall(accepted, None, problem or f"not forwarded: {e}")
        for r in forward.removed:
            self.metrics.removed.labels(r.kind).inc()
        return TrackingCall(accepted, forward, problem)

    def scrub_for_forward(self, path_qs: str, content_type: str, body: bytes) -> Forwarded | None:
        """A site's request with personal data removed (`forward: scrubbed` rules), or None when it
        cannot be cleaned: then it is answered by the sidecar, never passed on (fail closed)."""
        try:
            forward = scrub_forwarded(self.scrubber, path_qs, content_type, body)
        except ScrubError:
            self.metrics.dropped.labels("forward_scrub_failed").inc()
            return None
        for r in forward.removed:
            self.metrics.removed.labels(r.kind).inc()
        return forward

    def accept(self, events: list[CapturedEvent], facts: RequestFacts, *, wait: bool = False) -> Intake:
        """The events of one request, all or none: every event is decided before any row is queued,
        so a call that fails anywhere (or that the outbox refuses) leaves nothing half-written."""
        verdict = self.consent.evaluate(facts.cookie_header, facts.headers)  # cookies: once per request
        if self.grace:
            self.settle_held(facts, verdict)
        decided = [self._decide_one(event, verdict, facts) for event in events]
        committed = self.outbox.put_all([row for d in decided for row in d.rows], wait=wait)  # or Refused
        return Intake([as_accepted(d) for d in decided], committed)

    def settle_held(self, facts: RequestFacts, verdict: Verdict | None = None) -> None:
        """Consent grace window: this visitor's request carries a decision now — their held events
        are decided again with it and go out at once (full with a grant, minimal with a denial)."""
        if verdict is None:
            verdict = self.consent.evaluate(facts.cookie_header, facts.headers)
        if verdict.state == "unknown":
            return
        held = self.grace.take(self.grace.visitor(facts, client_ip(facts, self.identity.trusted)))
        amends = []
        for event, then in held:
            decision = self._decide_one(event, verdict, then, again=True)
            for row in decision.rows:
                row.amend = True
                amends.append(row)
        if amends:
            self.metrics.grace.labels(verdict.state).inc(len(held))
            try:
                self.outbox.put_all(amends, wait=False)
            except Refused:  # the rows keep their first decision and go out minimal at the timeout
                self.metrics.dropped.labels("outbox_refused").inc(len(held))

    async def _take(self, events: list[CapturedEvent], facts: RequestFacts, *, wait: bool) -> list[Accepted]:
        """`accept`, then (with `wait`) the commit: raises Refused when the events are not on disk."""
        intake = self.accept(events, facts, wait=wait)
        if intake.committed is not None:
            await self.outbox.committed(intake.committed)
        return intake.accepted

    def _decide_one(self, event: CapturedEvent, verdict: Verdict, facts: RequestFacts, *,
                    again: bool = False) -> Decision:
        """One event down the chain. Every fate, sent or not, becomes events log rows. `again`: a
        held event decided with the visitor's later consent (counted once, when captured)."""
        if not again:
            self.metrics.captured.labels(event.source).inc()
        verdict = self.consent.with_hit(verdict, event.consent_params)       # consent the call carries
        if not again:
            self.metrics.verdicts.labels(verdict.state).inc()
        if not any(p.takes(event.name) and p.serves(facts.host) for p in self.cfg.destinations.tiktok):
            scrubbed = scrub_ids_only(self.scrubber, event)  # no pixel takes it: only its row's name and id
            decision = decide(event.name, scrubbed, verdict, {}, self.cfg.destinations.tiktok,
                              self.cfg.unconsented, facts.host)
            if not again:
                self._count(scrubbed, decision)
            return decision
        scrubbed = scrub_event(self.scrubber, event)                         # scrub: fails closed
        user, limited = self.identity.user(verdict, facts, scrubbed.event)   # identity, by consent
        payload = shape_event(scrubbed.event, user, limited)                 # shape: TikTok's event
        if scrubbed.ok and (undocumented := undocumented_keys(scrubbed.event.properties)):
            scrubbed = replace(scrubbed, removed=[*scrubbed.removed,
                                                  *(Removed(f"properties.{k}", "undocumented") for k in undocumented)])
        decision = decide(event.name, scrubbed, verdict, payload,            # decide: a row per pixel
                          self.cfg.destinations.tiktok, self.cfg.unconsented, facts.host)
        if verdict.state == "unknown" and self.grace.seconds and not again and scrubbed.ok:
            due = self.grace.hold(self.grace.visitor(facts, client_ip(facts, self.identity.trusted)), event, facts)
            for row in decision.rows:  # out minimal when the window ends, unless the visitor decides first
                if row.status == Status.QUEUED:
                    row.due_at = due
                    row.reason = f"waiting up to {self.grace.seconds:g} s for the visitor's consent"
        if not again:
            self._count(scrubbed, decision)
        return decision

    def _count(self, scrubbed: ScrubbedEvent, decision: Decision) -> None:
        if scrubbed.ok:
            for r in scrubbed.removed:
                if r.kind != "undocumented":  # personal data only; undocumented keys are shape's
                    self.metrics.removed.labels(r.kind).inc()
        if decision.drop is not None:
            self.metrics.dropped.labels(decision.drop).inc()
        if decision.drop == Drop.SCRUB_FAILED:
            logger.warning("scrub failed, event not sent",
                           extra={"event_id": scrubbed.event.event_id, "reason": scrubbed.problem})

    def drop_junk(self, event: CapturedEvent, reason: str, detail: str) -> None:
        """Traffic that is not a visitor's (a known bot): counted, and a row in the events log unless
        `capture.pageviews.log_bots` is off. Never scrubbed, decided or sent."""
        self.metrics.dropped.labels(reason).inc()
        if self.cfg.capture.pageviews is None or self.cfg.capture.pageviews.log_bots:
            self.outbox.put(OutboxRow(event.event_id, NO_PIXEL, event.name, event.source, "-", [], [],
                                      Status.DROPPED, f"{reason}: {detail}"))

    def cookies_to_set(self, facts: RequestFacts) -> list[str]:
        """Set-Cookie values for the sidecar's first-party ids on a page (consent granted), or []."""
        ident = self.cfg.identity
        if not (ident.visitor_cookie or ident.send_ttclid or ident.send_ttp):
            return []
        verdict = self.consent.evaluate(facts.cookie_header, facts.headers)
        return self.identity.cookies_to_set(verdict, facts, query_param(facts.url, "ttclid"))

    def is_trusted_proxy(self, peer: str) -> bool:
        return self.identity.is_trusted_proxy(peer)

    # -- what the glue and the admin endpoints read or count --------------------------------
    def count_drop(self, reason: str) -> None:
        self.metrics.dropped.labels(reason).inc()

    def count_snippet(self, outcome: str) -> None:
        self.metrics.snippet.labels(outcome).inc()

    def count_refused(self, reason: str) -> None:
        self.metrics.refused.labels(reason).inc()

    def count_hook_error(self, hook: str) -> None:
        self.metrics.addon_errors.labels(hook).inc()

    async def metrics_text(self) -> bytes:
        await self.outbox.refresh_pending()
        return self.metrics.render()

    async def events(self, q: EventsQuery) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The events log's rows matching `q`, and the count of every status."""
        return await self.outbox.events(q), await self.outbox.counts()

    async def destinations(self) -> list[dict[str, Any]]:
        """Each configured pixel with its event counts and TikTok's last answer (admin/destinations.py)."""
        counts = await self.outbox.counts_by_pixel()
        return [describe(i, p, counts.get(p.pixel_id, {}), self.deliverer.last.get(p.pixel_id))
                for i, p in enumerate(self.cfg.destinations.tiktok)]

    async def test_pixels(self, pixel_ids: list[str]) -> list[dict[str, Any]]:
        """`pixelscleared validate` for these pixels (all when empty): TikTok's answer and what to do."""
        pixels = [p for p in self.cfg.destinations.tiktok if not pixel_ids or p.pixel_id in pixel_ids]
        return await test_connection(pixels, self.cfg.delivery.timeout_s)

    async def fates(self, keys: list[FateKey]) -> dict[FateKey, str]:
        return await self.outbox.fates(keys)

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, report) for `/_pc/ready`; each condition is also a metric."""
        origin = await self.origin_probe.check()
        checks: dict[str, dict[str, Any]] = {
            "origin": {"ok": origin.ok, "detail": origin.detail},
            "outbox": {"ok": self.outbox.is_open and self.outbox.writable,
                       "detail": "writable" if self.outbox.writable and self.outbox.is_open
                       else self.outbox.open_error or "not writable: events are refused"},
            "deliverer": {"ok": self.deliverer.running},
        }
        for name, check in checks.items():
            self.metrics.ready.labels(name).set(int(check["ok"]))
        pixels = {p.pixel_id: pixel_state(self.deliverer.last.get(p.pixel_id), self.pixel_checks.get(p.pixel_id))
                  for p in self.cfg.destinations.tiktok}
        ready = all(c["ok"] for c in checks.values())
        return ready, {"status": "ready" if ready else "not_ready", "checks": checks, "pixels": pixels}

    # -- background stages -----------------------------------------------------------------
    async def start(self) -> None:
        """Open the outbox and start the background stages. An outbox that cannot be opened does
        not stop the proxy (the site is served): events are refused until it opens."""
        if self.cfg.delivery.validate_on_start and self.cfg.destinations.tiktok:
            self._spawn("validate", self._validate())
        try:
            await self.outbox.open()
        except Unwritable:
            self._spawn("outbox-open", self._open_later())
            return
        self._start_stages()

    async def _open_later(self) -> None:
        await self.outbox.open_when_possible()
        self._start_stages()

    def _start_stages(self) -> None:
        self._spawn("outbox-writer", self.outbox.run_writer())
        self._spawn("deliverer", self.deliverer.run())
        self._spawn("retention", self._retention())
        logger.info("pipeline started", extra={"outbox": str(self.cfg.outbox.path),
                                               "pixels": [p.pixel_id for p in self.cfg.destinations.tiktok]})

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        from mitmproxy.utils.asyncio_utils import create_task

        self._tasks.append(create_task(coro, name=f"pixelscleared-{name}", keep_ref=True))

    async def close(self) -> None:
        await self.origin_probe.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.outbox.close()

    async def _validate(self) -> None:
        """`pixelscleared validate` at start: one line and a metric per pixel; nothing else waits on it."""
        from pixelscleared.validate import check_all

        try:
            checks = await check_all(self.cfg.destinations.tiktok, self.cfg.delivery.timeout_s)
        except Exception:
            logger.exception("pixel check at start failed", extra=logs.NOT_FATAL)
            return
        for check in checks:
            self.pixel_checks[check.pixel_id] = check.as_dict()
            self.metrics.pixel_check.labels(check.pixel_id).set(int(check.ok))
            if check.ok:
                logger.info("pixel check: TikTok accepted the token", extra={"pixel_id": check.pixel_id})
            else:
                # never a reason for mitmproxy's errorcheck to stop the proxy: the site is served regardless
                logger.error("pixel check: TikTok refused the token",
                             extra={"pixel_id": check.pixel_id, "code": check.code, "tiktok_message": check.message,
                                    "advice": check.advice, **logs.NOT_FATAL})

    async def _retention(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            try:
                await self.outbox.prune(RETENTION_S)
            except Exception:
                logger.exception("events log pruning failed", extra=logs.NOT_FATAL)
