"""Capture stage: is this request a tracking call? → captured events.

One module per source: `collect` (the sidecar's own endpoint). Parsers are pure: they return
events or raise CaptureError with a reason that never echoes values.
"""

from pixelscleared.capture.collect import MAX_EVENTS_PER_CALL, CaptureError, parse_collect

__all__ = ["MAX_EVENTS_PER_CALL", "CaptureError", "parse_collect"]
