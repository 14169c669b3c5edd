"""Capture stage: is this request a tracking call? → captured events.

One module per source: `collect` (the sidecar's own endpoint), `tiktok_pixel` (a first-party
TikTok pixel beacon), `ga4` (first-party GA4 hits); `fields` holds the rules they share and
`inline` scrubs a tracking call that continues to the origin. Parsers are pure: they return
events or raise CaptureError with a reason that never echoes values.
"""

from pixelscleared.capture.collect import parse_collect
from pixelscleared.capture.fields import MAX_EVENTS_PER_CALL, CaptureError
from pixelscleared.capture.ga4 import parse_ga4_hit
from pixelscleared.capture.inline import Forwarded, scrub_forwarded
from pixelscleared.capture.tiktok_pixel import beacon_pixel_code, parse_tiktok_beacon

__all__ = ["MAX_EVENTS_PER_CALL", "CaptureError", "Forwarded", "beacon_pixel_code", "parse_collect", "parse_ga4_hit",
           "parse_tiktok_beacon", "scrub_forwarded"]
