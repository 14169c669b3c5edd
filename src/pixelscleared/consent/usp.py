"""IAB US Privacy string (`usprivacy`, and GPP section 6): version, notice, opt-out of sale, LSPA."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

USP_PLAIN = re.compile(r"1[YN\-][YN\-][YN\-]", re.IGNORECASE)


class USPError(ValueError):
    """Not a US Privacy string."""


@dataclass(frozen=True, slots=True)
class USPString:
    notice: str  # "Y" | "N" | "-"
    opt_out_sale: str
    lspa: str


def parse_usp(value: str) -> USPString:
    """Plain (`1YNN`) or JSON-wrapped (`{"uspString":"1YNN",...}`), already percent-decoded."""
    value = value.strip()
    if value.startswith("{"):
        try:
            obj = json.loads(value)
        except ValueError:
            raise USPError("not JSON") from None
        value = obj.get("uspString", "") if isinstance(obj, dict) else ""
        if not isinstance(value, str):
            raise USPError("uspString is not a string")
    if not USP_PLAIN.fullmatch(value):
        raise USPError("not a version-1 US Privacy string")
    value = value.upper()
    return USPString(value[1], value[2], value[3])
