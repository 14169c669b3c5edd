"""The standard reverse-proxy headers the origin receives: X-Forwarded-For, -Proto and -Host.

A trusted proxy in front of the sidecar (`identity.trusted_proxies`, say a TLS-terminating load
balancer) has already said which scheme and host the visitor used: its values are kept. From
anyone else they are replaced, so a visitor cannot make the origin believe in another scheme or
host (password-reset links built from X-Forwarded-Host, redirect loops on X-Forwarded-Proto).
"""

from __future__ import annotations

from collections.abc import Mapping


def forwarded_headers(peer: str, tls: bool, host: str, prior: Mapping[str, str],
                      trusted_peer: bool) -> dict[str, str | None]:
    """Headers to set on the request to the origin; None means remove.

    `host` is the visitor's Host header when the origin sees it (keep_host_header), else "";
    `prior` holds the request's own headers with lower-cased names.
    """
    out: dict[str, str | None] = {}
    if peer:
        xff = prior.get("x-forwarded-for")
        out["X-Forwarded-For"] = f"{xff}, {peer}" if xff else peer
    proto = prior.get("x-forwarded-proto") if trusted_peer else None
    out["X-Forwarded-Proto"] = proto or ("https" if tls else "http")
    fhost = prior.get("x-forwarded-host") if trusted_peer else None
    out["X-Forwarded-Host"] = fhost or host or None
    return out
