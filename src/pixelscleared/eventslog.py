"""Events log: every event's fate, queryable by event_id, pixel or status.

The rows are the outbox's own (one per event and pixel), so what a tester reads is exactly
what was queued and sent: the verdict and its deciding signals, what the scrubber removed
(paths and kinds), the payload TikTok got, and TikTok's answer. Read from the CLI
(`pixelscleared events`), or from `/_pc/events` on the running sidecar.

This module is the reader's side: filters from a URL or the command line, the one-line format,
and the command. The queries themselves belong to `outbox.py`, the table's owner.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pixelscleared.outbox import EventsQuery, Status, connect_existing, requeue_dead, select_events

STATUSES = tuple(str(s) for s in Status)


def parse_query(params: dict[str, str]) -> EventsQuery:
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
    return EventsQuery(params.get("event_id", ""), params.get("pixel_id", ""), status, limit,
                       params.get("event", ""), params.get("source", ""))


def format_line(row: dict[str, Any]) -> str:
    at = datetime.fromtimestamp(row["updated_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    resp = row.get("response") or {}
    answer = f" tiktok={resp.get('code', resp.get('error', '-'))}" if resp else ""
    removed = ",".join(sorted({r["kind"] for r in row["removed"]})) or "-"
    sources = ",".join(row["consent_sources"]) or "-"
    reason = f" ({row['reason']})" if row["reason"] else ""
    if row.get("repeats"):
        reason += f" repeats={row['repeats']}"
    return (f"{at}  {row['status']:<9} {row['event_name']:<16} {row['event_id']:<36} pixel={row['pixel_id']}"
            f" consent={row['verdict']}[{sources}] removed={removed} attempts={row['attempts']}{answer}{reason}")


# --- CLI ------------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()  # neither: the newest log under .pixelscleared/ (the demo's too)
    src.add_argument("-c", "--config", metavar="FILE",
                     help="config file, to find outbox.path (secrets such as the access token need not be set)")
    src.add_argument("--db", metavar="FILE", help="the outbox SQLite file itself, e.g. .pixelscleared/outbox.sqlite")
    p.add_argument("--event-id", default="", metavar="ID", help="only this event_id (all its pixels)")
    p.add_argument("--pixel-id", default="", metavar="ID", help="only this pixel")
    p.add_argument("--event", default="", metavar="NAME", help="only this event name, as sent (e.g. CompletePayment)")
    p.add_argument("--source", default="", metavar="SOURCE", help="only events from this capture source (e.g. collect)")
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


def _filters(q: EventsQuery) -> str:
    """The filters a query sets, as `event_id=…, status=…` ("" for none)."""
    return ", ".join(f"{name}={value}" for name in ("event_id", "pixel_id", "status", "event_name", "source")
                     if (value := getattr(q, name)))


def no_match_line(q: EventsQuery, db: Path) -> str:
    """Said instead of empty output, so "nothing matched" is not mistaken for "nothing ran"."""
    return f"no events match ({filters})" if (filters := _filters(q)) else f"no events yet in {db}"


# Where an events log is found without -c/--db, relative to the working directory: the
# default `outbox.path`, and the one `make run` / `pixelscleared demo` writes.
DEFAULT_LOGS = (Path(".pixelscleared/outbox.sqlite"), Path(".pixelscleared/demo/outbox.sqlite"))


def default_db() -> Path | None:
    """The most recently written of the usual events logs, if any exists here."""
    found = [p for p in DEFAULT_LOGS if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def main(args: argparse.Namespace) -> int:
    if args.db:
        db = Path(args.db)
    elif not args.config:
        if (found := default_db()) is None:
            print("error: no events log here: give -c CONFIG or --db FILE (looked for "
                  + " and ".join(str(p) for p in DEFAULT_LOGS) + ")", file=sys.stderr)
            return 2
        db = found
        print(f"events log: {db}", file=sys.stderr)
    else:
        from pixelscleared.config import load_for_command

        # Read-only: only outbox.path is needed, so an unset ${TIKTOK_ACCESS_TOKEN} is fine here.
        if (cfg := load_for_command(args.config, allow_unset_env=True)) is None:
            return 2
        db = cfg.outbox.path
    if not db.is_file():
        print(f"error: no events log at {db} (has the sidecar run with this config?)", file=sys.stderr)
        return 1
    q = EventsQuery(args.event_id, args.pixel_id, args.status, args.limit, args.event, args.source)
    if args.requeue:
        return _requeue(db, q)
    try:
        conn = connect_existing(db, read_only=True)
        try:
            rows = select_events(conn, q)
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


def _requeue(db: Path, q: EventsQuery) -> int:
    if q.status not in ("", Status.DEAD):
        print("error: --requeue sends dead events again; --status can only be dead", file=sys.stderr)
        return 2
    try:
        conn = connect_existing(db, read_only=False)
        try:
            n = requeue_dead(conn, q, time.time())
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        print(f"error: cannot update the events log at {db}: {e}", file=sys.stderr)
        return 1
    which = f" ({filters})" if (filters := _filters(EventsQuery(q.event_id, q.pixel_id))) else ""
    print(f"requeued {n} dead event{'' if n == 1 else 's'}{which}" if n else f"no dead events to requeue{which}")
    return 0
