"""Deliver stage: a background task that sends outbox batches to TikTok and settles them.

TikTok reports errors inside HTTP 200 answers, so the outcome is read from `code`:
0 (and 20001) delivered; 40100 and transport failures retried with backoff; other codes can
never succeed and are dead-lettered. A 40002 that names one event (`Batch.3...`) dead-letters
only that event and sends the rest again at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from pixelscleared.config import Delivery, TikTokPixel
from pixelscleared.metrics import Metrics
from pixelscleared.outbox import Claimed, Outbox
from pixelscleared.shape import build_request

logger = logging.getLogger(__name__)

TRACK_PATH = "/open_api/v1.3/event/track/"
OK_CODES = frozenset({0, 20001})
RETRY_CODES = frozenset({40100})
GAUGE_RESYNC_S = 30.0
_BATCH_INDEX = re.compile(r"^\s*Batch\.(\d+)\b")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one request ended: `delivered`, `retry` or `dead`, with TikTok's answer."""

    result: str
    response: dict[str, Any]
    bad_index: int | None = None


def classify(http_status: int | None, body: bytes | None, error: str = "") -> Outcome:
    """Pure: map an HTTP exchange to an outcome. `http_status=None` means no answer at all."""
    if http_status is None:
        return Outcome("retry", {"http_status": None, "error": error or "no response"})
    response: dict[str, Any] = {"http_status": http_status}
    doc: Any = None
    try:
        doc = json.loads(body or b"")
    except ValueError:
        pass
    if isinstance(doc, dict) and isinstance(doc.get("code"), int) and not isinstance(doc.get("code"), bool):
        code = doc["code"]
        response.update(code=code, message=str(doc.get("message", ""))[:500],
                        request_id=str(doc.get("request_id", ""))[:100])
        if code in OK_CODES and http_status < 300:
            return Outcome("delivered", response)
        if code in RETRY_CODES or http_status >= 500:
            return Outcome("retry", response)
        m = _BATCH_INDEX.match(response["message"]) if code == 40002 else None
        return Outcome("dead", response, int(m.group(1)) if m else None)
    response["error"] = "answer is not a TikTok JSON envelope"
    return Outcome("retry", response)


def backoff(attempt: int, settings: Delivery, rnd: random.Random = random.Random()) -> float:
    """Seconds before retry number `attempt` (1-based): exponential, capped, ±20 % jitter."""
    delay = min(settings.backoff_base_s * 2 ** (attempt - 1), settings.backoff_max_s)
    return delay * rnd.uniform(0.8, 1.2)


class Deliverer:
    def __init__(self, outbox: Outbox, pixels: list[TikTokPixel], settings: Delivery, metrics: Metrics):
        self.outbox = outbox
        self.pixels = {p.pixel_id: p for p in pixels}
        self.settings = settings
        self.metrics = metrics
        self._inflight: set[int] = set()
        # pixel → when it may be tried again: while TikTok fails for a pixel, its new events wait
        # with the retrying ones and go out together as one batch, not one request per event
        self._paused: dict[str, float] = {}
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._gauge_synced = time.monotonic()

    async def run(self) -> None:
        """Background task: claim due batches and send them, until cancelled."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            headers={"Content-Type": "application/json"},
        )
        try:
            while True:
                await self._slots.acquire()
                self.outbox.written.clear()  # before claiming, so a write after the claim wakes us
                batch = await self.outbox.claim(self.settings.batch_size, exclude=self._inflight,
                                                skip_pixels=self._paused_now())
                if batch is None:
                    self._slots.release()
                    await self._idle()
                    continue
                self._inflight.update(batch.ids)
                task = asyncio.get_running_loop().create_task(self._send(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._session.close()

    def _paused_now(self) -> frozenset[str]:
        now = time.time()
        for pixel_id in [p for p, until in self._paused.items() if until <= now]:
            del self._paused[pixel_id]
        return frozenset(self._paused)

    async def _idle(self) -> None:
        """Sleep until new rows are written, the next retry is due or a paused pixel resumes."""
        if time.monotonic() - self._gauge_synced > GAUGE_RESYNC_S:
            # rows requeued by `pixelscleared events --requeue` (another process) join the count
            self._gauge_synced = time.monotonic()
            self.metrics.outbox_pending.set(await self.outbox.pending_count())
        due = await self.outbox.next_due(self._paused_now())
        due = min([d for d in (due, *self._paused.values()) if d is not None], default=None)
        timeout = 5.0 if due is None else max(0.01, min(5.0, due - time.time()))
        if self._inflight:
            timeout = min(timeout, 0.05)
        try:
            await asyncio.wait_for(self.outbox.written.wait(), timeout)
        except TimeoutError:
            pass

    async def _send(self, batch: Claimed) -> None:
        try:
            await self._deliver(batch)
        except Exception:
            logger.exception("delivery of %d events for pixel %s failed unexpectedly", len(batch.ids), batch.pixel_id)
            await self.outbox.settle(batch.ids, "retrying", None, reason="internal error",
                                     next_attempt_at=time.time() + backoff(1, self.settings))
        finally:
            self._inflight.difference_update(batch.ids)
            self._slots.release()

    async def _deliver(self, batch: Claimed) -> None:
        pixel = self.pixels.get(batch.pixel_id)
        if pixel is None:
            await self.outbox.settle(batch.ids, "dead", None, reason="pixel no longer configured")
            self.metrics.delivered.labels(batch.pixel_id, "dead").inc(len(batch.ids))
            return
        if self.settings.dry_run:
            await self.outbox.settle(batch.ids, "dry_run", None, reason="delivery.dry_run is on", count_attempt=False)
            self.metrics.delivered.labels(pixel.pixel_id, "dry_run").inc(len(batch.ids))
            return
        outcome = await self._post(pixel, build_request(pixel, batch.events, batch.test_event_code))
        self.metrics.requests.labels(pixel.pixel_id, outcome.result).inc()
        log = logger.info if outcome.result == "delivered" else logger.warning
        log("tiktok pixel=%s events=%d result=%s response=%s", pixel.pixel_id, len(batch.ids), outcome.result,
            outcome.response)
        await self._settle(pixel, batch, outcome)

    async def _settle(self, pixel: TikTokPixel, batch: Claimed, outcome: Outcome) -> None:
        count = lambda n, what: self.metrics.delivered.labels(pixel.pixel_id, what).inc(n)  # noqa: E731
        if outcome.result == "delivered":
            await self.outbox.settle(batch.ids, "delivered", outcome.response)
            count(len(batch.ids), "delivered")
        elif outcome.result == "dead" and outcome.bad_index is not None and len(batch.ids) > 1 \
                and outcome.bad_index < len(batch.ids):
            bad = batch.ids[outcome.bad_index]
            rest = [i for i in batch.ids if i != bad]
            await self.outbox.settle([bad], "dead", outcome.response, reason="rejected by TikTok")
            await self.outbox.settle(rest, "retrying", outcome.response, reason="batch had a rejected event",
                                     count_attempt=False)
            count(1, "dead")
        elif outcome.result == "dead":
            await self.outbox.settle(batch.ids, "dead", outcome.response, reason="rejected by TikTok")
            count(len(batch.ids), "dead")
        else:
            # each row keeps its own attempt count: events that joined late are not given up early
            last = self.settings.max_attempts - 1
            spent = [i for i, n in zip(batch.ids, batch.attempts, strict=True) if n >= last]
            again = [i for i, n in zip(batch.ids, batch.attempts, strict=True) if n < last]
            if spent:
                await self.outbox.settle(spent, "dead", outcome.response,
                                         reason=f"gave up after {self.settings.max_attempts} attempts")
                count(len(spent), "dead")
            if again:
                until = time.time() + backoff(max(batch.attempts) + 1, self.settings)
                self._paused[pixel.pixel_id] = max(until, self._paused.get(pixel.pixel_id, 0.0))
                await self.outbox.settle(again, "retrying", outcome.response, reason="transient failure",
                                         next_attempt_at=self._paused[pixel.pixel_id])
                count(len(again), "retry")

    async def _post(self, pixel: TikTokPixel, body: dict[str, Any]) -> Outcome:
        assert self._session is not None
        url = pixel.api_base + TRACK_PATH
        data = json.dumps(body, separators=(",", ":")).encode()
        try:
            async with self._session.post(
                url, data=data, headers={"Access-Token": pixel.access_token.get_secret_value()}
            ) as resp:
                return classify(resp.status, await resp.read())
        except TimeoutError:
            return classify(None, None, "timeout")
        except aiohttp.ClientError as e:
            return classify(None, None, type(e).__name__)
