"""The values that flow between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the consent and identity stages may read from the visitor's request.

    Built once per flow by the addon so the stages never touch mitmproxy objects.
    """

    peer_ip: str
    headers: dict[str, str]  # lower-cased names; last value wins
    cookie_header: str = ""  # all Cookie headers joined with "; "
    url: str = ""
    scheme: str = "http"

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


@dataclass(slots=True)
class CapturedEvent:
    """One event as captured, before consent, scrubbing and shaping."""

    name: str
    event_id: str
    event_time: int  # unix seconds
    source: str  # "collect", "pixel", "rule:<name>"…
    url: str = ""
    referrer: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    ttclid: str = ""
    test_event_code: str = ""  # a per-request override, if the caller provided one
