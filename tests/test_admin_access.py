"""Who may read the operator endpoints: the network rule, the token, and the proxy in front."""

from __future__ import annotations

import pytest

from pixelscleared.admin.access import AdminAccess, AdminSettings

NO_TOKEN = AdminAccess(AdminSettings())
TOKEN = AdminAccess(AdminSettings(token="s3cret-admin-token"))


@pytest.mark.parametrize("access, peer, auth, via_proxy, allowed", [
    (NO_TOKEN, "127.0.0.1", "", False, True),
    (NO_TOKEN, "::1", "", False, True),
    (NO_TOKEN, "::ffff:127.0.0.1", "", False, True),     # IPv4-mapped loopback is loopback
    (NO_TOKEN, "203.0.113.9", "", False, False),
    (NO_TOKEN, "203.0.113.9", "Bearer ", False, False),   # no token configured: no bearer value admits
    (NO_TOKEN, "203.0.113.9", "Bearer anything", False, False),
    (TOKEN, "203.0.113.9", "Bearer s3cret-admin-token", False, True),
    (TOKEN, "203.0.113.9", "Bearer  s3cret-admin-token ", False, True),
    (TOKEN, "203.0.113.9", "bearer s3cret-admin-token", False, False),
    (TOKEN, "203.0.113.9", "Bearer s3cret-admin-toke", False, False),
    (TOKEN, "203.0.113.9", "s3cret-admin-token", False, False),
    (TOKEN, "127.0.0.1", "", True, False),                # behind a trusted proxy: the token only
    (TOKEN, "127.0.0.1", "Bearer s3cret-admin-token", True, True),
    (NO_TOKEN, "not-an-ip", "", False, False),
    (NO_TOKEN, "", "", False, False),
])
def test_allowed(access, peer, auth, via_proxy, allowed):
    assert access.allowed(peer, auth, via_trusted_proxy=via_proxy) is allowed


def test_the_token_is_not_in_the_repr():
    assert "s3cret" not in repr(TOKEN) and "token=set" in repr(TOKEN)
