"""The consent grace window (`consent.grace_window_s`, off by default).

A visitor's first page view usually happens before they answer the consent banner, so its
verdict is `unknown` and it goes out minimal. With a window, such events are still written to the
outbox at once (minimal, so a crash or the timeout sends what the product's rule allows), but due
only when the window ends; the event and its request facts wait here, in memory, per visitor.
When the same visitor's next request carries a decision, the events are decided again with it and
their rows amended: a grant sends them with full parameters now, a denial sends them minimal now.

The visitor is recognised without setting anything: a keyed hash of client IP, user agent and
Accept-Language, with a key made at start and never stored — two visitors behind one NAT with
the same browser share a key for at most the window.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from pixelscleared.event import CapturedEvent, RequestFacts

MAX_VISITORS = 20_000  # bounded memory: past it the oldest visitor's events keep their timeout
MAX_EVENTS_PER_VISITOR = 50


@dataclass(slots=True)
class Held:
    until: float
    events: list[tuple[CapturedEvent, RequestFacts]] = field(default_factory=list)


class GraceWindow:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._key = secrets.token_bytes(16)
        self._held: OrderedDict[bytes, Held] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._held)

    def __len__(self) -> int:
        return sum(len(h.events) for h in self._held.values())

    def visitor(self, facts: RequestFacts, client_ip: str) -> bytes:
        h = hashlib.blake2b(key=self._key, digest_size=16)
        for part in (client_ip, facts.user_agent, facts.headers.get("accept-language", "")):
            h.update(part.encode("utf-8", "surrogatepass") + b"\0")
        return h.digest()

    def hold(self, visitor: bytes, event: CapturedEvent, facts: RequestFacts, now: float | None = None) -> float:
        """Keep the event for the visitor's decision; returns when its row falls due (the timeout)."""
        now = time.time() if now is None else now
        self.expire(now)
        held = self._held.get(visitor)
        if held is None:
            if len(self._held) >= MAX_VISITORS:
                self._held.popitem(last=False)
            held = self._held[visitor] = Held(now + self.seconds)
        if len(held.events) < MAX_EVENTS_PER_VISITOR:
            held.events.append((event, facts))
        return held.until

    def take(self, visitor: bytes, now: float | None = None) -> list[tuple[CapturedEvent, RequestFacts]]:
        """The visitor's events still inside the window (and forget them)."""
        now = time.time() if now is None else now
        held = self._held.pop(visitor, None)
        return held.events if held is not None and held.until > now else []

    def expire(self, now: float) -> None:
        """Forget visitors whose window ended (their rows go out minimal on their own)."""
        while self._held:
            visitor, held = next(iter(self._held.items()))
            if held.until > now:
                break
            del self._held[visitor]
