"""The values that flow between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


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

    @property
    def host(self) -> str:
        """The site the visitor asked for (Host header, port removed), lower-case."""
        host = self.headers.get("host", "") or urlsplit(self.url).netloc
        if host.startswith("["):
            return host.partition("]")[0][1:].lower()
        return host.rpartition(":")[0].lower() if host.count(":") == 1 else host.lower()


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
    # consent the call carries itself (GA4 `gcs`/`gcd`/`npa`, `us_privacy`, `gpp`): read by consent/
    consent_params: dict[str, str] = field(default_factory=dict)
