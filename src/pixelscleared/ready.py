"""Readiness (`/_pc/ready`): can this replica do its job now? JSON, 200 or 503.

Liveness (`/_pc/health`) only says the process answers. Ready means: the origin answers (or the
site cannot be served), the outbox takes writes (or events are refused), the deliverer runs.
Each pixel's last word from TikTok is reported too, but never makes the replica unready: a
revoked token is the same on every replica, and taking them all out of rotation would take the
site down for a tracking problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp

ORIGIN_TIMEOUT_S = 2.0
ORIGIN_CACHE_S = 1.0  # probes every few seconds from several load balancers cost one request a second
# TikTok codes that mean the pixel's credentials are wrong: nothing it sends can succeed
CREDENTIAL_CODES = frozenset({40001, 40104, 40105})


@dataclass(slots=True)
class OriginCheck:
    ok: bool
    detail: str
    at: float


async def probe_origin(session: aiohttp.ClientSession, upstream: str) -> OriginCheck:
    """Any HTTP answer from the origin counts (a 404 or 500 is the site's own business)."""
    started = time.monotonic()
    try:
        async with session.get(upstream + "/", allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=ORIGIN_TIMEOUT_S)) as r:
            return OriginCheck(True, f"HTTP {r.status} in {(time.monotonic() - started) * 1000:.0f} ms", time.time())
    except TimeoutError:
        return OriginCheck(False, f"no answer within {ORIGIN_TIMEOUT_S:.0f} s", time.time())
    except aiohttp.ClientError as e:
        return OriginCheck(False, type(e).__name__, time.time())


class OriginProbe:
    """`probe_origin`, at most once per ORIGIN_CACHE_S, on one session of its own."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self._last: OriginCheck | None = None
        self._session: aiohttp.ClientSession | None = None

    async def check(self) -> OriginCheck:
        if self._last is None or time.time() - self._last.at > ORIGIN_CACHE_S:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            self._last = await probe_origin(self._session, self.upstream)
        return self._last

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def pixel_state(last: dict[str, Any] | None, check: dict[str, Any] | None) -> dict[str, Any]:
    """ok | failing | retrying | unknown, from the last send (else the token check at start)."""
    if last is not None:
        code = last.get("code")
        if last["result"] == "delivered":
            state = "ok"
        elif last["result"] == "dead" and code in CREDENTIAL_CODES:
            state = "failing"
        elif last["result"] == "dead":
            state = "ok"  # TikTok refused one event's content; the credentials work
        else:
            state = "retrying"
        return {"state": state, "code": code, "message": last.get("message", ""), "at": last["at"], "from": "send"}
    if check is not None:
        return {"state": "ok" if check["ok"] else "failing", "code": check["code"], "message": check["message"],
                "from": "validate_on_start"}
    return {"state": "unknown", "from": "nothing sent yet"}
