"""The sidecar's own endpoints (`<prefix>collect`, `ttq.js`, the admin pages…) served by aiohttp
directly, beside the proxy: in route-only mode the web server sends them here.

Through the proxy every call pays mitmproxy's per-request work (about half a millisecond of CPU
on the bench VM, more than a collect call's own stages); the same answers from a plain HTTP
server leave the core to more calls. Only the endpoints are served: tracking calls and rule paths
are forwarded to the origin, which is the proxy's job. For behind the web server, on a loopback
or private address (`listen.endpoints_port`); the answers are the proxy's, from the same code.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from pixelscleared import logs
from pixelscleared.admin.endpoints import OwnEndpoints, endpoint_name
from pixelscleared.event import RequestFacts
from pixelscleared.limits import body_or_refusal
from pixelscleared.pipeline import Pipeline

logger = logging.getLogger("pixelscleared")


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, body=json.dumps({"error": message}).encode(),
                        headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


def request_facts(request: web.Request) -> RequestFacts:
    """The call as the stages see it: the facts the proxy builds from a flow."""
    return RequestFacts(
        peer_ip=request.remote or "",
        headers={k.lower(): v for k, v in request.headers.items()},
        cookie_header="; ".join(request.headers.getall("cookie", [])),
        url=str(request.url),
        scheme="http",  # the web server in front ends TLS (X-Forwarded-Proto says what the visitor used)
    )


class DirectEndpoints:
    """An aiohttp server answering `<prefix>…` with the proxy's `OwnEndpoints`; nothing else."""

    def __init__(self, endpoints: OwnEndpoints, pipeline: Pipeline, prefix: str, max_body_bytes: int):
        self.endpoints, self.pipeline, self.prefix = endpoints, pipeline, prefix
        self.max_body_bytes = max_body_bytes
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        name = endpoint_name(request.raw_path, self.prefix)
        if name is None:  # never the site's paths: those are the web server's
            return _error(404, f"only {self.prefix}… is served on this port")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.pipeline.count_drop("body_too_large")
            return _error(413, f"the body is larger than {self.max_body_bytes} bytes")
        body = body_or_refusal(raw, request.headers.get("content-encoding", ""), self.max_body_bytes)
        if not isinstance(body, bytes):
            self.pipeline.count_drop(body.reason)
            return _error(body.status, body.message)
        try:
            reply = await self.endpoints.reply(name, request.method, dict(request.query), body, request_facts(request))
        except Exception:
            self.pipeline.count_hook_error("endpoint")
            logger.exception("PixelsCleared error on an endpoint call", extra={"endpoint": name, **logs.NOT_FATAL})
            return _error(500, "internal")
        headers = {"Content-Type": reply.content_type} if reply.content_type else {}
        return web.Response(status=reply.status, body=reply.body,
                            headers=headers | {"Cache-Control": "no-store"} | reply.headers)

    async def start(self, host: str, port: int) -> int:
        """Listen (port 0: a free one); returns the port bound."""
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        # the body as sent: decoded here with the proxy's bounds (aiohttp would inflate it unbounded)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, auto_decompress=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = int(self._runner.addresses[0][1])
        logger.info("serving the sidecar's endpoints directly", extra={"host": host, "port": self.port})
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
