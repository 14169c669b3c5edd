"""Consent engine (placeholder: the CMP readers land with issue #4).

Contract used by the rest of the pipeline:
- `ConsentEngine(settings).evaluate(cookie_header, headers)` → Verdict; never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pixelscleared.consent.settings import ConsentSettings

State = Literal["granted", "denied", "unknown"]


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    sources: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.state, "sources": list(self.sources)}


class ConsentEngine:
    def __init__(self, settings: ConsentSettings | None = None):
        self.settings = settings or ConsentSettings()

    def evaluate(self, cookie_header: str, headers: Mapping[str, str]) -> Verdict:
        if self.settings.honour_gpc and headers.get("sec-gpc", "").strip() == "1":
            return Verdict("denied", ("gpc",))
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "cookieyes-consent":
                if "advertisement:yes" in value:
                    return Verdict("granted", ("cookieyes",))
                if "advertisement:no" in value:
                    return Verdict("denied", ("cookieyes",))
        return Verdict("unknown", ())
