"""Who may read the operator endpoints (`events`, `events.html`, `metrics`).

Peers in the configured networks (loopback by default) always; anyone else only with
`Authorization: Bearer <admin.token>`, compared in constant time. A request that arrives through
one of `identity.trusted_proxies` comes from somewhere behind it, not from the proxy's own
address (often loopback): the network rule does not apply, only the token does.
"""

from __future__ import annotations

import hmac
import ipaddress

from pydantic import Field, SecretStr, field_validator

from pixelscleared.model import Settings, networks


class AdminSettings(Settings):
    """The `admin:` section."""

    allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    token: SecretStr = SecretStr("")

    _networks = field_validator("allow")(networks)


class AdminAccess:
    def __init__(self, settings: AdminSettings):
        self.networks = [ipaddress.ip_network(c, strict=False) for c in settings.allow]
        self._token = settings.token.get_secret_value().encode()

    def __repr__(self) -> str:  # never the token
        return f"AdminAccess({len(self.networks)} networks, token={'set' if self._token else 'unset'})"

    def allowed(self, peer_ip: str, authorization: str, *, via_trusted_proxy: bool = False) -> bool:
        if self._token and authorization.startswith("Bearer "):
            # a header that is not UTF-8 arrives with surrogates: compare its bytes, never fail on it
            if hmac.compare_digest(authorization[7:].strip().encode("utf-8", "surrogateescape"), self._token):
                return True
        if via_trusted_proxy:
            return False
        try:
            ip = ipaddress.ip_address(peer_ip)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks)
