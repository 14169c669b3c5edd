"""Deliver stage: a background task that sends outbox batches to TikTok and settles them.

TikTok reports errors inside HTTP 200 answers, so the outcome is read from `code`:
0 (and 20001) delivered; 40100 and transport failures retried with backoff; other codes can
never succeed and are dead-lettered. A 40002 that names one event (`Batch.3...`) dead-letters
only that event and sends the rest again at once.

Its settings sit here too: the pixels (`destinations.tiktok`: id, token, the events each one
takes) and `delivery:` (batching, timeouts, retries).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import random
import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import aiohttp
from pydantic import AfterValidator, Field, PrivateAttr, SecretStr, field_validator, model_validator

from pixelscleared import logs
from pixelscleared.metrics import Metrics
from pixelscleared.model import Settings, no_whitespace
from pixelscleared.names import STANDARD_EVENTS, Spelling, near_miss, same_event, spelled, tiktok_event_name
from pixelscleared.outbox import Backoff, Claimed, Outbox, Status, Unwritable

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://business-api.tiktok.com"
TRACK_PATH = "/open_api/v1.3/event/track/"


# --- settings: the pixels (`destinations.tiktok`) and how they are sent to (`delivery`) -----

def _event_name(name: str) -> str:
    """A `destinations.tiktok[].events` entry as the TikTok name it stands for.

    Captured names are mapped before matching (`purchase` → `CompletePayment`), so a GA4 name
    listed here must mean the same TikTok event, or it would never match anything.
    """
    canonical = tiktok_event_name(no_whitespace(name))
    if (suggestion := near_miss(canonical)) is not None:
        raise ValueError(f"{name!r} is not a TikTok event; did you mean {suggestion!r}? "
                         "(a custom event of that name goes under custom_events)")
    return canonical


EventName = Annotated[str, AfterValidator(_event_name)]
_HOST_GLOB = re.compile(r"[A-Za-z0-9*?.\-\[\]]{1,253}")


def _matches(host: str, patterns: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(fnmatch.fnmatchcase(host, p) for p in patterns)


def credential_problem(value: str) -> str | None:
    """What is wrong with a pasted pixel id or access token, said exactly; None when nothing is.

    These are the mistakes of copying from Events Manager into a secret store: a trailing
    newline, quotes kept by YAML or a shell, a space. TikTok would answer them with 40105 or
    40001, which does not say which character is wrong.
    """
    if not value:
        return "must not be empty"
    if value != value.strip():
        end = value[0] if value[0].isspace() else value[-1]
        where = "start" if value[0].isspace() else "end"
        kind = "a line break" if end in "\r\n" else "a tab" if end == "\t" else "a space"
        return f"has {kind} at the {where} (copied with it?): remove it"
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        return "is wrapped in quotes, which are not part of it: remove them"
    if "\n" in value or "\r" in value:
        return "contains a line break"
    if any(c.isspace() for c in value):
        return "must not contain whitespace"
    if bad := next((c for c in value if not c.isprintable() or not c.isascii()), None):
        return f"contains {bad!r} at position {value.index(bad) + 1}, which TikTok ids and tokens never have"
    return None


def _credential(value: str) -> str:
    if (problem := credential_problem(value)) is not None:
        raise ValueError(problem)
    return value


class TikTokPixel(Settings):
    pixel_id: str
    access_token: SecretStr
    events: list[EventName] = Field(default_factory=list)
    # custom names taken as written, for the rare one that looks like a typo of a standard name
    custom_events: list[Annotated[str, AfterValidator(no_whitespace)]] = Field(default_factory=list)
    test_event_code: str = ""
    # which sites this pixel serves (globs on the request's host, `*.shop.example`); empty: all
    hosts: list[str] = Field(default_factory=list)
    # where test_event_code applies (`staging.*`): other hosts send live events; empty: everywhere
    test_event_code_hosts: list[str] = Field(default_factory=list)
    # renamed events (CompletePayment/Purchase, SubmitForm/Lead): send them as captured, or always
    # in TikTok's current or legacy spelling; the `events` list admits either spelling regardless
    event_names: Spelling = "as_captured"
    api_base: str = DEFAULT_API_BASE
    # only for a registered TikTok partner: TikTok checks the name (40063 INVALID_PARTNER_NAME)
    partner_name: str = ""

    _pid = field_validator("pixel_id")(_credential)
    # what `takes` compares with, made once at load (it runs for every captured event)
    _standard_keys: frozenset[str] = PrivateAttr(default=frozenset())
    _custom_names: frozenset[str] = PrivateAttr(default=frozenset())

    def model_post_init(self, context: Any, /) -> None:
        self._standard_keys = frozenset(same_event(n) for n in self.events)
        self._custom_names = frozenset(self.custom_events)

    @field_validator("access_token")
    @classmethod
    def _token(cls, v: SecretStr) -> SecretStr:
        secret = v.get_secret_value()
        if not secret:
            raise ValueError("must not be empty (set it from the environment: ${TIKTOK_ACCESS_TOKEN})")
        _credential(secret)  # the message never holds the token itself
        return v

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        seen: list[str] = []  # one event in two spellings (Purchase, CompletePayment) is listed twice too
        for i, name in enumerate(v):
            if same_event(name) in seen:
                raise ValueError(f"event {name!r} is listed twice (events[{seen.index(same_event(name))}] and events[{i}])")
            seen.append(same_event(name))
        return v

    @model_validator(mode="after")
    def _some_event(self) -> TikTokPixel:
        if not self.events and not self.custom_events:
            raise ValueError("events: list at least one event (or custom_events)")
        if self.test_event_code_hosts and not self.test_event_code:
            raise ValueError("test_event_code_hosts: set test_event_code too (the code those hosts send)")
        return self

    @field_validator("hosts", "test_event_code_hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        for pattern in v:
            if not _HOST_GLOB.fullmatch(pattern):
                raise ValueError(f"{pattern!r} is not a host name or pattern (shop.example, *.shop.example, staging.*)")
        return [h.lower() for h in v]

    def serves(self, host: str) -> bool:
        """Whether events from this host go to this pixel (no `hosts`: every host)."""
        return not self.hosts or _matches(host, self.hosts)

    def test_code_for(self, host: str, requested: str = "") -> str:
        """The test_event_code an event from `host` is sent with ("" = live).

        A code the call itself carries wins; else the pixel's, on the hosts it is meant for.
        """
        if requested:
            return requested
        if self.test_event_code_hosts and not _matches(host, self.test_event_code_hosts):
            return ""
        return self.test_event_code

    def takes(self, name: str) -> bool:
        """Whether this pixel receives a captured event of this name (after name mapping).

        A renamed event matches in either spelling: a config listing `CompletePayment` takes a
        page's `ttq.track('Purchase')`. Custom names match as written.
        """
        sent = tiktok_event_name(name)
        return same_event(sent) in self._standard_keys or sent in self._custom_names

    def sent_name(self, name: str) -> str:
        """The name this pixel receives for a captured event name."""
        return spelled(tiktok_event_name(name), self.event_names)

    def nonstandard_events(self) -> list[str]:
        """Names TikTok will take as custom events (reporting and audiences, not optimisation)."""
        return [name for name in self.events if name not in STANDARD_EVENTS] + [
            name for name in self.custom_events if name not in self.events]

    @field_validator("test_event_code")
    @classmethod
    def _tec(cls, v: str) -> str:
        if any(c.isspace() for c in v):
            raise ValueError("must not contain whitespace")
        return v

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")


class Destinations(Settings):
    tiktok: list[TikTokPixel] = Field(default_factory=list)

    @field_validator("tiktok")
    @classmethod
    def _unique(cls, v: list[TikTokPixel]) -> list[TikTokPixel]:
        first: dict[str, int] = {}
        for i, p in enumerate(v):
            if p.pixel_id in first:
                raise ValueError(f"pixel_id {p.pixel_id!r} is configured twice: "
                                 f"destinations.tiktok[{first[p.pixel_id]}] and destinations.tiktok[{i}]")
            first[p.pixel_id] = i
        return v


class DeliverySettings(Settings):
    batch_size: int = Field(1000, ge=1, le=1000)  # TikTok takes at most 1000 events per request
    timeout_s: float = Field(10.0, gt=0)
    max_attempts: int = Field(12, ge=1)
    backoff_base_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(600.0, gt=0)
    concurrency: int = Field(4, ge=1, le=64)
    # After a batch smaller than batch_size (the queue was drained), wait this long before the
    # next claim: events arriving one by one (page views) then go out together — one request,
    # one claim and one settle for many events instead of for each. 0: send each at once.
    linger_ms: int = Field(500, ge=0, le=5_000)
    dry_run: bool = False
    # at start, check each pixel's token with TikTok (as `pixelscleared validate`): logged and a
    # metric; the site is served either way
    validate_on_start: bool = False


# --- the request ------------------------------------------------------------------------------

def build_request(pixel: TikTokPixel, events: list[dict[str, Any]], test_event_code: str = "") -> dict[str, Any]:
    """The request body for `POST /open_api/v1.3/event/track/` (≤ 1000 events)."""
    body: dict[str, Any] = {"event_source": "web", "event_source_id": pixel.pixel_id, "data": events}
    if pixel.partner_name:
        body["partner_name"] = pixel.partner_name
    if test_event_code:
        body["test_event_code"] = test_event_code
    return body


# --- sending ----------------------------------------------------------------------------------
OK_CODES = frozenset({0, 20001})
RETRY_CODES = frozenset({40100})
_BATCH_INDEX = re.compile(r"^\s*Batch\.(\d+)\b")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one request ended: `delivered`, `retry` or `dead`, with TikTok's answer."""

    result: Literal["delivered", "retry", "dead"]
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


_JITTER = random.Random()


def backoff(attempt: int, settings: DeliverySettings, rnd: random.Random = _JITTER) -> float:
    """Seconds before retry number `attempt` (1-based): exponential, capped, ±20 % jitter."""
    delay = min(settings.backoff_base_s * 2.0 ** (attempt - 1), settings.backoff_max_s)
    return delay * rnd.uniform(0.8, 1.2)


class Deliverer:
    def __init__(self, outbox: Outbox, pixels: list[TikTokPixel], settings: DeliverySettings, metrics: Metrics):
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
        # outcomes TikTok gave that the outbox could not record (disk full): held, with their rows
        # kept in flight, so a local write error never sends an event twice
        self._unsettled: list[tuple[list[int], Status, dict[str, Any] | None, dict[str, Any]]] = []
        self._backoff = Backoff()
        self.running = False  # true while `run` is claiming and sending (readiness reads it)
        self._drained_at = 0.0  # when a claim last took everything due (delivery.linger_ms)
        self.last: dict[str, dict[str, Any]] = {}  # pixel → TikTok's last answer: {at, result, code, message}

    async def run(self) -> None:
        """Background task: claim due batches and send them, until cancelled."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            headers={"Content-Type": "application/json"},
        )
        self.running = True
        try:
            while True:
                if self._unsettled or not self.outbox.writable:
                    await self._hold()
                    continue
                if self._drained_at and (wait := self._drained_at + self.settings.linger_ms / 1000 - time.time()) > 0:
                    await asyncio.sleep(wait)  # let events gather into one batch
                await self._slots.acquire()
                self.outbox.written.clear()  # before claiming, so a write after the claim wakes us
                try:
                    batch = await self.outbox.claim(self.settings.batch_size, exclude=self._inflight,
                                                    skip_pixels=self._paused_now())
                except (OSError, sqlite3.Error):  # unreadable for now: the deliverer must outlive it
                    self._slots.release()
                    logger.exception("outbox read failed; trying again shortly", extra=logs.NOT_FATAL)
                    await self._backoff.wait()
                    continue
                if batch is None:
                    self._slots.release()
                    await self._idle()
                    continue
                self._drained_at = time.time() if len(batch.ids) < self.settings.batch_size else 0.0
                self._inflight.update(batch.ids)
                task = asyncio.get_running_loop().create_task(self._send(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            self.running = False
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._session.close()

    async def _hold(self) -> None:
        """The outbox is not writable: record what is held, send nothing new, back off."""
        while self._unsettled:
            ids, status, response, kw = self._unsettled[0]
            try:
                await self.outbox.settle(ids, status, response, **kw)
            except Unwritable:
                break
            self._unsettled.pop(0)
            self._inflight.difference_update(ids)
        if self._unsettled or not self.outbox.writable:
            await self._backoff.wait()
        else:
            self._backoff.reset()

    async def _record(self, ids: list[int], status: Status, response: dict[str, Any] | None, **kw: Any) -> None:
        """`outbox.settle`, or hold the outcome for later when the outbox cannot write it."""
        try:
            await self.outbox.settle(ids, status, response, **kw)
        except Unwritable:
            self._unsettled.append((ids, status, response, kw))

    def _paused_now(self) -> frozenset[str]:
        now = time.time()
        for pixel_id in [p for p, until in self._paused.items() if until <= now]:
            del self._paused[pixel_id]
        return frozenset(self._paused)

    async def _idle(self) -> None:
        """Sleep until new rows are written, the next retry is due or a paused pixel resumes."""
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
            logger.exception("delivery failed unexpectedly",
                             extra={"pixel_id": batch.pixel_id, "events": len(batch.ids), **logs.NOT_FATAL})
            await self._record(batch.ids, Status.RETRYING, None, reason="internal error",
                               next_attempt_at=time.time() + backoff(1, self.settings))
        finally:
            held = {i for ids, *_ in self._unsettled for i in ids}
            self._inflight.difference_update(i for i in batch.ids if i not in held)
            self._slots.release()

    async def _deliver(self, batch: Claimed) -> None:
        pixel = self.pixels.get(batch.pixel_id)
        if pixel is None:
            await self._record(batch.ids, Status.DEAD, None, reason="pixel no longer configured")
            self.metrics.delivered.labels(batch.pixel_id, Status.DEAD).inc(len(batch.ids))
            return
        if self.settings.dry_run:
            await self._record(batch.ids, Status.DRY_RUN, None, reason="delivery.dry_run is on", count_attempt=False)
            self.metrics.delivered.labels(pixel.pixel_id, Status.DRY_RUN).inc(len(batch.ids))
            return
        outcome = await self._post(pixel, build_request(pixel, batch.events, batch.test_event_code))
        self.metrics.requests.labels(pixel.pixel_id, outcome.result).inc()
        code, message = outcome.response.get("code"), outcome.response.get("message", outcome.response.get("error", ""))
        before = self.last.get(pixel.pixel_id)
        self.last[pixel.pixel_id] = {"at": time.time(), "result": outcome.result, "code": code, "message": message}
        fields = {"pixel_id": pixel.pixel_id, "events": len(batch.ids), "result": outcome.result, "code": code,
                  "tiktok_message": str(message)[:200]}
        if before is None or (before["result"], before["code"]) != (outcome.result, code):
            # one line per change of a pixel's state, not one per batch of a long outage
            (logger.info if outcome.result == "delivered" else logger.warning)("tiktok answer changed", extra=fields)
        else:
            logger.debug("tiktok answer", extra=fields)
        await self._settle(pixel, batch, outcome)

    async def _settle(self, pixel: TikTokPixel, batch: Claimed, outcome: Outcome) -> None:
        def count(n: int, outcome: str) -> None:
            self.metrics.delivered.labels(pixel.pixel_id, outcome).inc(n)

        if outcome.result == "delivered":
            await self._record(batch.ids, Status.DELIVERED, outcome.response)
            count(len(batch.ids), Status.DELIVERED)
        elif outcome.result == "dead" and outcome.bad_index is not None and len(batch.ids) > 1 \
                and outcome.bad_index < len(batch.ids):
            bad = batch.ids[outcome.bad_index]
            rest = [i for i in batch.ids if i != bad]
            await self._record([bad], Status.DEAD, outcome.response, reason="rejected by TikTok")
            await self._record(rest, Status.RETRYING, outcome.response, reason="batch had a rejected event",
                                     count_attempt=False)
            count(1, Status.DEAD)
        elif outcome.result == "dead":
            await self._record(batch.ids, Status.DEAD, outcome.response, reason="rejected by TikTok")
            count(len(batch.ids), Status.DEAD)
        else:
            # each row keeps its own attempt count: events that joined late are not given up early
            last = self.settings.max_attempts - 1
            spent = [i for i, n in zip(batch.ids, batch.attempts, strict=True) if n >= last]
            again = [i for i, n in zip(batch.ids, batch.attempts, strict=True) if n < last]
            if spent:
                await self._record(spent, Status.DEAD, outcome.response,
                                         reason=f"gave up after {self.settings.max_attempts} attempts")
                count(len(spent), Status.DEAD)
            if again:
                until = time.time() + backoff(max(batch.attempts) + 1, self.settings)
                self._paused[pixel.pixel_id] = max(until, self._paused.get(pixel.pixel_id, 0.0))
                await self._record(again, Status.RETRYING, outcome.response, reason="transient failure",
                                         next_attempt_at=self._paused[pixel.pixel_id])
                count(len(again), "retry")

    async def _post(self, pixel: TikTokPixel, body: dict[str, Any]) -> Outcome:
        assert self._session is not None
        return await post_track(self._session, pixel, body)


async def post_track(session: aiohttp.ClientSession, pixel: TikTokPixel, body: dict[str, Any]) -> Outcome:
    """One `event/track/` request for `pixel`, its answer classified (never raises for the network)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    try:
        async with session.post(pixel.api_base + TRACK_PATH, data=data,
                                headers={"Access-Token": pixel.access_token.get_secret_value(),
                                         "Content-Type": "application/json"}) as resp:
            return classify(resp.status, await resp.read())
    except TimeoutError:
        return classify(None, None, "timeout")
    except aiohttp.ClientError as e:
        return classify(None, None, type(e).__name__)
