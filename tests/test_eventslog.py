from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess

import aiohttp
import pytest
import yaml

from conftest import BIN, sidecar_config, wait_for
from pixelscleared.cli import COMMANDS, DESCRIPTION
from pixelscleared.eventslog import STATUSES, format_line, parse_query
from pixelscleared.metrics import Metrics
from pixelscleared.outbox import EventsQuery as Query
from pixelscleared.outbox import Outbox, OutboxRow, select_events


@pytest.mark.parametrize("params, expected", [
    ({}, Query()),
    ({"event_id": "e1", "status": "dead", "limit": "5"}, Query("e1", "", "dead", 5)),
    ({"pixel_id": "P"}, Query(pixel_id="P")),
])
def test_parse_query(params, expected):
    assert parse_query(params) == expected


@pytest.mark.parametrize("params, reason", [
    ({"status": "bogus"}, "status must be one of"),
    ({"limit": "x"}, "limit must be a number"),
    ({"limit": "0"}, "limit must be between 1 and 1000"),
])
def test_bad_queries(params, reason):
    with pytest.raises(ValueError, match=reason):
        parse_query(params)


async def test_format_line(db):
    [row] = select_events(sqlite3.connect(db), Query(event_id="e1"))
    line = format_line(row)
    assert "queued" in line and "consent=granted[cookieyes:cookieyes-consent]" in line and "removed=email" in line


async def test_events_command(db):
    out = subprocess.run([str(BIN / "pixelscleared"), "events", "--db", str(db), "--json"],
                         capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["event_id"] for r in rows] == ["e1", "e2"]  # oldest first
    r = subprocess.run([str(BIN / "pixelscleared"), "events", "--db", str(db.parent / "missing.sqlite")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no events log at" in r.stderr


def status_of(db, event_id: str) -> str:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT status FROM events WHERE event_id = ?", (event_id,)).fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created yet: the sidecar is still starting
        return ""
    return row[0] if row else ""


async def test_requeue_after_fixing_the_access_token(origin, tiktok, run_sidecar, tmp_path):
    """The ops story: a wrong token dead-letters events; fix it, restart, requeue, delivered."""
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url)
    db = tmp_path / "outbox.sqlite"
    wrong = await run_sidecar(cfg, env={"TEST_TIKTOK_TOKEN": "wrong-token-123"})
    async with aiohttp.ClientSession() as s:
        async with s.post(wrong.url + "/_pc/collect", json={"event": "PageView", "event_id": "rq-1"}) as r:
            assert r.status == 204
    await wait_for(lambda: status_of(db, "rq-1") == "dead")
    wrong.proc.send_signal(signal.SIGTERM)
    wrong.proc.wait(20)
    await run_sidecar(cfg)  # restarted with the right token
    config = tmp_path / "ops.yaml"
    config.write_text(yaml.safe_dump(cfg))
    r = events("-c", str(config), "--requeue", "--event-id", "rq-1")
    assert (r.returncode, r.stdout) == (0, "requeued 1 dead event (event_id=rq-1)\n"), r.stderr
    await wait_for(lambda: any(e["event_id"] == "rq-1" for e in tiktok.events))
    await wait_for(lambda: status_of(db, "rq-1") == "delivered")
    assert events("--db", str(db), "--requeue").stdout == "no dead events to requeue\n"


def test_requeue_takes_only_dead_events(db):
    r = events("--db", str(db), "--requeue", "--status", "dropped")
    assert r.returncode == 2 and "--status can only be dead" in r.stderr


def events(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pixelscleared"), "events", *args], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("args, stdout, stderr", [
    (["--status", "dead"], "no events match (status=dead)\n", ""),
    (["--event-id", "nope", "--pixel-id", "P1"], "no events match (event_id=nope, pixel_id=P1)\n", ""),
    (["--status", "dead", "--json"], "", "no events match (status=dead)\n"),  # stdout stays JSON lines
    (["--status", "dropped"], "dropped", ""),
])
async def test_events_command_says_when_nothing_matches(db, args, stdout, stderr):
    r = events("--db", str(db), *args)
    assert r.returncode == 0, r.stderr
    assert (stdout in r.stdout) if stdout else (r.stdout == "")
    assert r.stderr == stderr


async def test_events_command_on_an_empty_log(tmp_path):
    ob = Outbox(tmp_path / "empty.sqlite", Metrics())
    await ob.open()
    await ob.close()
    r = events("--db", str(tmp_path / "empty.sqlite"))
    assert (r.returncode, r.stdout) == (0, f"no events yet in {tmp_path / 'empty.sqlite'}\n")


async def test_events_command_reads_the_config_without_the_token_set(db, tmp_path):
    """Only outbox.path is needed: a tester without the access token can still read the log."""
    config = tmp_path / "c.yaml"
    config.write_text(f"""upstream: http://127.0.0.1:9
destinations:
  tiktok: [{{pixel_id: P1, access_token: "${{TIKTOK_ACCESS_TOKEN}}", events: [PageView]}}]
outbox: {{path: {db}}}
""")
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_ACCESS_TOKEN"}
    r = events("-c", str(config), "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["event_id"] for line in r.stdout.splitlines()] == ["e1", "e2"]


@pytest.mark.parametrize("args, message", [
    (["--db", "x", "--status", "bogus"], "invalid choice: 'bogus' (choose from queued, retrying"),
    (["--db", "x", "--limit", "0"], "limit must be between 1 and 1000"),
])
def test_events_command_usage_errors(args, message):
    r = events(*args)
    assert r.returncode == 2 and message in r.stderr.replace("'queued'", "queued").replace("'retrying'", "retrying")


def test_help_describes_the_tool_every_command_and_the_statuses():
    top = subprocess.run([str(BIN / "pixelscleared"), "--help"], capture_output=True, text=True, check=True).stdout
    assert " ".join(DESCRIPTION.split()) in " ".join(top.split())
    for name, (_, help_) in COMMANDS.items():
        assert help_ and f"{name}" in top and " ".join(help_.split()) in " ".join(top.split())
    text = " ".join(events("--help").stdout.split())
    assert f"only events with this status: {', '.join(STATUSES)}" in text


@pytest.fixture
async def big_db(tmp_path):
    """More output than a pipe holds, so a writer cannot finish before its reader leaves."""
    ob = Outbox(tmp_path / "big.sqlite", Metrics())
    await ob.open()
    for i in range(1000):
        ob.put(OutboxRow(f"e{i}", "P1", "Pageview", "collect", "granted", [], [], "queued", payload={"n": i}))
    await ob.close()
    return tmp_path / "big.sqlite"


@pytest.mark.parametrize("argv, code", [
    (["events", "--db", "DB", "--limit", "1000"], 141),  # 128 + SIGPIPE, as a shell reports it
    (["events", "--db", "DB", "--limit", "1000", "--json"], 141),
    (["scrub", "--url", "https://shop.example/?email=jane%40example.com"], 141),
    (["consent", "--cookie", "cmplz_marketing=allow"], 141),
    (["--help"], 0),  # argparse itself ignores a failed write of its help
    (["events", "--help"], 0),
])
async def test_a_closed_stdout_ends_quietly(big_db, argv, code):
    """`pixelscleared events | head -5`: the reader is gone before the writer is done."""
    read, write = os.pipe()
    os.close(read)  # every write to stdout now fails with EPIPE
    try:
        r = subprocess.run([str(BIN / "pixelscleared"), *[str(big_db) if a == "DB" else a for a in argv]],
                           stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert (r.returncode, r.stderr) == (code, "")


async def test_events_piped_into_head(big_db):
    r = subprocess.run(f"'{BIN / 'pixelscleared'}' events --db '{big_db}' --limit 1000 | head -5", shell=True,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == ""
    assert len(r.stdout.splitlines()) == 5


def test_events_finds_the_demo_log_without_arguments(db, tmp_path):
    """Run in the project after `make run`: the demo's log is found with no -c/--db."""
    project = tmp_path / "project"
    (project / ".pixelscleared" / "demo").mkdir(parents=True)
    none = subprocess.run([str(BIN / "pixelscleared"), "events"], capture_output=True, text=True, cwd=project)
    assert none.returncode == 2 and ".pixelscleared/demo/outbox.sqlite" in none.stderr
    (project / ".pixelscleared" / "demo" / "outbox.sqlite").write_bytes(db.read_bytes())
    r = subprocess.run([str(BIN / "pixelscleared"), "events", "--json"], capture_output=True, text=True, cwd=project)
    assert r.returncode == 0, r.stderr
    assert "events log: .pixelscleared/demo/outbox.sqlite" in r.stderr
    assert [json.loads(line)["event_id"] for line in r.stdout.splitlines()] == ["e1", "e2"]


@pytest.mark.parametrize(("params", "field", "value"), [
    ({"event": "CompletePayment"}, "event_name", "CompletePayment"),
    ({"source": "collect"}, "source", "collect"),
])
def test_event_and_source_filters(params, field, value):
    assert getattr(parse_query(params), field) == value
