"""Scrub stage: strip personal data from every string that will leave (DESIGN: pipeline)."""

from pixelscleared.scrub.engine import Removed, ScrubError, Scrubber, ScrubResult

__all__ = ["Removed", "ScrubError", "ScrubResult", "Scrubber"]
