"""The pipeline: capture → consent → scrub → shape → outbox → deliver → events log.

Built once from a validated Config. `accept()` runs the inline stages for one request and
only appends to the outbox buffer, so it is safe on the proxy's hot path; `start()` runs the
background stages (outbox writer, deliverer, retention).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from pixelscleared import logs
from pixelscleared.capture import CaptureError, Forwarded, Route, scrub_forwarded
from pixelscleared.config import Config
from pixelscleared.consent import ConsentEngine, Verdict
from pixelscleared.deliver import Deliverer
from pixelscleared.event import CapturedEvent, RequestFacts
from pixelscleared.identity import IdentityResolver
from pixelscleared.metrics import Metrics
from pixelscleared.outbox import Outbox, OutboxRow
from pixelscleared.scrub import Removed, ScrubError, Scrubber
from pixelscleared.shape import shape_event, tiktok_event_name, wants

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


@dataclass(slots=True)
class TrackingCall:
    """The outcome of a tracking call the site already sends (GA4 hit, pixel beacon)."""

    accepted: list[Accepted]
    forward: Forwarded | None  # what goes on to the origin; None: the sidecar answers the call
    problem: str = ""


NO_PIXEL = "-"  # the pixel id of an events log row for an event no pixel takes


class Pipeline:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.metrics = Metrics()
        self.consent = ConsentEngine(cfg.consent)
        self.scrubber = Scrubber(cfg.scrub)
        self.identity = IdentityResolver(cfg.identity)
        self.outbox = Outbox(cfg.outbox.path, self.metrics, max_buffered=cfg.outbox.max_buffered,
                             flush_interval_ms=cfg.outbox.flush_interval_ms)
        self.deliverer = Deliverer(self.outbox, cfg.destinations.tiktok, cfg.delivery, self.metrics)
        self._tasks: list[asyncio.Task[None]] = []
        logs.register_secrets(
            [p.access_token.get_secret_value() for p in cfg.destinations.tiktok]
            + [cfg.identity.salt.get_secret_value(), cfg.admin.token.get_secret_value()]
        )

    # -- background stages -----------------------------------------------------------------
    async def start(self) -> None:
        from mitmproxy.utils.asyncio_utils import create_task

        await self.outbox.open()
        for name, coro in (("outbox-writer", self.outbox.run_writer()), ("deliverer", self.deliverer.run()),
                           ("retention", self._retention())):
            self._tasks.append(create_task(coro, name=f"pixelscleared-{name}", keep_ref=True))
        logger.info("pipeline started: outbox=%s pixels=%s", self.cfg.outbox.path,
                    ",".join(p.pixel_id for p in self.cfg.destinations.tiktok) or "-")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.outbox.close()

    async def _retention(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            try:
                await self.outbox.prune(RETENTION_S)
            except Exception:
                logger.exception("events log pruning failed")

    # -- inline stages (hot path: no I/O) -------------------------------------------------
    def accept(self, events: list[CapturedEvent], facts: RequestFacts) -> list[Accepted]:
        verdict = self.consent.evaluate(facts.cookie_header, facts.headers)
        self.metrics.verdicts.labels(verdict.state).inc()
        return [self._accept_one(event, verdict, facts) for event in events]

    def _accept_one(self, event: CapturedEvent, verdict: Verdict, facts: RequestFacts) -> Accepted:
        self.metrics.captured.labels(event.source).inc()
        # ids are cleaned first: they are stored, logged and shown before anything else is scrubbed
        targets = [p for p in self.cfg.destinations.tiktok if wants(p, event.name)]
        event, id_removed, name_problem = self.scrub_ids(event)
        name = tiktok_event_name(event.name)
        acc = Accepted(event.event_id, name, verdict.state, list(verdict.sources), [])

        def row(pixel_id: str, status: str, reason: str = "", payload: dict[str, Any] | None = None,
                test_event_code: str = "") -> None:
            stored = self.outbox.put(OutboxRow(event.event_id, pixel_id, name, event.source, verdict.state,
                                               list(verdict.sources), acc.removed, status, reason, payload,
                                               test_event_code))
            if not stored:
                status, reason = "dropped", "outbox buffer full"
            acc.pixels[pixel_id] = status if not reason else f"{status}: {reason}"

        if not targets:
            # recorded like any other fate: a tester looking for the event finds why it went nowhere
            self.metrics.dropped.labels("no_pixel_for_event").inc()
            row(NO_PIXEL, "dropped", "no pixel takes this event")
            return acc
        try:
            if name_problem:
                raise ScrubError(name_problem)
            clean, removed = self.scrub(event)
            removed = id_removed + removed
        except ScrubError as e:
            # Fail closed: nothing of this event leaves.
            self.metrics.dropped.labels("scrub_failed").inc()
            logger.warning("scrub failed, event %s not sent: %s", event.event_id, e)
            for p in targets:
                row(p.pixel_id, "dropped", f"scrub failed: {e}")
            return acc
        acc.removed = [r.as_dict() for r in removed]
        for r in removed:
            self.metrics.removed.labels(r.kind).inc()
        if verdict.state != "granted" and self.cfg.unconsented == "drop":
            self.metrics.dropped.labels("consent").inc()
            for p in targets:
                row(p.pixel_id, "dropped", f"consent {verdict.state} and unconsented: drop")
            return acc
        user, limited = self.identity.user(verdict, facts, clean)
        payload = shape_event(clean, user, limited)
        for p in targets:
            row(p.pixel_id, "queued", payload=payload, test_event_code=event.test_event_code or p.test_event_code)
        return acc

    def tracking_call(self, route: Route, method: str, path_qs: str, content_type: str, body: bytes,
                      facts: RequestFacts) -> TrackingCall:
        """Capture events from the call; scrub the call itself when it continues to the origin."""
        problem = ""
        try:
            events = route.parse(method, path_qs.partition("?")[2], body, facts)
        except CaptureError as e:
            self.metrics.dropped.labels("bad_tracking_call").inc()
            events, problem = [], f"{route.source}: {e}"
        accepted = self.accept(events, facts) if events else []
        if not route.forward:
            return TrackingCall(accepted, None, problem)
        try:
            forward = scrub_forwarded(self.scrubber, path_qs, content_type, body)
        except ScrubError as e:
            # Fail closed: a call we cannot clean is answered here, never passed on.
            self.metrics.dropped.labels("forward_scrub_failed").inc()
            return TrackingCall(accepted, None, problem or f"not forwarded: {e}")
        for r in forward.removed:
            self.metrics.removed.labels(r.kind).inc()
        return TrackingCall(accepted, forward, problem)

    def visitor_cookie(self, facts: RequestFacts) -> str | None:
        """A Set-Cookie value for the sidecar's own visitor id (consent granted, none yet), or None."""
        if not self.cfg.identity.visitor_cookie:
            return None
        verdict = self.consent.evaluate(facts.cookie_header, facts.headers)
        return self.identity.visitor_cookie_to_set(verdict, facts)

    def scrub_ids(self, event: CapturedEvent) -> tuple[CapturedEvent, list[Removed], str]:
        """The event's name and ids through the scrubber.

        A page may use an email as its event id: such an id is replaced by a fresh one (the
        browser copy then no longer deduplicates, which is the lesser harm); a tainted ttclid or
        test code is left out; a name holding personal data fails the event (it has no stand-in).
        """
        removed: list[Removed] = []
        changes: dict[str, str] = {}
        name_problem = ""
        for attr in ("name", "event_id", "ttclid", "test_event_code"):
            value: str = getattr(event, attr)
            if not value:
                continue
            try:
                res = self.scrubber.scrub_text(value, attr)
                dirty, found = res.value != value, res.removed
            except ScrubError:
                dirty, found = True, [Removed(attr, "unscrubbable")]
            if not dirty:
                continue
            if attr == "name":
                name_problem = "event name holds personal data"
                changes["name"] = "Redacted"
                continue
            removed.extend(found)
            changes[attr] = str(uuid.uuid4()) if attr == "event_id" else ""
        return (replace(event, **changes) if changes else event), removed, name_problem

    def scrub(self, event: CapturedEvent) -> tuple[CapturedEvent, list[Removed]]:
        """Every string of the event that can leave goes through the scrubber."""
        removed: list[Removed] = []
        url = self.scrubber.scrub_url(event.url, "page.url") if event.url else None
        ref = self.scrubber.scrub_url(event.referrer, "page.referrer") if event.referrer else None
        props = self.scrubber.scrub_value(event.properties, "properties")
        for part in (url, ref, props):
            if part is not None:
                removed.extend(part.removed)
        clean = CapturedEvent(
            name=event.name, event_id=event.event_id, event_time=event.event_time, source=event.source,
            url=url.value if url else "", referrer=ref.value if ref else "", properties=props.value,
            ttclid=event.ttclid, test_event_code=event.test_event_code,
        )
        return clean, removed
