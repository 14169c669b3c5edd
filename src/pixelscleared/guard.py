"""The door: requests the sidecar refuses before the site or the pipeline sees them.

A reverse proxy in front of production meets inputs a browser never sends: header blocks of
megabytes, folded or NUL-bearing header values, two `Host` headers (the origin and the proxy may
each believe a different one), clients that send a header byte every few seconds to hold a
connection open (slowloris). mitmproxy parses all of these and passes them on; this module holds
the rules it lacks, and the plain error page that replaces mitmproxy's (which names the upstream
address and mitmproxy's version).

Pure parts (`header_problem`, `error_page`) are tested on their own; `Door` keeps the per-connection
clocks and aborts a connection whose clock ran out.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, FilePath

from pixelscleared.model import Settings

logger = logging.getLogger("pixelscleared.guard")


class GuardSettings(Settings):
    # nginx's large_client_header_buffers allows 4 × 8 KiB; browsers send 1–8 KiB
    max_header_bytes: int = Field(64 * 1024, ge=4096, le=1 << 20)
    max_headers: int = Field(100, ge=16, le=1000)
    # from connect (or the end of the last response) to a complete header block
    header_timeout_s: float = Field(20.0, gt=0, le=600)
    # from the headers to the end of a body the sidecar itself reads (collect calls, tracking
    # calls); the site's own uploads are bounded only by mitmproxy's idle `tcp_timeout`, since a
    # large form posted from a slow phone is no attack
    body_timeout_s: float = Field(60.0, gt=0, le=3600)
    # HTML served instead of mitmproxy's error page (502 when the origin is down, …); `{status}`
    # and `{reason}` are replaced. Default: a plain page that names nothing internal.
    error_page: FilePath | None = None


@dataclass(frozen=True)
class Problem:
    status: int  # 400 or 431
    reason: str  # counted as a drop reason: header_too_large, bad_header, bad_host


def header_problem(first_line_len: int, fields: tuple[tuple[bytes, bytes], ...], http_version: str,
                   settings: GuardSettings) -> Problem | None:
    """Why this header block is refused, or None.

    CR, LF or NUL inside a value is how obs-fold (a continuation line) and header injection reach
    the origin; `Host` must be present once on HTTP/1.1 (RFC 9112 §3.2), since a proxy and an
    origin that pick different ones disagree about which site was asked for.
    """
    if len(fields) > settings.max_headers:
        return Problem(431, "header_too_large")
    size = first_line_len + sum(len(k) + len(v) + 4 for k, v in fields)
    if size > settings.max_header_bytes:
        return Problem(431, "header_too_large")
    hosts = 0
    for name, value in fields:
        if b"\r" in value or b"\n" in value or b"\x00" in value:
            return Problem(400, "bad_header")
        if name.lower() == b"host":
            hosts += 1
    if http_version == "HTTP/1.1" and hosts != 1:
        return Problem(400, "bad_host")
    if hosts > 1:
        return Problem(400, "bad_host")
    return None


REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
           431: "Request Header Fields Too Large", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}

DEFAULT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{status} {reason}</title></head>
<body><h1>{status} {reason}</h1><p>The site cannot answer right now. Please try again in a moment.</p>
</body></html>
"""


def error_page(template: str, status: int) -> bytes:
    reason = html.escape(REASONS.get(status, "Error"))
    return template.replace("{status}", str(status)).replace("{reason}", reason).encode()


def install_error_page(template: str) -> None:
    """Make mitmproxy's generated error responses our plain page, with no `Server` version.

    mitmproxy builds them deep in its HTTP layers (`make_error_response` for HTTP/1, a header
    list for HTTP/2 and /3) with the upstream address in the text; there is no hook or option for
    it, so the module-level builders are replaced. Idempotent; the last template wins.
    """
    from mitmproxy import http
    from mitmproxy.net.http import http1
    from mitmproxy.proxy.layers.http import _http1, _http2, _http3

    def make_error_response(status_code: int, message: str = "") -> bytes:
        resp = http.Response.make(status_code, error_page(template, status_code),
                                  {"Content-Type": "text/html; charset=utf-8", "Connection": "close",
                                   "Cache-Control": "no-store"})
        return bytes(http1.assemble_response(resp))

    def format_error(status_code: int, message: str) -> bytes:
        return error_page(template, status_code)

    _http1.make_error_response = make_error_response
    for module in (_http2, _http3):
        setattr(module, "format_error", format_error)  # noqa: B010
        setattr(module, "version", types.SimpleNamespace(MITMPROXY="pixelscleared"))  # noqa: B010


def page_template(settings: GuardSettings) -> str:
    """The configured page (read once at load), else the default."""
    if settings.error_page is None:
        return DEFAULT_PAGE
    return Path(settings.error_page).read_text(encoding="utf-8")


def abort_client(client_id: str) -> bool:
    """Reset one client connection now: unread data dropped, the socket freed.

    `flow.kill()` alone leaves the socket open when mitmproxy has stopped reading a large body
    (with `connection_strategy: lazy`, the kill never closes the client transport: CLOSE-WAIT for
    `tcp_timeout`, 600 s). mitmproxy has no API to close a client, so its proxyserver's handler is
    asked for the transport.
    """
    from mitmproxy import ctx

    server = ctx.master.addons.get("proxyserver")
    handler = getattr(server, "connections", {}).get(client_id)
    if handler is None:
        return False
    io = handler.transports.get(handler.client)
    transport = getattr(getattr(io, "writer", None), "transport", None)
    if transport is None:
        return False
    transport.abort()
    return True


class Door:
    """Per-connection deadlines: for a header block to arrive, and for a buffered body to finish."""

    def __init__(self, settings: GuardSettings, count: Callable[[str], None]):
        self.settings = settings
        self.count = count  # called with "header_timeout" / "body_timeout" per connection cut off
        self._deadlines: dict[str, tuple[float, str]] = {}
        self._task: asyncio.Task[None] | None = None

    def waiting_for_headers(self, client_id: str) -> None:
        self._deadlines[client_id] = (time.monotonic() + self.settings.header_timeout_s, "header_timeout")

    def waiting_for_body(self, client_id: str) -> None:
        self._deadlines[client_id] = (time.monotonic() + self.settings.body_timeout_s, "body_timeout")

    def arrived(self, client_id: str) -> None:
        self._deadlines.pop(client_id, None)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._sweep(), name="pixelscleared door")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def expired(self, now: float) -> list[tuple[str, str]]:
        gone = [(cid, why) for cid, (deadline, why) in self._deadlines.items() if deadline <= now]
        for cid, _ in gone:
            del self._deadlines[cid]
        return gone

    async def _sweep(self) -> None:
        interval = min(1.0, self.settings.header_timeout_s / 4, self.settings.body_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            for client_id, why in self.expired(time.monotonic()):
                try:
                    if abort_client(client_id):
                        self.count(why)
                except Exception:  # never let one connection stop the sweep
                    logger.exception("could not close a timed-out connection")
