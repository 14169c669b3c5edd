"""Counters an operator scrapes at `/_pc/metrics` (Prometheus text format).

One registry per pipeline (not the global one) so tests and several sidecars in a process
never share counts. Labels never carry values from traffic beyond fixed vocabularies.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.captured = Counter("pixelscleared_events_captured", "Events captured", ["source"], registry=r)
        self.dropped = Counter("pixelscleared_events_dropped", "Events not sent, by reason", ["reason"], registry=r)
        self.enqueued = Counter("pixelscleared_events_enqueued", "Events written to the outbox", ["pixel"], registry=r)
        self.delivered = Counter(
            "pixelscleared_events_delivered", "Event deliveries by outcome", ["pixel", "outcome"], registry=r
        )
        self.requests = Counter(
            "pixelscleared_tiktok_requests", "Requests to TikTok by result", ["pixel", "result"], registry=r
        )
        self.removed = Counter("pixelscleared_scrub_removed", "Personal data items removed", ["kind"], registry=r)
        self.verdicts = Counter("pixelscleared_consent_verdicts", "Consent verdicts", ["verdict"], registry=r)
        self.addon_errors = Counter(
            "pixelscleared_addon_errors", "Exceptions caught in proxy hooks (site traffic continued)", ["hook"],
            registry=r,
        )
        self.grace = Counter(
            "pixelscleared_grace_settled", "Events held for consent (grace window) settled by the visitor's decision",
            ["verdict"], registry=r,
        )
        self.snippet = Counter(
            "pixelscleared_snippet_pages", "HTML pages considered for the ttq.js tag, by outcome (capture.snippet)",
            ["outcome"], registry=r,
        )
        self.refused = Counter(
            "pixelscleared_requests_refused", "Requests refused or cut off before the site saw them (guard.py)",
            ["reason"], registry=r,
        )
        self.outbox_pending = Gauge("pixelscleared_outbox_pending", "Events waiting for delivery", registry=r)
        self.ready = Gauge(
            "pixelscleared_ready", "1 while a readiness condition holds (origin, outbox, deliverer)", ["check"],
            registry=r,
        )
        self.pixel_check = Gauge(
            "pixelscleared_pixel_check_ok", "1 when TikTok accepted the pixel's token at the last check, else 0",
            ["pixel"], registry=r,
        )
        self.outbox_writable = Gauge(
            "pixelscleared_outbox_writable", "1 while the outbox takes writes; 0 while events are refused", registry=r,
        )
        self.outbox_buffered = Gauge(
            "pixelscleared_outbox_buffered", "Events accepted but not yet written to disk", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
