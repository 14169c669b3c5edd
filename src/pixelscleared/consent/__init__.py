"""Consent stage: cookies + headers → verdict {granted | denied | unknown} + sources."""

from pixelscleared.consent.engine import ConsentEngine, Verdict

__all__ = ["ConsentEngine", "Verdict"]
