"""Scrub stage: strip personal data from every string that will leave (DESIGN: pipeline)."""

from pixelscleared.scrub.engine import Removed, Scrubber, ScrubError, ScrubResult
from pixelscleared.scrub.settings import ScrubSettings

__all__ = ["Removed", "ScrubError", "ScrubResult", "ScrubSettings", "Scrubber"]
