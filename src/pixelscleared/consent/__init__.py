"""Consent stage: cookies + headers → verdict {granted | denied | unknown} + sources."""

from pixelscleared.consent.engine import ConsentEngine, Signal, Verdict, combine

__all__ = ["ConsentEngine", "Signal", "Verdict", "combine"]
