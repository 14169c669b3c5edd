"""Decide stage: which pixels take an event, and its fate for each — the outbox rows to write.

Pure and written once: every way an event can end inline (no pixel takes it, scrubbing failed,
consent missing under `unconsented: drop`, or queued) is a row, so a tester looking for an
event in the events log always finds why it went where it went.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pixelscleared.consent import Verdict
from pixelscleared.deliver import TikTokPixel
from pixelscleared.names import tiktok_event_name
from pixelscleared.outbox import OutboxRow, Status
from pixelscleared.scrub.event import ScrubbedEvent

# Without consent: send the minimal payload (hashed IP, limited_data_use) or nothing at all.
Unconsented = Literal["minimal", "drop"]
NO_PIXEL = "-"  # the pixel id of the row for an event no pixel takes


class Drop(StrEnum):
    """Why an event was not sent at all (the `reason` label of pixelscleared_events_dropped)."""

    NO_PIXEL = "no_pixel_for_event"
    SCRUB_FAILED = "scrub_failed"
    CONSENT = "consent"


@dataclass(frozen=True, slots=True)
class Decision:
    rows: list[OutboxRow]  # at least one: an event no pixel takes still has its row
    verdict: Verdict
    drop: Drop | None = None  # None: queued for every pixel that takes it


def decide(name: str, scrubbed: ScrubbedEvent, verdict: Verdict, payload: dict[str, Any],
           pixels: Sequence[TikTokPixel], unconsented: Unconsented, host: str = "") -> Decision:
    """`name` is the event's name as captured: a pixel listing it takes the event even when the
    scrubber had to redact that name (the event is then dropped, visibly, for that pixel). `host`
    is the site the call came to: a pixel may serve some hosts, and be in test mode on some."""
    event = scrubbed.event
    removed = [r.as_dict() for r in scrubbed.removed]

    def row(pixel: TikTokPixel | None, status: Status, reason: str = "") -> OutboxRow:
        if pixel is None:
            return OutboxRow(event.event_id, NO_PIXEL, tiktok_event_name(event.name), event.source, verdict.state,
                             list(verdict.sources), removed, status, reason)
        sent = pixel.sent_name(event.name)  # each pixel gets the spelling it asked for
        body = None
        if status == Status.QUEUED:
            body = payload if payload.get("event") == sent else {**payload, "event": sent}
        return OutboxRow(event.event_id, pixel.pixel_id, sent, event.source, verdict.state, list(verdict.sources),
                         removed, status, reason, body, pixel.test_code_for(host, event.test_event_code))

    takers = [p for p in pixels if p.takes(name) and p.serves(host)]
    if not takers:
        return Decision([row(None, Status.DROPPED, "no pixel takes this event")], verdict, Drop.NO_PIXEL)
    if not scrubbed.ok:  # fail closed: nothing of this event leaves
        return Decision([row(p, Status.DROPPED, f"scrub failed: {scrubbed.problem}") for p in takers], verdict,
                        Drop.SCRUB_FAILED)
    if verdict.state != "granted" and unconsented == "drop":
        return Decision([row(p, Status.DROPPED, f"consent {verdict.state} and unconsented: drop") for p in takers],
                        verdict, Drop.CONSENT)
    return Decision([row(p, Status.QUEUED) for p in takers], verdict)
