"""What the sidecar decided about a flow, written on the flow itself for mitmweb.

The comment (one line, read by testers) and `flow.metadata["pixelscleared"]` (the same in
structured form) are set at capture; with a UI attached, FateWatch brings them up to date once
the events are delivered or given up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mitmproxy import ctx, hooks, http

from pixelscleared import logs
from pixelscleared.outbox import PENDING, FateKey

logger = logging.getLogger("pixelscleared")
MARK = ":shield:"
MAX_ITEMS_IN_COMMENT = 20


def items(removed: list[dict[str, str]]) -> str:
    """Removed items as `path (kind)`: the comment is read by testers, so never the values."""
    shown = [f"{r['path']} ({r['kind']})" for r in removed[:MAX_ITEMS_IN_COMMENT]]
    if len(removed) > MAX_ITEMS_IN_COMMENT:
        shown.append(f"… {len(removed) - MAX_ITEMS_IN_COMMENT} more in the flow metadata")
    return ", ".join(shown)


def call_note(source: str, forwarded: bool, forward_removed: list[dict[str, str]], problem: str) -> str:
    """What became of a tracking call itself: `ga4 call forwarded to the origin without url.query.email (email)`."""
    fate = "forwarded to the origin" if forwarded else "answered by the sidecar"
    if forward_removed:
        fate += " without " + items(forward_removed)
    return f"{source} call {fate}" + (f"; {problem}" if problem else "")


def annotate(flow: http.HTTPFlow, accepted: list[dict[str, Any]], note: str = "", *,
             forward_removed: list[dict[str, str]] | None = None) -> None:
    """What the sidecar decided, on the flow itself: mitmweb shows the comment and mark; the metadata
    holds the same in structured form (`events[].pixels` is the fate at capture, `events[].delivery`
    the outcome once known)."""
    meta: dict[str, Any] = {"at": time.time(), "note": note, "events": accepted,
                            "forward_removed": forward_removed or []}
    flow.metadata["pixelscleared"] = meta
    flow.comment = describe(meta)
    flow.marked = MARK


def describe(meta: dict[str, Any]) -> str:
    """One line per flow: each event's consent verdict and deciding signals, what was removed, and
    each pixel's fate. A fate still pending says so: it is the fate at capture time."""
    parts = [meta["note"]] if meta["note"] else []
    for a in meta["events"]:
        src = ", ".join(a["consent_sources"]) or "no signal"
        removed = items(a["removed"]) or "nothing"
        delivery = a.get("delivery", {})
        fates = [f"{pixel}: {delivery[pixel]}" if pixel in delivery
                 else f"{pixel}: {fate}" + (" (at capture)" if fate in PENDING else "")
                 for pixel, fate in a["pixels"].items()]
        parts.append(f"{a['event']} [{a['event_id']}]: consent {a['verdict']} ({src}); removed {removed}"
                     f" → {'; '.join(fates)}")
    return "PixelsCleared: " + " | ".join(parts)


class FateWatch:
    """Brings the comments of recent flows up to date once their events are delivered or given up.

    Only with a UI (mitmweb). It polls the outbox rows off the flow hooks, on the outbox's own thread,
    so no hook ever waits on TikTok or the disk. Bounded: the newest MAX_FLOWS flows, each for at
    most MAX_AGE_S; a comment a tester edited in the UI is left alone.
    """

    INTERVAL_S = 0.5
    MAX_FLOWS = 500
    MAX_AGE_S = 600.0

    def __init__(self, read_fates: Callable[[list[FateKey]], Awaitable[dict[FateKey, str]]]):
        self.read_fates = read_fates  # the outbox rows' `status[: reason]`, read off the event loop
        self.flows: dict[str, tuple[http.HTTPFlow, float]] = {}  # flow id → (flow, watched since)
        self._task: asyncio.Task[None] | None = None

    def add(self, flow: http.HTTPFlow) -> None:
        meta = flow.metadata.get("pixelscleared", {})
        if any(f in PENDING for a in meta.get("events", []) for f in a["pixels"].values()):
            self.flows[flow.id] = (flow, time.monotonic())
            while len(self.flows) > self.MAX_FLOWS:
                del self.flows[next(iter(self.flows))]

    def start(self) -> None:
        from mitmproxy.utils.asyncio_utils import create_task

        self._task = create_task(self._run(), name="pixelscleared-fate-watch", keep_ref=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.INTERVAL_S)
            if self.flows:
                try:
                    await self.poll()
                except Exception:  # the annotation is a convenience: never stop the sidecar for it
                    logger.exception("could not update mitmweb flow comments", extra=logs.NOT_FATAL)

    async def poll(self) -> None:
        """One round: read the rows of the watched flows' events, rewrite the comments that changed."""
        watched = []
        for flow, since in list(self.flows.values()):
            meta = flow.metadata.get("pixelscleared")
            if meta is None or flow.comment != describe(meta):  # a tester edited it: theirs now
                self.flows.pop(flow.id, None)
            else:
                watched.append((flow, since, meta))
        keys = [(a["event_id"], pixel, a["event"]) for _, _, meta in watched
                for a in meta["events"] for pixel in a["pixels"]]
        fates = await self.read_fates(keys) if keys else {}
        changed = []
        now = time.monotonic()
        for flow, since, meta in watched:
            pending = updated = False
            for a in meta["events"]:
                delivery = a.setdefault("delivery", {})
                for pixel, at_capture in a["pixels"].items():
                    before = delivery.get(pixel, at_capture)
                    fate = fates.get((a["event_id"], pixel, a["event"]), before)
                    if fate != before:
                        delivery[pixel] = fate
                        updated = True
                    pending |= fate.split(":")[0] in PENDING
            if updated:
                flow.comment = describe(meta)
                changed.append(flow)
            if not pending or now - since > self.MAX_AGE_S:
                self.flows.pop(flow.id, None)
        if changed:
            ctx.master.addons.trigger(hooks.UpdateHook(changed))  # mitmweb redraws these flows
