"""The X-Forwarded-* headers the origin receives, by whether the peer is a trusted proxy."""

from __future__ import annotations

import pytest

from pixelscleared.forwarding import forwarded_headers

SPOOFED = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example"}


@pytest.mark.parametrize("peer, tls, host, prior, trusted, expected", [
    # a visitor straight in
    ("198.51.100.1", False, "shop.example", {}, False,
     {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "shop.example"}),
    ("198.51.100.1", True, "shop.example", {}, False,
     {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example"}),
    # a visitor's own X-Forwarded-Proto/Host are not believed; its X-Forwarded-For is kept and
    # appended to, as nginx does (the origin decides which hops to trust)
    ("198.51.100.1", False, "shop.example", SPOOFED, False,
     {"X-Forwarded-For": "203.0.113.7, 198.51.100.1", "X-Forwarded-Proto": "http",
      "X-Forwarded-Host": "shop.example"}),
    # the origin sees the upstream's Host (no keep_host_header): a spoofed X-Forwarded-Host goes
    ("198.51.100.1", False, "", SPOOFED, False,
     {"X-Forwarded-For": "203.0.113.7, 198.51.100.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": None}),
    # a trusted load balancer terminated TLS: its scheme and host are kept
    ("10.0.0.5", False, "internal:8080", {"x-forwarded-for": "198.51.100.1", "x-forwarded-proto": "https",
                                          "x-forwarded-host": "shop.example"}, True,
     {"X-Forwarded-For": "198.51.100.1, 10.0.0.5", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example"}),
    # a trusted proxy that said nothing: the sidecar's own view
    ("10.0.0.5", False, "shop.example", {}, True,
     {"X-Forwarded-For": "10.0.0.5", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "shop.example"}),
    # no peer address (a unix socket, a test flow)
    ("", True, "", {}, False, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": None}),
])
def test_forwarded_headers(peer, tls, host, prior, trusted, expected):
    assert forwarded_headers(peer, tls, host, prior, trusted) == expected
