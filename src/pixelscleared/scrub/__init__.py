"""Scrub stage: strip personal data from every string that will leave.

`engine` walks values (JSON, URLs, forms, text) with the `detectors` and the `keys` rules;
`event` runs one captured event through it, failing closed; `settings` is the `scrub:` section.
"""

from pixelscleared.scrub.engine import Removed, Scrubber, ScrubError, ScrubResult
from pixelscleared.scrub.settings import ScrubSettings

__all__ = ["Removed", "ScrubError", "ScrubResult", "ScrubSettings", "Scrubber"]
