"""Consent engine: cookies + headers → verdict {granted | denied | unknown} + deciding signals.

Product rule: an explicit opt-out anywhere (any CMP, TCF, USP, GPP, GPC) wins;
then an explicit grant; else unknown. Implied/default states count as a grant only when the
site's regime is opt-out. Everything site-specific is bound once in `__init__`; `evaluate`
only looks up the cookies it knows and never raises.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from pixelscleared import logs
from pixelscleared.consent.cmps import (
    DENIED,
    GRANTED,
    IMPLIED,
    RANK,
    UNKNOWN,
    Reader,
    SignalState,
    most_restrictive,
    readers,
)
from pixelscleared.consent.cookies import finder
from pixelscleared.consent.hit import HIT_SOURCE
from pixelscleared.consent.hit import readers as hit_readers
from pixelscleared.consent.settings import ConsentSettings

logger = logging.getLogger(__name__)

State = Literal["granted", "denied", "unknown"]
GPC_SOURCE = "gpc:Sec-GPC"
CACHE_ENTRIES = 1024  # per reader; with CACHE_MAX_VALUE, at most ~2 MB of keys each
CACHE_MAX_VALUE = 2048


class Signal(NamedTuple):
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
        exact, prefix = readers(self.settings)
        self._find = finder(frozenset(exact), tuple(prefix))
        self._plan: dict[str, tuple[tuple[str, Reader], ...]] = {
            name: tuple((r.source, _memoized(r.read)) for r in rs) for name, rs in (exact | prefix).items()
        }
        # Per cookie name: each reading with its signals by state (made once, not per request).
        self._steps = {name: tuple((read, {st: Signal(source, st) for st in RANK}) for source, read in plan)
                       for name, plan in self._plan.items()}
        self._hit = {name: _memoized(read) for name, read in hit_readers(self.settings).items()}

    def evaluate(self, cookie_header: str, headers: Mapping[str, str]) -> Verdict:
        """The verdict for one request. Never raises: a broken input is an unknown verdict."""
        try:
            return combine(self.signals(cookie_header, headers), self.settings.opt_out_regime)
        except Exception:  # a bug here must not break the site's traffic
            logger.exception("consent evaluation failed; verdict unknown", extra=logs.ONE_FLOW)
            return Verdict("unknown")

    def with_hit(self, verdict: Verdict, params: Mapping[str, str]) -> Verdict:
        """The request's verdict with the consent a tracking call carries itself (`consent/hit.py`)."""
        if not params:
            return verdict
        found = [Signal(HIT_SOURCE.format(name), self._hit[name](value)) for name, value in params.items()
                 if name in self._hit]
        return combine([*verdict.signals, *found], self.settings.opt_out_regime)

    def signals(self, cookie_header: str, headers: Mapping[str, str]) -> list[Signal]:
        """Every signal present in the request, each already resolved over duplicate cookies."""
        out: list[Signal] = []
        if self.settings.honour_gpc and str(headers.get("sec-gpc", "")).strip() == "1":
            out.append(Signal(GPC_SOURCE, DENIED))
        if not isinstance(cookie_header, str) or not cookie_header:
            return out
        for name, values in self._find(cookie_header).items():
            for read, signal in self._steps[name]:
                out.append(signal[read(values[0]) if len(values) == 1 else most_restrictive(map(read, values))])
        return out


def _memoized(read: Reader) -> Reader:
    """Never raises, and remembers recent readings: a visitor sends the same consent cookies
    with every request, so a reading is usually a dict hit. Bounded in entries and value size."""

    def safe(value: str) -> SignalState:
        try:
            return read(value)
        except Exception:  # malformed, truncated, hostile: this signal is simply unknown
            return UNKNOWN

    cached = functools.lru_cache(maxsize=CACHE_ENTRIES)(safe)
    day = [int(time.time() // 86_400)]

    def reading(value: str) -> SignalState:
        if (today := int(time.time() // 86_400)) != day[0]:
            day[0] = today
            cached.cache_clear()  # a reading may depend on the date (a consent's age): recheck daily
        return cached(value) if len(value) <= CACHE_MAX_VALUE else safe(value)
    return reading


def combine(signals: list[Signal], opt_out_regime: bool = False) -> Verdict:
    """Opt-out anywhere wins; then a grant (implied ones only in an opt-out regime); else unknown."""
    denied: list[str] = []
    granted: list[str] = []
    for source, state in signals:
        if state == DENIED:
            denied.append(source)
        elif state == GRANTED or (opt_out_regime and state == IMPLIED):
            granted.append(source)
    if denied:
        return Verdict("denied", tuple(denied), tuple(signals))
    if granted:
        return Verdict("granted", tuple(granted), tuple(signals))
    return Verdict("unknown", (), tuple(signals))
