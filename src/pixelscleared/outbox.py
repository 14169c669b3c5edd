"""Outbox stage: a durable queue on disk (SQLite, WAL) written without blocking the flow.

`put()` only appends to an in-memory buffer (bounded; overflow is a counted drop). A writer
task moves the buffer to SQLite on one dedicated thread every few milliseconds, so the proxy's
event loop never waits on the disk. Each row is one event's fate for one pixel: the deliverer
moves it on (queued → delivered / retrying / dead), and the events log reads the same rows.

This module owns the `events` table: its schema, the `Status` names and every query. The
events log (CLI, admin page) and the mitmweb annotations call the functions here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field

from pixelscleared import logs
from pixelscleared.metrics import Metrics
from pixelscleared.model import Settings

logger = logging.getLogger(__name__)


class OutboxSettings(Settings):
    path: Path = Path(".pixelscleared/outbox.sqlite")
    max_buffered: int = Field(10_000, ge=1)
    # group commit: a collect call is answered once its events are committed. 0: commit as soon as
    # the writer is free (calls that arrive during a commit share the next one); more: also wait
    # this long to gather a larger group. Page requests never wait for it.
    flush_interval_ms: int = Field(0, ge=0, le=10_000)


class Status(StrEnum):
    """An event's fate for one pixel, as stored and shown."""

    QUEUED = "queued"        # waiting for its first send
    RETRYING = "retrying"    # a send failed for a reason that may pass
    DELIVERED = "delivered"  # TikTok answered code 0
    DEAD = "dead"            # can never succeed as it is (or out of attempts)
    DROPPED = "dropped"      # never sent: no pixel, consent, scrubbing failed, outbox full
    DRY_RUN = "dry_run"      # shaped and logged, not sent (delivery.dry_run)


PENDING = (Status.QUEUED, Status.RETRYING)  # the deliverer's work
_PENDING_SQL = f"status IN ({','.join(repr(str(s)) for s in PENDING)})"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS events (
    id              INTEGER PRIMARY KEY,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    event_id        TEXT NOT NULL,
    pixel_id        TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    source          TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    consent_sources TEXT NOT NULL,   -- JSON list of signal names (never cookie values)
    removed         TEXT NOT NULL,   -- JSON list of {{path, kind}} (never the values)
    status          TEXT NOT NULL,   -- a Status
    reason          TEXT NOT NULL DEFAULT '',
    payload         TEXT,            -- JSON: the exact data[] entry sent to TikTok
    test_event_code TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    response        TEXT,            -- JSON: TikTok's last answer {{http_status, code, message, request_id}}
    repeats         INTEGER NOT NULL DEFAULT 0,  -- the same event_id captured again: never sent twice
    UNIQUE (pixel_id, event_name, event_id)
);
CREATE INDEX IF NOT EXISTS events_due ON events (next_attempt_at) WHERE {_PENDING_SQL};
CREATE INDEX IF NOT EXISTS events_event_id ON events (event_id);
CREATE INDEX IF NOT EXISTS events_updated ON events (updated_at);
CREATE TABLE IF NOT EXISTS writes_probe (id INTEGER PRIMARY KEY, at REAL NOT NULL);
"""
COLUMNS = ("id", "created_at", "updated_at", "event_id", "pixel_id", "event_name", "source", "verdict",
           "consent_sources", "removed", "status", "reason", "payload", "test_event_code", "attempts",
           "next_attempt_at", "response", "repeats")
_JSON_COLUMNS = frozenset({"consent_sources", "removed", "payload", "response"})


@dataclass(slots=True)
class OutboxRow:
    """One event for one pixel, as the pipeline decided it."""

    event_id: str
    pixel_id: str
    event_name: str
    source: str
    verdict: str
    consent_sources: list[str]
    removed: list[dict[str, str]]
    status: Status  # QUEUED or DROPPED: the pipeline's decision
    reason: str = ""
    payload: dict[str, Any] | None = None
    test_event_code: str = ""
    created_at: float = field(default_factory=time.time)
    due_at: float = 0.0  # not sent before (the consent grace window); 0: at once
    amend: bool = False  # replaces the decision of the row with the same keys, if not yet sent


@dataclass(slots=True)
class Claimed:
    """A batch for one pixel and test code, ready to send."""

    pixel_id: str
    test_event_code: str
    ids: list[int]
    events: list[dict[str, Any]]
    attempts: list[int]


@dataclass(frozen=True, slots=True)
class EventsQuery:
    """Filters on the events log; empty means any."""

    event_id: str = ""
    pixel_id: str = ""
    status: str = ""
    limit: int = 100
    event_name: str = ""
    source: str = ""


def _json(payload: dict[str, Any] | None) -> str | None:
    return json.dumps(payload, separators=(",", ":")) if payload is not None else None


def connect(path: Path) -> sqlite3.Connection:
    """The sidecar's own connection: creates the file and schema (blocking: on the outbox thread)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(SCHEMA)
    if "repeats" not in {r[1] for r in conn.execute("PRAGMA table_info(events)")}:  # a file from before 0.x
        conn.execute("ALTER TABLE events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0")
    return conn


def connect_existing(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """Another process's connection to a running (or stopped) sidecar's file (the CLI)."""
    if read_only:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return sqlite3.connect(path, timeout=10)  # the running sidecar writes too: wait for its lock


# --- queries: each takes a connection, so the CLI and the outbox thread share them -----------

def _where(q: EventsQuery, *always: str) -> tuple[str, list[str]]:
    where, args = list(always), []
    for column in ("event_id", "pixel_id", "status", "event_name", "source"):
        if value := getattr(q, column):
            where.append(f"{column} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", args


def select_events(conn: sqlite3.Connection, q: EventsQuery) -> list[dict[str, Any]]:
    """The newest rows matching `q`, newest first, JSON columns decoded."""
    where, args = _where(q)
    have = {r[1] for r in conn.execute("PRAGMA table_info(events)")}  # a file an older version wrote, read-only
    columns = ", ".join(c if c in have else f"0 AS {c}" for c in COLUMNS)
    rows = conn.execute(f"SELECT {columns} FROM events{where} ORDER BY id DESC LIMIT ?",
                        [*args, q.limit]).fetchall()
    return [_decoded(r) for r in rows]


def _decoded(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(COLUMNS, values, strict=True))
    for column in _JSON_COLUMNS:
        if row[column] is not None:
            row[column] = json.loads(row[column])
    return row


def count_statuses(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, COUNT(*) FROM events GROUP BY status").fetchall())


def count_by_pixel(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """pixel → status → events."""
    out: dict[str, dict[str, int]] = {}
    for pixel, status, n in conn.execute("SELECT pixel_id, status, COUNT(*) FROM events GROUP BY pixel_id, status"):
        out.setdefault(pixel, {})[status] = n
    return out


def requeue_dead(conn: sqlite3.Connection, q: EventsQuery, now: float) -> int:
    """Put dead events (those matching `q`'s event and pixel) back in the queue, attempts reset; how many.

    For after the cause is fixed (a rotated access token, a TikTok outage longer than the
    retries): the same payload and event_id go again, which TikTok deduplicates. Dropped
    events have no payload and stay as they are.
    """
    where, args = _where(EventsQuery(q.event_id, q.pixel_id), f"status = '{Status.DEAD}'", "payload IS NOT NULL")
    with conn:
        return conn.execute(
            f"UPDATE events SET status = '{Status.QUEUED}', attempts = 0, next_attempt_at = 0,"
            f" reason = 'requeued by the operator', updated_at = ?{where}", [now, *args]).rowcount


FateKey = tuple[str, str, str]  # (event_id, pixel_id, event_name): one row


def select_fates(conn: sqlite3.Connection, keys: Iterable[FateKey]) -> dict[FateKey, str]:
    """Each row's `status[: reason]` (the reason of a delivered row is not shown)."""
    found: dict[FateKey, str] = {}
    wanted = set(keys)
    ids = sorted({k[0] for k in wanted})
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows = conn.execute("SELECT event_id, pixel_id, event_name, status, reason FROM events"
                            f" WHERE event_id IN ({','.join('?' * len(chunk))})", chunk)
        for event_id, pixel_id, name, status, reason in rows:
            if (event_id, pixel_id, name) in wanted:
                found[(event_id, pixel_id, name)] = f"{status}: {reason}" \
                    if reason and status != Status.DELIVERED else status
    return found


class Refused(Exception):
    """The outbox cannot take these events now: the caller must not acknowledge them."""

    def __init__(self, reason: str, retry_after_s: int):
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class Unwritable(Exception):
    """A write to the outbox failed (disk full, read-only, gone); the outbox is now unwritable."""


@dataclass(slots=True)
class _Unit:
    """Rows accepted together: committed together, or refused together."""

    rows: list[OutboxRow]
    committed: asyncio.Future[None] | None  # None: nobody waits (a tracking call forwarded to the origin)


RETRY_AFTER_S = 5  # what a refused caller is told to wait
COMMIT_TIMEOUT_S = 10.0  # a commit slower than this is a refusal, not an endless wait
PROBE_EVERY_S = (0.5, 10.0)  # while unwritable: how soon, and how rarely at most, writing is tried again


class Backoff:
    """Waits that double from PROBE_EVERY_S[0] to PROBE_EVERY_S[1]: how the outbox and the
    deliverer try again while the database cannot be written or read."""

    def __init__(self) -> None:
        self.delay = PROBE_EVERY_S[0]

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, PROBE_EVERY_S[1])

    def reset(self) -> None:
        self.delay = PROBE_EVERY_S[0]


# Rows nobody waits for (page views, rule events, forwarded tracking calls) are written within this
# long, together: one transaction for many instead of one each. A call waiting for its commit ends
# the wait at once.
UNWAITED_FLUSH_S = 0.05


class Outbox:
    """The durable queue. Writable, or not (a state with one log line per change, a metric and
    refusals); never a storm of retries."""

    def __init__(self, path: Path, metrics: Metrics, *, max_buffered: int = 10_000, flush_interval_ms: int = 0):
        self.path = Path(path)
        self.metrics = metrics
        self.max_buffered = max_buffered
        self.flush_interval = flush_interval_ms / 1000
        self._units: list[_Unit] = []
        self._buffered = 0
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pixelscleared-outbox")
        self._conn: sqlite3.Connection | None = None
        # reads (the deliverer's claims, the events log) on their own thread and connection: WAL lets
        # them run beside a write, so a collect call's commit never queues behind a claim
        self._read_exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pixelscleared-outbox-read")
        self._read_conn: sqlite3.Connection | None = None
        self._has_data = asyncio.Event()
        self._waited = asyncio.Event()  # a unit someone waits for (a collect call's answer) is buffered
        self._opened = asyncio.Event()  # the proxy listens before `running` opens the database
        self.open_error = ""  # why the database could not be opened ("" when it is open, or not tried)
        self.written = asyncio.Event()  # set after rows land on disk; the deliverer waits on it
        self.writable = True
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        """Open (and create) the database; raises Unwritable when it cannot be."""
        try:
            self._conn = await self._run(connect, self.path)
            await self._run(self._recover)
            self._read_conn = await self._read(connect_existing, self.path, read_only=False)
        except (OSError, sqlite3.Error) as e:
            self.open_error = f"{type(e).__name__}: {e}"
            self._set_writable(False, self.open_error)
            self._refuse_waiting("the outbox cannot be opened")
            raise Unwritable(self.open_error) from None
        self.open_error = ""
        self._set_writable(True)
        self.metrics.outbox_pending.set(await self.pending_count())
        self._opened.set()

    async def open_when_possible(self) -> None:
        """Background task for a start with an unwritable path: try again until it opens.

        Meanwhile the site is served and events are refused (`put_all` raises Refused).
        """
        backoff = Backoff()
        while not self._opened.is_set():
            try:
                await self.open()
            except Unwritable:
                await backoff.wait()

    @property
    def is_open(self) -> bool:
        return self._opened.is_set()

    async def close(self) -> None:
        """Flush what is buffered, then release the database."""
        self._closed = True
        await self.flush()
        for unit in self._units:  # could not be written: say so to whoever waits
            if unit.committed is not None and not unit.committed.done():
                unit.committed.set_exception(Refused("the sidecar is stopping", RETRY_AFTER_S))
        if self._read_conn is not None:
            await self._read(self._read_conn.close)
            self._read_conn = None
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._exec.shutdown(wait=True)
        self._read_exec.shutdown(wait=True)

    def _recover(self) -> None:
        # Nothing is "in flight" after a restart; rows stay pending and are sent again with the
        # same event_id, which TikTok deduplicates.
        assert self._conn is not None
        self._conn.execute(f"UPDATE events SET next_attempt_at = 0 WHERE {_PENDING_SQL}")

    async def _run[*Ts, R](self, fn: Callable[[*Ts], R], *args: *Ts) -> R:
        """`fn(*args)` on the outbox's writer thread: SQLite calls never run on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._exec, fn, *args)

    async def _read[R](self, fn: Callable[..., R], *args: Any, **kw: Any) -> R:
        """`fn(*args)` on the reader thread."""
        return await asyncio.get_running_loop().run_in_executor(self._read_exec, lambda: fn(*args, **kw))

    def _set_writable(self, writable: bool, why: str = "") -> None:
        """One log line per change of state, not one per failed write."""
        self.metrics.outbox_writable.set(int(writable))
        if writable == self.writable:
            return
        self.writable = writable
        if writable:
            logger.warning("outbox writable again; accepting events", extra={"outbox": str(self.path)})
        else:
            logger.error("outbox not writable; events are refused until it is",
                         extra={"outbox": str(self.path), "reason": why, **logs.NOT_FATAL})

    # -- write path (called from proxy hooks: never blocks) ---------------------------------
    def put_all(self, rows: list[OutboxRow], *, wait: bool = True) -> asyncio.Future[None] | None:
        """Take the rows of one call as a unit, or none of them (raises Refused).

        With `wait`, the returned future resolves once they are committed to disk (group
        commit: every unit that arrived while the previous transaction ran shares the next one), or
        raises Refused if the write fails: the caller acknowledges only what is on disk.
        """
        if self._closed:
            raise Refused("the sidecar is stopping", RETRY_AFTER_S)
        if not self.writable:  # before `open()` the rows wait in the buffer: a starting proxy takes calls
            self.metrics.dropped.labels("outbox_unwritable").inc(len(rows))
            raise Refused("the outbox is not writable", RETRY_AFTER_S)
        if self._buffered + len(rows) > self.max_buffered:
            self.metrics.dropped.labels("outbox_full").inc(len(rows))
            raise Refused("the outbox buffer is full", 1)
        future = asyncio.get_running_loop().create_future() if wait else None
        self._units.append(_Unit(rows, future))
        self._buffered += len(rows)
        self.metrics.outbox_buffered.set(self._buffered)
        self._has_data.set()
        if future is not None:
            self._waited.set()
        return future

    def has_room(self, rows: int) -> bool:
        """Whether `rows` more would be taken now: a source that can wait (a followed log file)
        holds its records back instead of having them refused."""
        return self.writable and not self._closed and self._buffered + min(rows, self.max_buffered) <= self.max_buffered

    async def committed(self, future: asyncio.Future[None], timeout_s: float = COMMIT_TIMEOUT_S) -> None:
        """Wait for a unit's commit; raises Refused if it fails or takes longer than `timeout_s`.

        A unit still waiting in the buffer at the deadline is withdrawn, so an event the caller
        was told to send again is not also written later.
        """
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            unit = next((u for u in self._units if u.committed is future), None)
            if unit is not None:
                self._units.remove(unit)
                self._buffered -= len(unit.rows)
                self.metrics.dropped.labels("outbox_slow").inc(len(unit.rows))
            future.cancel()
            raise Refused("the outbox did not commit in time", RETRY_AFTER_S) from None

    def put(self, row: OutboxRow) -> bool:
        """One row, nobody waiting for its commit; False when refused."""
        try:
            self.put_all([row], wait=False)
        except Refused:
            return False
        return True

    async def run_writer(self) -> None:
        """Background task: move buffered units to disk, one transaction per group."""
        backoff = Backoff()
        while True:
            await self._has_data.wait()  # everything put before the writer woke joins this group
            if self.flush_interval:
                await asyncio.sleep(self.flush_interval)
            elif not self._waited.is_set():  # nobody waits for these rows (page views): gather a few more
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._waited.wait(), UNWAITED_FLUSH_S)
            self._waited.clear()
            await self.flush()
            if self.writable:
                backoff.reset()
            else:  # back off; what nobody waits for stays buffered and is tried again
                await backoff.wait()
                self._has_data.set()

    async def flush(self) -> None:
        """Write what is buffered. A failed write refuses the waiting callers and keeps the rest."""
        self._has_data.clear()
        if self._conn is None:
            return
        units, self._units = self._units, []
        rows = [r for u in units for r in u.rows]
        try:
            inserted = await self._run(self._insert, rows) if rows else await self._run(self._probe)
        except (OSError, sqlite3.Error) as e:
            self._set_writable(False, f"{type(e).__name__}: {e}")
            self._units[:0] = units
            self._refuse_waiting("the outbox could not write the events")
            return
        self._set_writable(True)
        self._buffered -= len(rows)
        self.metrics.outbox_buffered.set(self._buffered)
        for u in units:
            if u.committed is not None and not u.committed.done():
                u.committed.set_result(None)
        new = [r for r in rows if not r.amend]
        queued = [r for r in new if r.status == Status.QUEUED]
        for r in queued:
            self.metrics.enqueued.labels(r.pixel_id).inc()
        if inserted < len(new):
            self.metrics.dropped.labels("repeat").inc(len(new) - inserted)
        self.metrics.outbox_pending.inc(len(queued))
        if rows:
            self.written.set()

    def _refuse_waiting(self, reason: str) -> None:
        """Whoever waits for a commit is told no (and its rows are dropped: it may send them again);
        rows nobody waits for stay buffered for the next try."""
        for u in self._units:
            if u.committed is not None and not u.committed.done():
                self.metrics.dropped.labels("outbox_unwritable").inc(len(u.rows))
                u.committed.set_exception(Refused(reason, RETRY_AFTER_S))
        self._units = [u for u in self._units if u.committed is None]
        self._buffered = sum(len(u.rows) for u in self._units)
        self.metrics.outbox_buffered.set(self._buffered)

    def _insert(self, rows: list[OutboxRow]) -> int:
        assert self._conn is not None
        now = time.time()
        new = [r for r in rows if not r.amend]
        with self._conn:
            last_id = self._conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
            # a repeat of an event already taken is counted on the first row and never sent again
            self._conn.executemany(
                "INSERT INTO events (created_at, updated_at, event_id, pixel_id, event_name, source,"
                " verdict, consent_sources, removed, status, reason, payload, test_event_code, next_attempt_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (pixel_id, event_name, event_id) DO UPDATE SET repeats = repeats + 1",
                [(r.created_at, now, r.event_id, r.pixel_id, r.event_name, r.source, r.verdict,
                  json.dumps(r.consent_sources), json.dumps(r.removed), r.status, r.reason, _json(r.payload),
                  r.test_event_code, r.due_at) for r in new])
            # new rows get ids above the largest before (an INTEGER PRIMARY KEY below its maximum)
            inserted = self._conn.execute("SELECT count(*) FROM events WHERE id > ?", (last_id,)).fetchone()[0] \
                if new else 0
            self._conn.executemany(  # a later consent decision, for rows the deliverer has not sent yet
                "UPDATE events SET updated_at = ?, verdict = ?, consent_sources = ?, status = ?, reason = ?,"
                " payload = ?, next_attempt_at = ? WHERE pixel_id = ? AND event_name = ? AND event_id = ?"
                " AND attempts = 0 AND status IN (?, ?)",
                [(now, r.verdict, json.dumps(r.consent_sources), r.status, r.reason, _json(r.payload), r.due_at,
                  r.pixel_id, r.event_name, r.event_id, Status.QUEUED, Status.DROPPED) for r in rows if r.amend])
        return inserted

    def _probe(self) -> int:
        """A write that changes nothing visible: does the disk take writes again?"""
        assert self._conn is not None
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO writes_probe (id, at) VALUES (1, ?)", (time.time(),))
        return 0

    # -- delivery side ----------------------------------------------------------------------
    async def claim(self, limit: int, now: float | None = None, exclude: set[int] | None = None,
                    skip_pixels: frozenset[str] = frozenset()) -> Claimed | None:
        """The oldest due batch for one (pixel, test code), at most `limit` events."""
        return await self._read(self._claim, limit, time.time() if now is None else now, exclude or set(),
                               skip_pixels)

    def _claim(self, limit: int, now: float, exclude: set[int], skip_pixels: frozenset[str]) -> Claimed | None:
        assert self._read_conn is not None
        # The first due row not already in flight picks the (pixel, test code) group.
        skip = f" AND pixel_id NOT IN ({','.join('?' * len(skip_pixels))})" if skip_pixels else ""
        candidates = self._read_conn.execute(
            f"SELECT id, pixel_id, test_event_code FROM events WHERE {_PENDING_SQL}"
            f" AND next_attempt_at <= ?{skip} ORDER BY next_attempt_at, id LIMIT ?",
            (now, *skip_pixels, len(exclude) + 1))
        first = next((c[1:] for c in candidates if c[0] not in exclude), None)
        if first is None:
            return None
        rows = self._read_conn.execute(
            # the partial index of pending rows, never the (pixel_id, …) unique one: that walks every
            # row the pixel ever had, 20 ms a claim with 9,000 delivered rows in the events log
            f"SELECT id, payload, attempts FROM events INDEXED BY events_due WHERE {_PENDING_SQL}"
            " AND next_attempt_at <= ? AND pixel_id = ? AND test_event_code = ? ORDER BY id LIMIT ?",
            (now, first[0], first[1], limit + len(exclude)),
        ).fetchall()
        rows = [r for r in rows if r[0] not in exclude][:limit]
        if not rows:
            return None
        return Claimed(first[0], first[1], [r[0] for r in rows], [json.loads(r[1]) for r in rows],
                       [r[2] for r in rows])

    async def next_due(self, skip_pixels: frozenset[str] = frozenset()) -> float | None:
        return await self._read(self._next_due, skip_pixels)

    def _next_due(self, skip_pixels: frozenset[str]) -> float | None:
        assert self._read_conn is not None
        skip = f" AND pixel_id NOT IN ({','.join('?' * len(skip_pixels))})" if skip_pixels else ""
        row = self._read_conn.execute(
            f"SELECT MIN(next_attempt_at) FROM events WHERE {_PENDING_SQL}{skip}",
            tuple(skip_pixels)).fetchone()
        return None if row[0] is None else float(row[0])

    async def pending_count(self) -> int:
        return await self._read(self._pending_count)

    async def refresh_pending(self) -> None:
        """Set the pending gauge from the table itself (at each metrics scrape): rows another
        process changed (`pixelscleared events --requeue`) are counted at once, never as negative."""
        if self.is_open:
            self.metrics.outbox_pending.set(await self.pending_count())

    def _pending_count(self) -> int:
        assert self._read_conn is not None
        return int(self._read_conn.execute(f"SELECT COUNT(*) FROM events WHERE {_PENDING_SQL}").fetchone()[0])

    async def settle(self, ids: list[int], status: Status, response: dict[str, Any] | None, *,
                     reason: str = "", next_attempt_at: float = 0, count_attempt: bool = True) -> None:
        """Record an outcome for rows: delivered, retrying (with when), dead or dry_run.

        Raises Unwritable when the write fails: the deliverer must then hold the outcome rather
        than send the rows again.
        """
        try:
            await self._run(self._settle, ids, status, response, reason, next_attempt_at, count_attempt)
        except (OSError, sqlite3.Error) as e:
            self._set_writable(False, f"{type(e).__name__}: {e}")
            raise Unwritable(str(e)) from None
        self._set_writable(True)
        if status not in PENDING:
            self.metrics.outbox_pending.dec(len(ids))

    def _settle(self, ids: list[int], status: Status, response: dict[str, Any] | None, reason: str,
                next_attempt_at: float, count_attempt: bool) -> None:
        assert self._conn is not None
        resp = json.dumps(response) if response is not None else None
        with self._conn:
            for start in range(0, len(ids), 500):  # one statement per batch, not one per row
                chunk = ids[start:start + 500]
                self._conn.execute(
                    "UPDATE events SET status = ?, response = COALESCE(?, response), reason = ?, next_attempt_at = ?,"
                    f" attempts = attempts + ?, updated_at = ? WHERE id IN ({','.join('?' * len(chunk))})",
                    (status, resp, reason, next_attempt_at, int(count_attempt), time.time(), *chunk))

    async def prune(self, older_than_s: float) -> int:
        """Forget settled rows older than the retention window (pending rows are never pruned)."""
        return await self._run(self._prune, time.time() - older_than_s)

    def _prune(self, cutoff: float) -> int:
        assert self._conn is not None
        with self._conn:
            return self._conn.execute(
                f"DELETE FROM events WHERE NOT {_PENDING_SQL} AND updated_at < ?", (cutoff,)
            ).rowcount

    # -- reading the events log (admin endpoints, mitmweb annotations) ---------------------
    async def events(self, q: EventsQuery) -> list[dict[str, Any]]:
        return await self._read_query(select_events, q)

    async def counts(self) -> dict[str, int]:
        return await self._read_query(count_statuses)

    async def counts_by_pixel(self) -> dict[str, dict[str, int]]:
        return await self._read_query(count_by_pixel)

    async def fates(self, keys: list[FateKey]) -> dict[FateKey, str]:
        return await self._read_query(select_fates, keys)

    async def _read_query[*Ts, R](self, fn: Callable[[sqlite3.Connection, *Ts], R], *args: *Ts) -> R:
        """A query function on the reader thread, once the database is open (as `query`)."""
        if not self._opened.is_set() and self.open_error:
            raise Unwritable(self.open_error)
        await self._opened.wait()
        conn = self._read_conn
        if conn is None:
            raise Unwritable("the outbox is closed")
        return await self._read(fn, conn, *args)

    async def query[*Ts, R](self, fn: Callable[[sqlite3.Connection, *Ts], R], *args: *Ts) -> R:
        """Run a read-only query function `fn(conn, *args)` on the outbox thread.

        Waits for `open()`: an admin request can arrive while the proxy is still starting. Raises
        Unwritable at once when the database could not be opened.
        """
        if not self._opened.is_set() and self.open_error:
            raise Unwritable(self.open_error)
        await self._opened.wait()
        return await self._run(lambda: fn(self._connection(), *args))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the outbox is closed")
        return self._conn
