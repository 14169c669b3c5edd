"""The local TikTok Events API stand-in: an aiohttp app that answers like TikTok.

It exists so the demo, the tests and staging can run the whole pipeline with no TikTok
account, and so failures TikTok produces rarely (5xx, rate limits, dropped connections, slow
answers) can be produced on demand through `/_fake/control`.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pixelscleared.fake_tiktok.schema import (
    BAD_TOKEN,
    DEFAULT_MAX_FUTURE_S,
    EMPTY_TOKEN,
    INVALID_PARAMETER,
    NO_PERMISSION,
    OK,
    RATE_LIMITED,
    Rejection,
    check_request,
    error_message,
    error_path,
    is_standard,
    parse_json,
    show,
)

logger = logging.getLogger(__name__)

TRACK_PATH = "/open_api/v1.3/event/track/"
DEFAULT_MAX_RECORDS = 10_000
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024  # 1000 events of a few KB each fit comfortably
DEDUP_WINDOW_S = 48 * 3600
HTML_LIMIT = 200

_MESSAGES = {
    OK: "OK",
    BAD_TOKEN: "Access token is incorrect or has been revoked.",
    EMPTY_TOKEN: "Access token is empty.",
    RATE_LIMITED: "Too many requests. Please retry in some time.",
    NO_PERMISSION: "No permission to operate this pixel.",
    INVALID_PARAMETER: "Invalid parameter.",
    40007: "The object does not exist.",
    20001: "Partial success.",
}

Mode = Literal["ok", "http_500", "http_503", "rate_limit", "delay", "drop", "code"]


class Control(BaseModel):
    """How the next track requests misbehave; `times=None` means until set back to `ok`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    mode: Mode = "ok"
    times: int | None = Field(None, ge=1)
    delay_s: float = Field(1.0, ge=0, le=600)
    code: int | None = Field(None, ge=0, le=99_999)
    message: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _code_given(self) -> Control:
        if self.mode == "code" and self.code is None:
            raise ValueError('mode "code" needs "code": N')
        return self

def _request_id(now: float) -> str:
    """TikTok's shape: UTC timestamp digits + 20 upper-case hex characters."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + secrets.token_hex(10).upper()


def _envelope(code: int, request_id: str, message: str | None = None, *, http_status: int = 200) -> web.Response:
    body = {
        "code": code,
        "message": message if message is not None else _MESSAGES.get(code, "Error."),
        "request_id": request_id,
        "data": None if code == OK else {},
    }
    return web.json_response(body, status=http_status)


def _same_secret(a: str, b: str) -> bool:
    """Constant-time compare; on bytes, because compare_digest refuses non-ASCII str."""
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))


def _host_port_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class FakeTikTok:
    """One stand-in server: its pixels, what it accepted, what it saw, and how it misbehaves."""

    def __init__(
        self,
        pixels: Mapping[str, str],
        *,
        max_events: int = DEFAULT_MAX_RECORDS,
        max_requests: int = DEFAULT_MAX_RECORDS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_future_s: int = DEFAULT_MAX_FUTURE_S,
        clock: Callable[[], float] = time.time,
    ):
        for pixel_id, token in pixels.items():
            if not isinstance(pixel_id, str) or not pixel_id or not isinstance(token, str) or not token:
                raise ValueError("pixels must map non-empty pixel IDs to non-empty access tokens")
        self._pixels: dict[str, str] = dict(pixels)
        self.max_body_bytes = max_body_bytes
        self.max_future_s = max_future_s
        self._clock = clock
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._requests: deque[dict[str, Any]] = deque(maxlen=max_requests)
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._max_seen = max_events * 10
        self.events_dropped = 0
        self.requests_dropped = 0
        self.control = Control()
        self._remaining: int | None = None
        self.affected = 0
        self.app = self._make_app()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def __repr__(self) -> str:
        return f"<FakeTikTok pixels={sorted(self._pixels)} url={self.url or None}>"

    # --- state ----------------------------------------------------------------------------

    @property
    def pixel_ids(self) -> list[str]:
        return list(self._pixels)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Accepted events, oldest first (a copy of the list; the dicts are shared)."""
        return list(self._events)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every track request seen, accepted or not, oldest first. Never holds a token."""
        return list(self._requests)

    def clear(self) -> None:
        self._events.clear()
        self._requests.clear()
        self._seen.clear()
        self.events_dropped = self.requests_dropped = 0

    def set_control(self, mode: Mode = "ok", **settings: Any) -> dict[str, Any]:
        """Same as `POST /_fake/control`; raises pydantic's ValidationError on bad settings."""
        self.control = Control.model_validate({"mode": mode, **settings})
        self._remaining = None if self.control.mode == "ok" else self.control.times
        self.affected = 0
        return self.control_state()

    def control_state(self) -> dict[str, Any]:
        return {**self.control.model_dump(), "remaining": self._remaining, "affected": self.affected}

    def _take_control(self) -> Control | None:
        """The misbehaviour for this request, if any; counts `times` down to `ok`."""
        control = self.control
        if control.mode == "ok":
            return None
        self.affected += 1
        if self._remaining is not None:
            self._remaining -= 1
            if self._remaining <= 0:
                self.control, self._remaining = Control(), None
        return control

    def _keep(self, store: deque[dict[str, Any]], item: dict[str, Any]) -> bool:
        """Append to a bounded list; True when the oldest entry had to go."""
        full = store.maxlen is not None and len(store) == store.maxlen
        store.append(item)
        return full

    def _is_duplicate(self, key: tuple[str, str, str], now: float) -> bool:
        while self._seen:
            oldest_key, at = next(iter(self._seen.items()))
            if at >= now - DEDUP_WINDOW_S and len(self._seen) <= self._max_seen:
                break
            del self._seen[oldest_key]
        if key in self._seen:
            return True
        self._seen[key] = now
        return False

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTikTok:
        """Listen on host:port (0 = ephemeral); a busy port raises OSError."""
        if self._runner is not None:
            raise RuntimeError("already started")
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        # A wildcard address is not something a client can dial; loopback reaches it.
        self.url = _host_port_url({"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host), bound_port)
        # debug: `pixelscleared fake-tiktok` and the demo each print their own start line
        logger.debug("fake TikTok listening on %s (pixels: %s)", self.url, ", ".join(self._pixels))
        return self

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTikTok:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- HTTP -----------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app[FAKE_TIKTOK] = self
        app.add_routes([
            web.post(TRACK_PATH, self._track),
            web.get("/_fake/control", self._get_control),
            web.post("/_fake/control", self._post_control),
            web.get("/_fake/events", self._get_events),
            web.delete("/_fake/events", self._delete_events),
            web.get("/_fake/requests", self._get_requests),
            web.get("/_fake/health", self._health),
            web.get("/", self._index),
        ])
        return app

    async def _track(self, request: web.Request) -> web.StreamResponse:
        now = self._clock()
        rid = _request_id(now)
        token = request.headers.get("Access-Token")
        record: dict[str, Any] = {
            "request_id": rid,
            "received_at": now,
            "pixel_id": None,
            "token_ok": token is not None and any(_same_secret(token, t) for t in self._pixels.values()),
            "mode": None,
            "http_status": 200,
            "code": None,
            "message": "",
            "event_count": 0,
            "accepted": 0,
            "deduplicated": False,
            "duplicates": 0,
            "test_event_code": None,
            "errors": [],
            "warnings": [],
        }
        control = self._take_control()
        if control is not None:
            record["mode"] = control.mode
            if control.mode == "delay":
                await asyncio.sleep(control.delay_s)
            else:
                return self._misbehave(request, control, record)
        try:
            accepted = await self._accept(request, token, now, record)
        except Rejection as r:
            record.update(code=r.code, message=r.message, http_status=r.http_status, errors=r.errors)
            self._record(record)
            return _envelope(r.code, rid, r.message, http_status=r.http_status)
        record.update(code=OK, message="OK", accepted=accepted)
        self._record(record)
        return _envelope(OK, rid)

    def _misbehave(self, request: web.Request, control: Control, record: dict[str, Any]) -> web.StreamResponse:
        rid = record["request_id"]
        match control.mode:
            case "http_500" | "http_503":
                status = 500 if control.mode == "http_500" else 503
                record.update(http_status=status, message=control.message or "")
                self._record(record)
                return web.Response(status=status, text=control.message or f"{status} upstream error (fake)\n")
            case "rate_limit":
                record.update(code=RATE_LIMITED, message=control.message or _MESSAGES[RATE_LIMITED])
                self._record(record)
                return _envelope(RATE_LIMITED, rid, control.message)
            case "code":
                assert control.code is not None
                record.update(code=control.code, message=control.message or _MESSAGES.get(control.code, "Error."))
                self._record(record)
                return _envelope(control.code, rid, control.message)
            case _:  # drop: close the connection without a byte of answer
                record.update(http_status=None, message="connection dropped")
                self._record(record)
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError  # aiohttp then writes nothing on the aborted transport

    async def _accept(self, request: web.Request, token: str | None, now: float, record: dict[str, Any]) -> int:
        """Authenticate, validate and store one track request; raises Rejection."""
        if not token:  # TikTok's SDK: 40104 for an empty token, 40105 for a wrong or revoked one
            raise Rejection(EMPTY_TOKEN, _MESSAGES[EMPTY_TOKEN])
        if not record["token_ok"]:
            raise Rejection(BAD_TOKEN, _MESSAGES[BAD_TOKEN])
        if request.content_type != "application/json":
            raise Rejection(INVALID_PARAMETER, "Content-Type must be application/json")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Rejection(INVALID_PARAMETER, f"Request body is larger than {self.max_body_bytes} bytes",
                            http_status=413) from None
        doc = parse_json(body)
        pixel_id = doc.get("event_source_id") if isinstance(doc, dict) else None
        if isinstance(pixel_id, str):
            record["pixel_id"] = pixel_id[:100]
            expected = self._pixels.get(pixel_id)
            if expected is None or not _same_secret(expected, token or ""):
                raise Rejection(NO_PERMISSION, f"No permission to operate pixel code: {show(pixel_id)}. "
                                               "You must be an admin or operator of this advertiser account.")
        if isinstance(doc, dict) and isinstance(doc.get("data"), list):
            record["event_count"] = len(doc["data"])
        if isinstance(doc, dict) and isinstance(doc.get("test_event_code"), str):
            record["test_event_code"] = doc["test_event_code"][:100]
        checked = check_request(doc, now=now, max_future_s=self.max_future_s)
        req = checked.request
        record["warnings"] = [*checked.warnings, *(w for ws in checked.event_warnings for w in ws)][:50]
        accepted = 0
        for raw, ev, warned in zip(doc["data"], req.data, checked.event_warnings, strict=True):
            if ev.event_id is not None and self._is_duplicate((req.event_source_id, ev.event, ev.event_id), now):
                record["duplicates"] += 1
                continue
            stored = {
                "pixel_id": req.event_source_id,
                "event": ev.event,
                "event_id": ev.event_id,
                "event_time": ev.event_time,
                "test_event_code": req.test_event_code,
                "partner_name": req.partner_name,
                "received_at": now,
                "request_id": record["request_id"],
                "standard": is_standard(ev.event),
                "user": raw.get("user", {}),
                "page": raw.get("page", {}),
                "properties": raw.get("properties", {}),
                "limited_data_use": raw.get("limited_data_use", False),
                "event_source": req.event_source,
                "lead": raw.get("lead"),
                "warnings": checked.warnings + warned,
            }
            if self._keep(self._events, stored):
                self.events_dropped += 1
            accepted += 1
        record["deduplicated"] = record["duplicates"] > 0
        return accepted

    def _record(self, record: dict[str, Any]) -> None:
        if self._keep(self._requests, record):
            self.requests_dropped += 1
        logger.info(
            "track request_id=%s pixel=%s code=%s http_status=%s events=%d accepted=%d duplicates=%d warnings=%d"
            " mode=%s", record["request_id"], show(record["pixel_id"] or "-"), record["code"], record["http_status"],
            record["event_count"], record["accepted"], record["duplicates"], len(record["warnings"]),
            record["mode"] or "-",
        )

    async def _get_control(self, request: web.Request) -> web.Response:
        return web.json_response(self.control_state())

    async def _post_control(self, request: web.Request) -> web.Response:
        try:
            doc = json.loads(await request.read() or b"{}")
            if not isinstance(doc, dict):
                raise ValueError("body must be a JSON object")
            state = self.set_control(**doc)
        except ValidationError as e:
            problems = [f"{error_path(err['loc'])}: {error_message(err)}" for err in e.errors(include_url=False)]
            return web.json_response({"error": "; ".join(problems)}, status=400)
        except (ValueError, TypeError, RecursionError) as e:
            return web.json_response({"error": f"invalid control request: {show(str(e), 200)}"}, status=400)
        logger.info("fake TikTok control", extra={"state": {k: v for k, v in state.items() if k != "message"}})
        return web.json_response(state)

    async def _get_events(self, request: web.Request) -> web.Response:
        filters = {k: request.query[k] for k in ("pixel_id", "event", "event_id", "test_event_code")
                   if k in request.query}
        events = [e for e in self._events if all(e.get(k) == v for k, v in filters.items())]
        return web.json_response({"events": events, "count": len(events), "dropped": self.events_dropped})

    async def _delete_events(self, request: web.Request) -> web.Response:
        self.clear()
        return web.json_response({"cleared": True})

    async def _get_requests(self, request: web.Request) -> web.Response:
        code: int | None = None
        if "code" in request.query:
            try:
                code = int(request.query["code"])
            except ValueError:
                return web.json_response({"error": "code must be an integer"}, status=400)
        pixel_id = request.query.get("pixel_id")
        requests = [
            r for r in self._requests
            if (pixel_id is None or r["pixel_id"] == pixel_id) and (code is None or r["code"] == code)
        ]
        return web.json_response({"requests": requests, "count": len(requests), "dropped": self.requests_dropped})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({
            "status": "ok",
            "pixels": len(self._pixels),
            "events": len(self._events),
            "requests": len(self._requests),
            "mode": self.control.mode,
        })

    async def _index(self, request: web.Request) -> web.Response:
        """One row per accepted event, newest first; the payload folded, warnings in plain sight."""
        rows = []
        for e in list(reversed(self._events))[:HTML_LIMIT]:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e["received_at"]))
            payload = {k: e[k] for k in ("user", "page", "properties", "limited_data_use", "lead") if e.get(k)}
            warned = "".join(f"<li>{_h(w)}</li>" for w in e.get("warnings", []))
            rows.append(
                f"<tr><td class=nowrap>{when}</td><td><code>{_h(e['pixel_id'])}</code></td>"
                f"<td>{_h(e['event'])}{'' if e['standard'] else ' <small>(custom)</small>'}</td>"
                f"<td><code>{_h(e['event_id'] or '')}</code></td><td>{_h(e['test_event_code'] or '')}</td>"
                f"<td>{'<ul class=warn>' + warned + '</ul>' if warned else ''}</td>"
                f"<td><details><summary>payload</summary><pre>{_h(json.dumps(payload, indent=2))}</pre>"
                "</details></td></tr>")
        page = (
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>"
            "<title>Fake TikTok Events API</title><link rel=icon href=data:,>"  # no /favicon.ico 404
            "<style>body{font:14px system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;width:100%}"
            "td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}"
            "th{background:#f5f5f5}code,pre{font:12px ui-monospace,monospace;overflow-wrap:anywhere}"
            "pre{white-space:pre-wrap;margin:0}.nowrap{white-space:nowrap}ul.warn{margin:0;padding-left:1rem;"
            "color:#8a5a00}</style>"
            f"<h1>Fake TikTok Events API</h1><p>{len(self._events)} accepted events "
            f"({self.events_dropped} dropped), {len(self._requests)} requests. Mode: "
            f"{_h(self.control.mode)}. Warnings mark what TikTok accepts but may not take as meant. "
            "JSON: <a href=/_fake/events>/_fake/events</a>, <a href=/_fake/requests>/_fake/requests</a>.</p>"
            "<table><tr><th>received (UTC)</th><th>pixel</th><th>event</th><th>event_id</th><th>test code</th>"
            "<th>warnings</th><th>payload</th></tr>" + "".join(rows) + "</table>"
        )
        # JSON strings may hold lone surrogates; they must not turn the page into a 500.
        return web.Response(body=page.encode("utf-8", "backslashreplace"), content_type="text/html", charset="utf-8")


def _h(value: object) -> str:
    return html.escape(str(value)[:2000])


FAKE_TIKTOK = web.AppKey("fake_tiktok", FakeTikTok)  # make_app(...)[FAKE_TIKTOK] is the app's state


def make_app(pixels: Mapping[str, str]) -> web.Application:
    """An aiohttp application for `pixels` (pixel_id → access token), for embedding or tests."""
    return FakeTikTok(pixels).app


async def start_fake_tiktok(pixels: Mapping[str, str], host: str = "127.0.0.1", port: int = 0,
                            **options: Any) -> FakeTikTok:
    """Start a stand-in listening on host:port (0 = ephemeral); `await server.close()` stops it."""
    return await FakeTikTok(pixels, **options).start(host, port)
