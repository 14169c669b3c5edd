"""Scrubbing engine (placeholder: the full detector set lands with issue #3).

Contract used by the rest of the pipeline:
- `Scrubber(settings).scrub_value(value, path)` → ScrubResult(value, removed)
- `Scrubber(settings).scrub_url(url, path)` → ScrubResult(str, removed)
- raises ScrubError when it cannot finish; callers then drop the event (fail closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pixelscleared.scrub.settings import ScrubSettings


class ScrubError(Exception):
    """Scrubbing could not complete; the event must not be sent."""


@dataclass(frozen=True, slots=True)
class Removed:
    path: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind}


@dataclass(slots=True)
class ScrubResult:
    value: Any
    removed: list[Removed] = field(default_factory=list)


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PII_KEYS = {"email", "phone", "phone_number", "first_name", "last_name", "name", "address"}


class Scrubber:
    def __init__(self, settings: ScrubSettings | None = None):
        self.settings = settings or ScrubSettings()

    def scrub_url(self, url: str, path: str = "url") -> ScrubResult:
        out = _EMAIL.sub("[email]", url)
        return ScrubResult(out, [Removed(path, "email")] if out != url else [])

    def scrub_value(self, value: Any, path: str = "") -> ScrubResult:
        removed: list[Removed] = []
        return ScrubResult(self._walk(value, path, removed), removed)

    def _walk(self, value: Any, path: str, removed: list[Removed]) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                sub = f"{path}.{k}" if path else str(k)
                if str(k).lower() in _PII_KEYS:
                    removed.append(Removed(sub, "personal_key"))
                    continue
                out[k] = self._walk(v, sub, removed)
            return out
        if isinstance(value, list):
            return [self._walk(v, f"{path}[{i}]", removed) for i, v in enumerate(value)]
        if isinstance(value, str):
            out = _EMAIL.sub("[email]", value)
            if out != value:
                removed.append(Removed(path, "email"))
            return out
        return value
