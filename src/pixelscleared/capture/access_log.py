"""`capture.access_log`: page views from the web server's access log, for route-only mode.

In route-only mode (`pixelscleared routes`) the site's own web server serves the pages; the
sidecar sees only its endpoints, tracking calls and rule paths. Page views then come from the
web server's access log, sent as one UDP datagram per request the moment the response is done
(nginx `access_log syslog:`, Caddy `log { output net udp/… }`): the page never waits for the
sidecar, and a busy sidecar loses page views (counted by the kernel), never slows the site.

`parse_record` takes a datagram — nginx's syslog line carrying the JSON our `log_format` writes,
or a Caddy JSON log entry — and returns the request as the pipeline's stages see it, or raises
BadRecord.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from pixelscleared import logs
from pixelscleared.event import RequestFacts
from pixelscleared.model import Settings, networks

logger = logging.getLogger(__name__)
MAX_DATAGRAM = 65_507
TAG = "pixelscleared"


class BadRecord(ValueError):
    """A datagram that is not one of our access-log records."""


class AccessLogSettings(Settings):
    """`capture.access_log`: where the web server's log records arrive."""

    listen: str = "127.0.0.1:5140"  # UDP host:port
    # or a file the web server appends to (nginx `access_log FILE … buffer=64k flush=1s`): the
    # cheapest for the web server (one write per buffer), nothing lost while the sidecar is busy
    # or down; page views arrive up to the flush interval later. The web server and the sidecar
    # share the file's directory (same host, or a shared volume).
    file: Path | None = None
    # who may send records: anyone who can would be able to invent page views
    allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # The share of one core that deciding page views may take (1: as fast as records come). Below
    # 1 the decider rests between batches, leaving the CPU to a web server on the same core — with
    # the sidecar on nginx's own vCPU, 0.5 took nginx from 0.41–0.45× to 0.46–0.51× of plain nginx
    # on a navigation burst (README: a small gain; a core of its own is the answer). A burst then waits and is decided after it: use with `file` (over
    # UDP a long wait fills `backlog_mb`). Collect calls and other flows are never held back by it.
    cpu_share: float = Field(1.0, gt=0, le=1)
    # UDP: records taken off the socket wait here to be decided, up to this many MiB (about 1,000
    # page views a MiB: 64 MiB holds a 4 s burst of 15,000 a second); past it new records are
    # dropped and counted. The file needs no such room: a burst waits in the file.
    backlog_mb: float = Field(64, gt=0, le=4096)

    _networks = field_validator("allow")(networks)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
            raise ValueError(f"{v!r}: give host:port, e.g. 127.0.0.1:5140 ([::1]:5140 for IPv6)")
        return v

    @field_validator("file")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_absolute():
            raise ValueError(f"{str(v)!r}: give an absolute path (the web server writes it too)")
        return v

    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    @cached_property  # parsed once: `allowed` is asked for every record
    def allow_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.allow)

    def allowed(self, peer: str) -> bool:
        return _peer_allowed(peer, self.allow_networks)


@lru_cache(maxsize=1024)
def _peer_allowed(peer: str, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    """The peers are a web server or two: each is worked out once."""
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(ip in net for net in nets)


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    status: int
    content_type: str
    path: str  # without the query
    facts: RequestFacts


def _json_part(datagram: bytes) -> dict[str, Any]:
    """The JSON object in a datagram: a bare Caddy entry, or after nginx's `<pri>… tag: ` header."""
    text = datagram.decode("utf-8", "replace").strip()
    if not text.startswith("{"):
        head, sep, rest = text.partition(f"{TAG}: ")
        if not sep or not head.startswith("<"):
            raise BadRecord("not a syslog line tagged pixelscleared, nor a JSON log entry")
        text = rest
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise BadRecord(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise BadRecord("not a JSON object")
    return doc


def _str(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key, "")
    return value if isinstance(value, str) else ""


def parse_record(datagram: bytes) -> LoggedRequest:
    if len(datagram) > MAX_DATAGRAM:
        raise BadRecord("too large")
    doc = _json_part(datagram)
    if "request" in doc and isinstance(doc["request"], dict):
        return _caddy(doc)
    return _nginx(doc)


# Request headers the stages read; nginx's log_format names them one by one (routes.py).
NGINX_HEADERS = {
    "ua": "user-agent", "ref": "referer", "al": "accept-language", "dest": "sec-fetch-dest",
    "mode": "sec-fetch-mode", "purpose": "sec-purpose", "xpurpose": "purpose", "xff": "x-forwarded-for",
    "fwd": "forwarded", "gpc": "sec-gpc", "xfp": "x-forwarded-proto",
}


def _nginx(doc: dict[str, Any]) -> LoggedRequest:
    """The flat record our nginx `log_format pixelscleared escape=json` writes ("" for an absent
    header, "-" never: escape=json writes empty strings)."""
    if doc.get("v") != 1:
        raise BadRecord("not a pixelscleared nginx record (v: 1)")
    try:
        status = int(_str(doc, "status"))
    except ValueError:
        raise BadRecord("status is not a number") from None
    uri, host, scheme = _str(doc, "uri"), _str(doc, "host"), _str(doc, "scheme") or "http"
    headers = {name: v for key, name in NGINX_HEADERS.items() if (v := _str(doc, key))}
    headers["host"] = host
    cookie = _str(doc, "cookie")
    facts = RequestFacts(peer_ip=_str(doc, "ip"), headers=headers, cookie_header=cookie,
                         url=f"{scheme}://{host}{uri}", scheme=scheme)
    return LoggedRequest(_str(doc, "method"), status, _str(doc, "ct"), uri.split("?", 1)[0], facts)


def _caddy(doc: dict[str, Any]) -> LoggedRequest:
    """Caddy's JSON access log entry (`request.headers` as lists; Cookie is logged only with the
    global `log_credentials` option)."""
    req = doc["request"]
    raw: dict[str, Any] = req["headers"] if isinstance(req.get("headers"), dict) else {}
    headers = {k.lower(): ", ".join(v) if isinstance(v, list) else str(v) for k, v in raw.items()}
    resp: dict[str, Any] = doc["resp_headers"] if isinstance(doc.get("resp_headers"), dict) else {}
    ctype = next((", ".join(v) if isinstance(v, list) else str(v) for k, v in resp.items()
                  if k.lower() == "content-type"), "")
    status = doc.get("status")
    if not isinstance(status, int):
        raise BadRecord("status is not a number")
    host, uri = _str(req, "host"), _str(req, "uri")
    scheme = "https" if req.get("tls") else "http"
    headers["host"] = host
    cookie = headers.pop("cookie", "")
    facts = RequestFacts(peer_ip=_str(req, "client_ip") or _str(req, "remote_ip"), headers=headers,
                         cookie_header=cookie, url=f"{scheme}://{host}{uri}", scheme=scheme)
    return LoggedRequest(_str(req, "method"), status, ctype, uri.split("?", 1)[0], facts)


class UdpSource:
    """Takes every waiting datagram off the socket each time it is readable, up to `BATCH` (then
    the loop's other work gets its turn). asyncio's datagram transport takes one per loop turn:
    behind a busy decider the kernel's buffer overflowed and most of a burst was lost there."""

    BATCH = 1024

    def __init__(self, sock: socket.socket, backlog: Backlog, loop: asyncio.AbstractEventLoop):
        self.sock, self.backlog, self.loop = sock, backlog, loop
        loop.add_reader(sock.fileno(), self._drain)

    def _drain(self) -> None:
        for _ in range(self.BATCH):
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. an ICMP error queued on the socket: the next read goes on
                logger.debug("access-log socket error", exc_info=True)
                return
            self.backlog.put(data, str(addr[0]))

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class Backlog:
    """Records waiting to be decided. Taken off the socket at once (the kernel's buffer stays
    free), decided a few at a time between the proxy's own work, so a burst of page views never
    starves collect calls; past `limit` records or `max_bytes` waiting, new records are dropped
    and counted."""

    OVERHEAD = 150  # bytes a waiting record takes beside its data (tuple, bytes header, peer)

    def __init__(self, handle: Callable[[bytes, str], None], dropped: Callable[[], None],
                 limit: int = 5_000, per_turn: int = 16, room: Callable[[int], bool] = lambda n: True,
                 cpu_share: float = 1.0, max_bytes: int = 64 << 20):
        self.handle, self.dropped, self.limit, self.per_turn = handle, dropped, limit, per_turn
        self.max_bytes = max_bytes
        self._bytes = 0
        self.rest = 1 / cpu_share - 1  # seconds of rest per second of work
        self.room = room  # whether what `per_turn` records make can be taken now (the outbox's room)
        self._records: deque[tuple[bytes, str]] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._records)

    def put(self, data: bytes, peer: str) -> None:
        size = len(data) + self.OVERHEAD
        if len(self._records) >= self.limit or self._bytes + size > self.max_bytes:
            self.dropped()
            return
        self._records.append((data, peer))
        self._bytes += size
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._records:
                if not self.room(self.per_turn):  # held here (and in the file) rather than refused
                    await asyncio.sleep(0.05)
                    continue
                started = time.perf_counter()
                for _ in range(min(self.per_turn, len(self._records))):
                    data, peer = self._records.popleft()
                    self._bytes -= len(data) + self.OVERHEAD
                    try:
                        self.handle(data, peer)
                    except Exception:  # one bad record never stops the listener
                        logger.exception("access-log record failed", extra=logs.NOT_FATAL)
                # the proxy's flows get their turn; with a CPU share below 1, the web server too
                await asyncio.sleep((time.perf_counter() - started) * self.rest if self.rest else 0)


class RecordListener:
    """Where the web server's records come from (a UDP socket or a followed file), and the task
    deciding them."""

    def __init__(self, source: UdpSource | FileTail, task: asyncio.Task[None]):
        self.source, self.task = source, task

    async def close(self) -> None:
        if isinstance(self.source, FileTail):
            await asyncio.get_running_loop().run_in_executor(None, self.source.stop)
        else:
            self.source.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def listen_for_records(settings: AccessLogSettings, handle: Callable[[bytes, str], None],
                             dropped: Callable[[], None], room: Callable[[int], bool] = lambda n: True,
                             ) -> RecordListener:
    """Bind the socket (a large receive buffer absorbs bursts) or follow the file, and start
    deciding records — while `room(n)` says n records' events can be taken."""
    loop = asyncio.get_running_loop()
    if settings.file is not None:  # read only as fast as decided: the file holds the rest
        backlog = Backlog(handle, dropped, room=room, cpu_share=settings.cpu_share)
        tail = FileTail(settings.file, backlog.put, loop, lambda: len(backlog), backlog.limit // 2)
        tail.start()
        logger.info("following the access-log file", extra={"file": str(settings.file)})
        return RecordListener(tail, loop.create_task(backlog.run(), name="pixelscleared-access-log"))
    backlog = Backlog(handle, dropped, limit=sys.maxsize, room=room, cpu_share=settings.cpu_share,
                      max_bytes=int(settings.backlog_mb * (1 << 20)))
    host, port = settings.address()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((host, port))
    sock.setblocking(False)
    source = UdpSource(sock, backlog, loop)
    logger.info("listening for access-log records", extra={"listen": settings.listen})
    return RecordListener(source, loop.create_task(backlog.run(), name="pixelscleared-access-log"))


class FileTail:
    """Follows an access-log file on a thread (file reads never block the event loop): new lines
    are handed to `put` on the loop, in batches. Starts at the file's end (what was logged
    before the sidecar started is not replayed), follows rotation (a new file at the path, or the
    file truncated) and waits while the file does not exist."""

    POLL_S = 0.2
    MAX_LINE = MAX_DATAGRAM

    def __init__(self, path: Path, put: Callable[[bytes, str], None], loop: asyncio.AbstractEventLoop,
                 waiting: Callable[[], int] = lambda: 0, most: int = 1_000):
        self.path, self.put, self.loop = path, put, loop
        self.waiting, self.most = waiting, most  # backpressure: the file keeps what is not read yet
        # lines handed to the loop and not yet put: the thread reads faster than a busy loop
        # takes, so `waiting()` alone would let a burst overrun the backlog (and be dropped)
        self._handed, self._handed_lock = 0, threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pixelscleared-access-log-tail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _deliver(self, lines: list[bytes]) -> None:
        with self._handed_lock:
            self._handed -= len(lines)
        for line in lines:
            self.put(line, "file")

    def _hand(self, lines: list[bytes]) -> None:
        with self._handed_lock:
            self._handed += len(lines)
        self.loop.call_soon_threadsafe(self._deliver, lines)

    def _run(self) -> None:
        f = None
        inode, pending = None, b""
        ready: list[bytes] = []  # whole lines read and not yet handed over
        first = True
        while not self._stop.is_set():
            try:
                if f is None:
                    f = open(self.path, "rb")  # noqa: SIM115 — held open across iterations, closed below
                    st = os.fstat(f.fileno())
                    inode = st.st_ino
                    if first:
                        f.seek(0, os.SEEK_END)
                    first, pending = False, b""
                if ready:  # handed over only as far as the backlog has room: the rest waits here
                    room = self.most - self.waiting() - self._handed
                    if room <= 0:  # the sidecar is behind: read on when it catches up
                        self._stop.wait(0.02)
                    else:
                        self._hand(ready[:room])
                        del ready[:room]
                    continue
                chunk = f.read(64 << 10)
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    if len(pending) > self.MAX_LINE:
                        pending = b""  # a line too long to be ours: dropped
                    ready = [ln for ln in lines if ln.strip()]
                    continue
                try:
                    st = os.stat(self.path)
                    rotated = st.st_ino != inode or st.st_size < f.tell()
                except FileNotFoundError:
                    rotated = False  # renamed away, not yet replaced: finish the old file first
                if rotated:
                    f.close()
                    f = None  # the new file is read from its start
                    continue
            except FileNotFoundError:
                first = False  # created later: read it from its start
            except OSError:
                logger.exception("access-log file unreadable; trying again", extra=logs.NOT_FATAL)
            self._stop.wait(self.POLL_S)
        if f is not None:
            f.close()
