"""Local stand-in for the TikTok Events API (`POST /open_api/v1.3/event/track/`).

`schema` says what TikTok accepts, `server` answers like TikTok and misbehaves on demand,
`command` is the `pixelscleared fake-tiktok` subcommand.
"""

from __future__ import annotations

from pixelscleared.fake_tiktok.command import add_arguments, main
from pixelscleared.fake_tiktok.schema import Checked, Rejection, check_request, validate_request
from pixelscleared.fake_tiktok.server import FAKE_TIKTOK, TRACK_PATH, Control, FakeTikTok, make_app, start_fake_tiktok

__all__ = [
    "FAKE_TIKTOK",
    "TRACK_PATH",
    "Checked",
    "Control",
    "FakeTikTok",
    "Rejection",
    "add_arguments",
    "main",
    "make_app",
    "check_request",
    "start_fake_tiktok",
    "validate_request",
]
