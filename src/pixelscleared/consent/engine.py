"""Consent engine: cookies + headers → verdict {granted | denied | unknown} + deciding signals.

Product rule (consent-signals.md, "Combining signals"): an explicit opt-out anywhere wins;
then an explicit grant; else unknown. Implied/default states count as a grant only when the
site's regime is opt-out. Everything site-specific is bound once in `__init__`; `evaluate`
only looks up the cookies it knows and never raises.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pixelscleared.consent.cmps import (
    DENIED, GRANTED, IMPLIED, UNKNOWN, Reader, SignalState, most_restrictive, readers,
)
from pixelscleared.consent.cookies import find_cookies
from pixelscleared.consent.settings import ConsentSettings

logger = logging.getLogger(__name__)

State = Literal["granted", "denied", "unknown"]
GPC_SOURCE = "gpc:Sec-GPC"


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal's reading. `source` names the cookie or header, never its value."""

    source: str
    state: SignalState

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "state": self.state}


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    sources: tuple[str, ...] = ()
    signals: tuple[Signal, ...] = field(default=(), compare=False)  # every signal read, for support

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.state, "sources": list(self.sources)}


class ConsentEngine:
    def __init__(self, settings: ConsentSettings | None = None):
        self.settings = settings or ConsentSettings()
        self._exact, self._prefix = readers(self.settings)
        self._names = frozenset(self._exact)
        self._prefixes = tuple(self._prefix)

    def evaluate(self, cookie_header: str, headers: Mapping[str, str]) -> Verdict:
        """The verdict for one request. Never raises: a broken input is an unknown verdict."""
        try:
            return combine(self.signals(cookie_header, headers), self.settings.opt_out_regime)
        except Exception:  # a bug here must not break the site's traffic
            logger.exception("consent evaluation failed; verdict unknown")
            return Verdict("unknown")

    def signals(self, cookie_header: str, headers: Mapping[str, str]) -> list[Signal]:
        """Every signal present in the request, each already resolved over duplicate cookies."""
        out: list[Signal] = []
        if self.settings.honour_gpc and str(headers.get("sec-gpc", "")).strip() == "1":
            out.append(Signal(GPC_SOURCE, DENIED))
        if not isinstance(cookie_header, str) or not cookie_header:
            return out
        found = find_cookies(cookie_header, self._names, self._prefixes)
        for name, values in found.items():
            for reader in self._exact.get(name) or self._prefix[name]:
                out.append(Signal(reader.source, most_restrictive(_read(reader.read, v) for v in values)))
        return out


def _read(read: Reader, value: str) -> SignalState:
    try:
        return read(value)
    except Exception:  # malformed, truncated, hostile: this signal is simply unknown
        return UNKNOWN


def combine(signals: list[Signal], opt_out_regime: bool = False) -> Verdict:
    """Opt-out anywhere wins; then a grant (implied ones only in an opt-out regime); else unknown."""
    denied = tuple(s.source for s in signals if s.state == DENIED)
    if denied:
        return Verdict("denied", denied, tuple(signals))
    grants = (GRANTED, IMPLIED) if opt_out_regime else (GRANTED,)
    granted = tuple(s.source for s in signals if s.state in grants)
    if granted:
        return Verdict("granted", granted, tuple(signals))
    return Verdict("unknown", (), tuple(signals))
