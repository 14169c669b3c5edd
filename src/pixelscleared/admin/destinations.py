"""The destinations view (Gateway → Destinations): each TikTok pixel as configured, its counts and
TikTok's last answer, and the Test connection action — the same check as `pixelscleared validate`.

Configuration stays in YAML: the view names the key to edit. Tokens are shown masked (the last
four characters, so an operator can tell two tokens apart), never whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pixelscleared.deliver import TikTokPixel
from pixelscleared.validate import check_all

TEST_HEADER = "x-pixelscleared-action"  # a custom header: a cross-site form or image cannot send one


def masked(token: str) -> str:
    return "•" * 8 + token[-4:] if len(token) >= 12 else "•" * 8


def describe(index: int, pixel: TikTokPixel, counts: Mapping[str, int], last: Mapping[str, Any] | None
             ) -> dict[str, Any]:
    return {
        "pixel_id": pixel.pixel_id,
        "config_key": f"destinations.tiktok[{index}]",
        "access_token": masked(pixel.access_token.get_secret_value()),
        "events": list(pixel.events),
        "hosts": list(pixel.hosts) or ["*"],
        "test_event_code": pixel.test_event_code,
        "test_event_code_hosts": list(pixel.test_event_code_hosts),
        "api_base": pixel.api_base,
        "counts": dict(counts),
        "last_answer": dict(last) if last else None,
    }


def same_origin(headers: Mapping[str, str]) -> bool:
    """The CSRF defence of the Test action: our page's own script sends the custom header, and a
    browser's Origin / Sec-Fetch-Site (when sent) must say the request came from this site."""
    if headers.get(TEST_HEADER) != "test":
        return False
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        return origin.split("://", 1)[-1].rstrip("/") == host
    return True


async def test_connection(pixels: list[TikTokPixel], timeout_s: float) -> list[dict[str, Any]]:
    return [c.as_dict() for c in await check_all(pixels, timeout_s)]
