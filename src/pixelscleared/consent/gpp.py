"""IAB Global Privacy Platform string (`__gpp`, OneTrust's `OTGPPConsent`).

Header and the sections the proxy acts on: usnat (7), usca (8), uspv1 (6) and tcfeuv2 (2).
Checked against strings made by IAB's `@iabgpp/cmpapi` (tests/fixtures/consent/gpp.json).
"""

from __future__ import annotations

from dataclasses import dataclass

from pixelscleared.consent.tcf import Bits, TCCore, TCFError, decode_core
from pixelscleared.consent.usp import USPError, USPString, parse_usp

TCFEUV2, USPV1, USNAT, USCA = 2, 6, 7, 8
MAX_SECTIONS = 64


class GPPError(ValueError):
    """Not a decodable GPP string (or section)."""


@dataclass(frozen=True, slots=True)
class USOptOuts:
    """The opt-out fields of a US section: 0 not applicable, 1 opted out, 2 did not opt out."""

    sale: int
    sharing: int
    targeted_advertising: int  # usca has none: 0
    gpc: bool


@dataclass(frozen=True, slots=True)
class GPPString:
    section_ids: tuple[int, ...]
    sections: dict[int, str]  # id → raw encoded section

    def usnat(self) -> USOptOuts | None:
        return _us(self.sections[USNAT], (18, 20, 22)) if USNAT in self.sections else None

    def usca(self) -> USOptOuts | None:
        return _us(self.sections[USCA], (12, 14, None)) if USCA in self.sections else None

    def uspv1(self) -> USPString | None:
        if USPV1 not in self.sections:
            return None
        try:
            return parse_usp(self.sections[USPV1])
        except USPError as e:
            raise GPPError(f"uspv1 section: {e}") from None

    def tcfeuv2(self) -> TCCore | None:
        if TCFEUV2 not in self.sections:
            return None
        try:
            return decode_core(self.sections[TCFEUV2])
        except TCFError as e:
            raise GPPError(f"tcfeuv2 section: {e}") from None


def _bits(segment: str) -> str:
    try:
        return Bits(segment).string()
    except TCFError:
        raise GPPError("not a base64url segment") from None


def _us(section: str, offsets: tuple[int, int, int | None]) -> USOptOuts:
    core, *subsections = section.split(".")
    bits = _bits(core)
    need = max(o for o in offsets if o is not None) + 2
    if len(bits) < need:
        raise GPPError("US section truncated")
    sale, sharing, targeted = (int(bits[o:o + 2], 2) if o is not None else 0 for o in offsets)
    gpc = False
    for sub in subsections[:4]:
        sb = _bits(sub)
        if len(sb) >= 3 and sb[:2] == "01":  # subsection type 1 = GPC
            gpc = sb[2] == "1"
    return USOptOuts(sale, sharing, targeted, gpc)


def _fibonacci(bits: str, pos: int) -> tuple[int, int]:
    """A Fibonacci-coded integer (least significant first, ended by `11`) → (value, next pos)."""
    end = bits.find("11", pos)
    if end < 0 or end - pos > 40:
        raise GPPError("bad Fibonacci integer")
    value, a, b = 0, 1, 2
    for bit in bits[pos:end + 1]:
        if bit == "1":
            value += a
        a, b = b, a + b
    return value, end + 2


def decode_gpp(gpp_string: str) -> GPPString:
    """Decode the header and split the sections; section fields are read on demand."""
    parts = gpp_string.strip().split("~")
    bits = _bits(parts[0])
    if len(bits) < 24:
        raise GPPError("header truncated")
    if int(bits[0:6], 2) != 3:
        raise GPPError("not a GPP header (type != 3)")
    if int(bits[6:12], 2) != 1:
        raise GPPError("unsupported GPP version")
    count, pos, offset = int(bits[12:24], 2), 24, 0
    if count > MAX_SECTIONS:
        raise GPPError("too many section entries")
    ids: list[int] = []
    for _ in range(count):
        if pos >= len(bits):
            raise GPPError("header truncated")
        is_range = bits[pos] == "1"
        start, pos = _fibonacci(bits, pos + 1)
        start += offset
        offset = end = start
        if is_range:
            delta, pos = _fibonacci(bits, pos)
            offset = end = start + delta
        if end - start > MAX_SECTIONS or len(ids) + end - start >= MAX_SECTIONS:
            raise GPPError("too many sections")
        ids.extend(range(start, end + 1))
    if len(parts) - 1 != len(ids):
        raise GPPError(f"header lists {len(ids)} sections, string has {len(parts) - 1}")
    return GPPString(tuple(ids), dict(zip(ids, parts[1:], strict=True)))
