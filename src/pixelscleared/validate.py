"""`pixelscleared validate`: does each pixel's id and token work? A green ✔ or a red ✘ per pixel.

Local checks first (the config loader already refuses a pasted newline, quotes or a space in a
token, naming the key), then one real request per pixel to TikTok's `event/track/`. With the
pixel's `test_event_code` the event goes to Events Manager → Test Events and no live data is
written; without one a single custom event named `PixelsClearedCheck` is recorded (custom
events feed no optimisation). The same check runs at start with `delivery.validate_on_start`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from pixelscleared.deliver import TikTokPixel, build_request, post_track

CHECK_EVENT = "PixelsClearedCheck"  # a custom name: nothing optimises for it
TEST_EVENT = "Pageview"
TIMEOUT_S = 15.0
PIXEL_CODE = re.compile(r"C[A-Z0-9]{19}")

# TikTok's code → what the operator should do about it.
ADVICE = {
    40001: "this token may not send events to this pixel: generate the token in Events Manager for this pixel "
           "(Data sources → the pixel → Settings → Generate access token), or use the pixel the token belongs to",
    40002: "TikTok refused the request body itself; the message names the field (please report it to PixelsCleared)",
    40100: "TikTok is rate-limiting this token; the credentials may be fine, try again in a minute",
    40104: "the access token is empty: set it (for example TIKTOK_ACCESS_TOKEN in the environment)",
    40105: "the access token is wrong or was revoked: generate a new one in Events Manager "
           "(the pixel → Settings → Generate access token) and update the secret",
}


@dataclass(frozen=True, slots=True)
class Check:
    """One pixel's answer: `ok`, TikTok's code and message (when it answered), and what to do."""

    pixel_id: str
    ok: bool
    code: int | None
    message: str
    advice: str
    test_event_code: str = ""
    notes: tuple[str, ...] = ()  # unusual but not wrong: the remote answer decides

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes": list(self.notes)}


def notes(pixel: TikTokPixel) -> tuple[str, ...]:
    """Shapes that are not necessarily wrong but often are (TikTok's answer decides)."""
    if PIXEL_CODE.fullmatch(pixel.pixel_id):
        return ()
    return (f"pixel_id {pixel.pixel_id!r} does not look like a TikTok pixel code "
            "(20 upper-case letters and digits starting with C, e.g. CKABCDEFGH1234567890)",)


def check_request(pixel: TikTokPixel, now: float) -> dict[str, Any]:
    """The one event sent: a test Pageview under the test code, else a custom check event."""
    code = pixel.test_event_code
    event = {"event": TEST_EVENT if code else CHECK_EVENT, "event_time": int(now),
             "event_id": f"pixelscleared-check-{uuid.uuid4()}", "limited_data_use": True}
    return build_request(pixel, [event], code)


async def check_pixel(session: aiohttp.ClientSession, pixel: TikTokPixel, now: float | None = None) -> Check:
    outcome = await post_track(session, pixel, check_request(pixel, time.time() if now is None else now))
    answer = outcome.response
    code = answer.get("code")
    if outcome.result == "delivered":
        return Check(pixel.pixel_id, True, code, str(answer.get("message", "OK")), "", pixel.test_event_code,
                     notes(pixel))
    if code is None:
        status = answer.get("http_status")
        what = f"HTTP {status}" if status else str(answer.get("error", "no answer"))
        return Check(pixel.pixel_id, False, None, f"no TikTok answer ({what}) from {pixel.api_base}",
                     "check the network path to TikTok (proxy, firewall, DNS) and api_base, then try again",
                     pixel.test_event_code, notes(pixel))
    return Check(pixel.pixel_id, False, code, str(answer.get("message", "")), ADVICE.get(
        code, "see TikTok's Events API error codes"), pixel.test_event_code, notes(pixel))


async def check_all(pixels: list[TikTokPixel], timeout_s: float = TIMEOUT_S,
                    progress: Callable[[int, int], None] | None = None) -> list[Check]:
    """Every pixel at once (one request each); `progress(done, total)` after each answer."""
    done = 0

    async def one(session: aiohttp.ClientSession, pixel: TikTokPixel) -> Check:
        nonlocal done
        check = await check_pixel(session, pixel)
        done += 1
        if progress is not None:
            progress(done, len(pixels))
        return check

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        return list(await asyncio.gather(*(one(session, p) for p in pixels)))


def terminal_progress(done: int, total: int) -> None:
    """`checked 3/12 pixels` on one line of stderr, rewritten in place; cleared at the end."""
    end = "\r\033[K" if done == total else ""
    print(f"\rchecked {done}/{total} pixels{end}", end="", file=sys.stderr, flush=True)


def wants_color(stream: Any) -> bool:
    """Colours only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR")


# --- command ---------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, metavar="FILE", help="config file with destinations.tiktok")
    p.add_argument("--pixel", metavar="ID", action="append", default=[],
                   help="only this pixel (repeatable; default: every configured pixel)")
    p.add_argument("--json", action="store_true", help="one JSON object per pixel, for scripts")


def main(args: argparse.Namespace) -> int:
    from pixelscleared.config import load_for_command

    if (cfg := load_for_command(args.config)) is None:
        return 2  # the loader named each key and its problem (a newline in a token, say)
    pixels = [p for p in cfg.destinations.tiktok if not args.pixel or p.pixel_id in args.pixel]
    if unknown := sorted(set(args.pixel) - {p.pixel_id for p in cfg.destinations.tiktok}):
        print(f"error: no pixel {', '.join(unknown)} in {args.config}", file=sys.stderr)
        return 2
    if not pixels:
        print(f"error: {args.config} lists no pixels under destinations.tiktok", file=sys.stderr)
        return 2
    progress = terminal_progress if len(pixels) > 1 and sys.stderr.isatty() else None
    checks = asyncio.run(check_all(pixels, cfg.delivery.timeout_s, progress))
    for check in checks:
        print(json.dumps(check.as_dict()) if args.json else render(check, color=wants_color(sys.stdout)))
    return 0 if all(c.ok for c in checks) else 1


def render(check: Check, color: bool = False) -> str:
    green, red, dim, off = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if color else ("", "", "", "")
    test = f" (test events: {check.test_event_code})" if check.test_event_code else " (live: one custom event)"
    if check.ok:
        lines = [f"{green}✔{off} {check.pixel_id}: TikTok accepted the token{test}"]
    else:
        answer = f"code {check.code}: {check.message}" if check.code is not None else check.message
        lines = [f"{red}✘{off} {check.pixel_id}: {answer}", f"  → {check.advice}"]
    lines += [f"  {dim}note: {n}{off}" for n in check.notes]
    return "\n".join(lines)
