"""IAB TCF v2 core segment decoder (`euconsent-v2`; also GPP section 2).

Layout from the TCF v2 spec (../shared/reference/consent-signals.md); checked against strings
made by IAB's own encoder (`@iabtcf/core`, tests/fixtures/consent/tcf.json). Only the core
segment is read: it holds the purpose and vendor consents the proxy needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# str.translate does the base64url → bit-string expansion in C.
_TO_BITS = {ord(c): format(i, "06b") for i, c in enumerate(_B64URL)}
_TO_BITS[ord("+")] = _TO_BITS[ord("-")]  # tolerate standard base64 from sloppy CMPs
_TO_BITS[ord("/")] = _TO_BITS[ord("_")]
_VALID = re.compile(r"[A-Za-z0-9\-_+/]+")
MAX_CHARS = 16_384  # 98k bits: more than any real vendor section


class TCFError(ValueError):
    """The string is not a decodable TCF v2 core segment."""


def b64_bits(segment: str) -> str:
    """A base64url segment as a string of '0'/'1' (6 bits per character, no padding)."""
    segment = segment.rstrip("=")
    if not segment or len(segment) > MAX_CHARS or not _VALID.fullmatch(segment):
        raise TCFError("not a base64url segment")
    return segment.translate(_TO_BITS)


def _letters(code: int) -> str:
    return chr(ord("A") + (code >> 6)) + chr(ord("A") + (code & 63))


@dataclass(frozen=True, slots=True)
class TCCore:
    version: int
    created_ds: int  # deciseconds since the epoch
    last_updated_ds: int
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str
    vendor_list_version: int
    policy_version: int
    is_service_specific: bool
    use_non_standard_texts: bool
    special_feature_optins: frozenset[int]
    purposes_consent: frozenset[int]
    purposes_li: frozenset[int]
    purpose_one_treatment: bool
    publisher_cc: str
    max_vendor_id: int
    is_range: bool
    _vendor_bits: str  # bitfield encoding: bit v-1 is vendor v
    _vendor_ranges: tuple[tuple[int, int], ...]  # range encoding: inclusive (start, end)

    def vendor_consent(self, vendor_id: int) -> bool:
        if not 1 <= vendor_id <= self.max_vendor_id:
            return False
        if self.is_range:
            return any(a <= vendor_id <= b for a, b in self._vendor_ranges)
        return self._vendor_bits[vendor_id - 1] == "1"

    def vendor_consents(self) -> frozenset[int]:
        if self.is_range:
            return frozenset(v for a, b in self._vendor_ranges for v in range(a, b + 1))
        return frozenset(i + 1 for i, bit in enumerate(self._vendor_bits) if bit == "1")


def _bitset(bits: str) -> frozenset[int]:
    return frozenset(i + 1 for i, bit in enumerate(bits) if bit == "1")


def decode_core(tc_string: str) -> TCCore:
    """Decode the core segment of a TC string; raise TCFError on anything malformed."""
    bits = b64_bits(tc_string.partition(".")[0].strip())
    if len(bits) < 230:
        raise TCFError("core segment truncated")

    def num(start: int, width: int) -> int:
        return int(bits[start:start + width], 2)

    version = num(0, 6)
    if version != 2:
        raise TCFError(f"TCF version {version}, expected 2")
    max_vendor = num(213, 16)
    is_range = bits[229] == "1"
    vendor_bits = ""
    ranges: list[tuple[int, int]] = []
    if not is_range:
        vendor_bits = bits[230:230 + max_vendor]
        if len(vendor_bits) < max_vendor:
            raise TCFError("vendor bitfield truncated")
    else:
        if len(bits) < 242:
            raise TCFError("vendor ranges truncated")
        pos, entries = 242, num(230, 12)
        for _ in range(entries):
            if len(bits) < pos + 17:
                raise TCFError("vendor ranges truncated")
            is_a_range, start = bits[pos] == "1", num(pos + 1, 16)
            pos += 17
            end = start
            if is_a_range:
                if len(bits) < pos + 16:
                    raise TCFError("vendor ranges truncated")
                end = num(pos, 16)
                pos += 16
            if not 1 <= start <= end <= max_vendor:
                raise TCFError("vendor range out of bounds")
            ranges.append((start, end))
    return TCCore(
        version=version,
        created_ds=num(6, 36),
        last_updated_ds=num(42, 36),
        cmp_id=num(78, 12),
        cmp_version=num(90, 12),
        consent_screen=num(102, 6),
        consent_language=_letters(num(108, 12)),
        vendor_list_version=num(120, 12),
        policy_version=num(132, 6),
        is_service_specific=bits[138] == "1",
        use_non_standard_texts=bits[139] == "1",
        special_feature_optins=_bitset(bits[140:152]),
        purposes_consent=_bitset(bits[152:176]),
        purposes_li=_bitset(bits[176:200]),
        purpose_one_treatment=bits[200] == "1",
        publisher_cc=_letters(num(201, 12)),
        max_vendor_id=max_vendor,
        is_range=is_range,
        _vendor_bits=vendor_bits,
        _vendor_ranges=tuple(ranges),
    )
