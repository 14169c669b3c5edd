"""Events log: every event's fate, queryable by event_id, pixel or status.

The rows are the outbox's own (one per event and pixel), so what a tester reads is exactly
what was queued and sent: the verdict and its deciding signals, what the scrubber removed
(paths and kinds), the payload TikTok got, and TikTok's answer. Read from the CLI
(`pixelscleared events`), or from `/_pc/events` on the running sidecar.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COLUMNS = ("id", "created_at", "updated_at", "event_id", "pixel_id", "event_name", "source", "verdict",
           "consent_sources", "removed", "status", "reason", "payload", "test_event_code", "attempts",
           "next_attempt_at", "response")
_JSON_COLUMNS = {"consent_sources", "removed", "payload", "response"}
STATUSES = ("queued", "retrying", "delivered", "dead", "dropped", "dry_run")


@dataclass(frozen=True, slots=True)
class Query:
    event_id: str = ""
    pixel_id: str = ""
    status: str = ""
    limit: int = 100


def parse_query(params: dict[str, str]) -> Query:
    """From URL query parameters; raises ValueError with a readable reason."""
    status = params.get("status", "")
    if status and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    try:
        limit = int(params.get("limit", "100"))
    except ValueError:
        raise ValueError("limit must be a number") from None
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    return Query(params.get("event_id", ""), params.get("pixel_id", ""), status, limit)


def _where(q: Query, *always: str) -> tuple[str, list[str]]:
    where, args = list(always), []
    for column in ("event_id", "pixel_id", "status"):
        if value := getattr(q, column):
            where.append(f"{column} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", args


def fetch(conn: sqlite3.Connection, q: Query) -> list[dict[str, Any]]:
    where, args = _where(q)
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events{where} ORDER BY id DESC LIMIT ?",
                        [*args, q.limit]).fetchall()
    return [_row(r) for r in rows]


def requeue(conn: sqlite3.Connection, q: Query, now: float) -> int:
    """Put dead events (those matching `q`) back in the queue, attempts reset; how many.

    For after the cause is fixed (a rotated access token, a TikTok outage longer than the
    retries): the same payload and event_id go again, which TikTok deduplicates. Dropped
    events have no payload and stay as they are.
    """
    where, args = _where(Query(q.event_id, q.pixel_id), "status = 'dead'", "payload IS NOT NULL")
    with conn:
        return conn.execute(
            "UPDATE events SET status = 'queued', attempts = 0, next_attempt_at = 0,"
            f" reason = 'requeued by the operator', updated_at = ?{where}", [now, *args]).rowcount


def summary(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, COUNT(*) FROM events GROUP BY status").fetchall())


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(COLUMNS, values, strict=True))
    for column in _JSON_COLUMNS:
        if row[column] is not None:
            row[column] = json.loads(row[column])
    return row


def format_line(row: dict[str, Any]) -> str:
    at = datetime.fromtimestamp(row["updated_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    resp = row.get("response") or {}
    answer = f" tiktok={resp.get('code', resp.get('error', '-'))}" if resp else ""
    removed = ",".join(sorted({r["kind"] for r in row["removed"]})) or "-"
    sources = ",".join(row["consent_sources"]) or "-"
    reason = f" ({row['reason']})" if row["reason"] else ""
    return (f"{at}  {row['status']:<9} {row['event_name']:<16} {row['event_id']:<36} pixel={row['pixel_id']}"
            f" consent={row['verdict']}[{sources}] removed={removed} attempts={row['attempts']}{answer}{reason}")


# --- CLI ------------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("-c", "--config", metavar="FILE",
                     help="config file, to find outbox.path (secrets such as the access token need not be set)")
    src.add_argument("--db", metavar="FILE", help="the outbox SQLite file itself, e.g. .pixelscleared/outbox.sqlite")
    p.add_argument("--event-id", default="", metavar="ID", help="only this event_id (all its pixels)")
    p.add_argument("--pixel-id", default="", metavar="ID", help="only this pixel")
    p.add_argument("--status", default="", choices=STATUSES, metavar="STATUS",
                   help=f"only events with this status: {', '.join(STATUSES)}")
    p.add_argument("--limit", type=_limit, default=50, help="newest N events, shown oldest first (default 50, at most 1000)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, every field")
    p.add_argument("--requeue", action="store_true",
                   help="send dead events again (all, or those of --event-id / --pixel-id), e.g. after fixing an "
                        "access token; a running sidecar picks them up within seconds. TikTok takes events up to "
                        "7 days old")


def _limit(text: str) -> int:
    try:
        return parse_query({"limit": text}).limit
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _filters(q: Query) -> str:
    """The filters a query sets, as `event_id=…, status=…` ("" for none)."""
    return ", ".join(f"{name}={value}" for name in ("event_id", "pixel_id", "status") if (value := getattr(q, name)))


def no_match_line(q: Query, db: Path) -> str:
    """Said instead of empty output, so "nothing matched" is not mistaken for "nothing ran"."""
    return f"no events match ({filters})" if (filters := _filters(q)) else f"no events yet in {db}"


def main(args: argparse.Namespace) -> int:
    if args.db:
        db = Path(args.db)
    else:
        from pixelscleared.config import load_for_command

        # Read-only: only outbox.path is needed, so an unset ${TIKTOK_ACCESS_TOKEN} is fine here.
        if (cfg := load_for_command(args.config, allow_unset_env=True)) is None:
            return 2
        db = cfg.outbox.path
    if not db.is_file():
        print(f"error: no events log at {db} (has the sidecar run with this config?)", file=sys.stderr)
        return 1
    q = Query(args.event_id, args.pixel_id, args.status, args.limit)
    if args.requeue:
        return _requeue(db, q)
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = fetch(conn, q)
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        print(f"error: cannot read the events log at {db}: {e}", file=sys.stderr)
        return 1
    if not rows:
        print(no_match_line(q, db), file=sys.stderr if args.json else sys.stdout)
    for row in reversed(rows):
        print(json.dumps(row) if args.json else format_line(row))
    return 0


def _requeue(db: Path, q: Query) -> int:
    if q.status not in ("", "dead"):
        print("error: --requeue sends dead events again; --status can only be dead", file=sys.stderr)
        return 2
    try:
        conn = sqlite3.connect(db, timeout=10)  # the running sidecar writes too: wait for its lock
        try:
            n = requeue(conn, q, time.time())
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        print(f"error: cannot update the events log at {db}: {e}", file=sys.stderr)
        return 1
    which = f" ({filters})" if (filters := _filters(Query(q.event_id, q.pixel_id))) else ""
    print(f"requeued {n} dead event{'' if n == 1 else 's'}{which}" if n else f"no dead events to requeue{which}")
    return 0
