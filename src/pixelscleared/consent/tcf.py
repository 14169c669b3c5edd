"""IAB TCF v2 core segment decoder (`euconsent-v2`; also GPP section 2).

Layout from IAB's TCF v2 "Consent string and vendor list formats" spec; checked against strings
made by IAB's own encoder (`@iabtcf/core`, tests/fixtures/consent/tcf.json). Only the core
segment is read: it holds the purpose and vendor consents the proxy needs.
"""

from __future__ import annotations

import binascii

MAX_CHARS = 16_384  # 98k bits: more than any real vendor section


class TCFError(ValueError):
    """The string is not a decodable TCF v2 core segment."""


class Bits:
    """A base64url segment as one big-endian integer: field reads are shifts, not string ops.

    Base64 is exactly 6 bits per character, so padding with `A` (zero bits) to a multiple of 4
    characters lets the C decoder do the whole expansion.
    """

    __slots__ = ("length", "n")

    def __init__(self, segment: str):
        segment = segment.rstrip("=")
        if not segment or len(segment) > MAX_CHARS:
            raise TCFError("not a base64url segment")
        extra = -len(segment) % 4
        try:  # strict: any character outside the alphabet is an error, as is non-ASCII text
            data = binascii.a2b_base64(segment.replace("-", "+").replace("_", "/") + "A" * extra,
                                       strict_mode=True)
        except ValueError:
            raise TCFError("not a base64url segment") from None
        self.length = len(segment) * 6
        self.n = int.from_bytes(data) >> (extra * 6)

    def uint(self, start: int, width: int) -> int:
        """Bits [start, start+width) as an unsigned integer (bit 0 is the first)."""
        if start + width > self.length:
            raise TCFError("segment truncated")
        return (self.n >> (self.length - start - width)) & ((1 << width) - 1)

    def bit(self, i: int) -> bool:
        return self.uint(i, 1) == 1

    def string(self) -> str:
        return format(self.n, f"0{self.length}b")


def _letters(code: int) -> str:
    return chr(ord("A") + (code >> 6)) + chr(ord("A") + (code & 63))


def _ids(mask: int, width: int) -> frozenset[int]:
    """Set bits of a `width`-bit field as 1-based ids (first bit is id 1)."""
    return frozenset(width - i for i in range(width) if mask >> i & 1)


class TCCore:
    """A validated core segment. Fields are read from the bits on access: the proxy needs two
    of them per request, support tools and tests read the rest."""

    __slots__ = ("_after_vendors", "_b", "_vendor_ranges", "is_range", "max_vendor_id", "purposes_mask")

    def __init__(self, b: Bits, purposes_mask: int, max_vendor_id: int, is_range: bool,
                 ranges: tuple[tuple[int, int], ...], after_vendors: int):
        self._b = b
        self.purposes_mask = purposes_mask  # 24 bits, purpose 1 first: read on every request
        self.max_vendor_id = max_vendor_id
        self.is_range = is_range
        self._vendor_ranges = ranges
        self._after_vendors = after_vendors  # where the vendor legitimate-interest section starts

    def __repr__(self) -> str:
        return (f"TCCore(cmp_id={self.cmp_id}, vendor_list_version={self.vendor_list_version}, "
                f"purposes={sorted(self.purposes_consent)}, max_vendor_id={self.max_vendor_id})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TCCore) and (self._b.n, self._b.length) == (other._b.n, other._b.length)

    __hash__ = None  # type: ignore[assignment]

    version = property(lambda self: self._b.uint(0, 6))
    created_ds = property(lambda self: self._b.uint(6, 36), doc="deciseconds since the epoch")
    last_updated_ds = property(lambda self: self._b.uint(42, 36))
    cmp_id = property(lambda self: self._b.uint(78, 12))
    cmp_version = property(lambda self: self._b.uint(90, 12))
    consent_screen = property(lambda self: self._b.uint(102, 6))
    consent_language = property(lambda self: _letters(self._b.uint(108, 12)))
    vendor_list_version = property(lambda self: self._b.uint(120, 12))
    policy_version = property(lambda self: self._b.uint(132, 6))
    is_service_specific = property(lambda self: self._b.bit(138))
    use_non_standard_texts = property(lambda self: self._b.bit(139))
    special_feature_optins = property(lambda self: _ids(self._b.uint(140, 12), 12))
    purposes_consent = property(lambda self: _ids(self.purposes_mask, 24))
    purposes_li = property(lambda self: _ids(self._b.uint(176, 24), 24))
    purpose_one_treatment = property(lambda self: self._b.bit(200))
    publisher_cc = property(lambda self: _letters(self._b.uint(201, 12)))

    def has_purposes(self, mask: int) -> bool:
        """All purposes of a mask made by `purpose_mask` consented."""
        return self.purposes_mask & mask == mask

    def vendor_consent(self, vendor_id: int) -> bool:
        if not 1 <= vendor_id <= self.max_vendor_id:
            return False
        if self.is_range:
            return any(a <= vendor_id <= b for a, b in self._vendor_ranges)
        return self._b.bit(230 + vendor_id - 1)

    def vendor_li(self, vendor_id: int) -> bool:
        """The vendor's legitimate-interest bit (the section after the vendor consents)."""
        ids, _ = self._id_section(self._after_vendors)
        return vendor_id in ids

    def pub_restrictions(self) -> list[tuple[int, int, IdSet]]:
        """(purpose, restriction type, vendors) for each publisher restriction: type 0 means the
        publisher does not allow the purpose for those vendors, 1 requires consent, 2 requires
        legitimate interest."""
        _, pos = self._id_section(self._after_vendors)
        b = self._b
        out: list[tuple[int, int, IdSet]] = []
        count, pos = b.uint(pos, 12), pos + 12
        for _ in range(count):
            purpose, rtype, entries = b.uint(pos, 6), b.uint(pos + 6, 2), b.uint(pos + 8, 12)
            ranges, pos = _ranges(b, pos + 20, entries)
            out.append((purpose, rtype, IdSet(ranges)))
        return out

    def _id_section(self, pos: int) -> tuple[IdSet, int]:
        """A MaxVendorId + bitfield-or-ranges section at `pos`: (its ids, where the next starts)."""
        b = self._b
        max_id, is_range = b.uint(pos, 16), b.bit(pos + 16)
        pos += 17
        if not is_range:
            bits = b.uint(pos, max_id) if max_id else 0
            return IdSet(tuple((max_id - i, max_id - i) for i in range(max_id) if bits >> i & 1)), pos + max_id
        entries = b.uint(pos, 12)
        ranges, pos = _ranges(b, pos + 12, entries)
        return IdSet(ranges), pos

    def vendor_consents(self) -> frozenset[int]:
        if self.is_range:
            return frozenset(v for a, b in self._vendor_ranges for v in range(a, b + 1))
        return _ids(self._b.uint(230, self.max_vendor_id), self.max_vendor_id)


class IdSet:
    """Vendor ids as sorted inclusive ranges."""

    __slots__ = ("ranges",)

    def __init__(self, ranges: tuple[tuple[int, int], ...]):
        self.ranges = ranges

    def __contains__(self, vendor_id: object) -> bool:
        return isinstance(vendor_id, int) and any(a <= vendor_id <= b for a, b in self.ranges)


def _ranges(b: Bits, pos: int, entries: int) -> tuple[tuple[tuple[int, int], ...], int]:
    """`entries` range entries (IsARange, StartOrOnlyVendorId[, EndVendorId]) from `pos`."""
    out: list[tuple[int, int]] = []
    for _ in range(entries):
        is_a_range, start = b.bit(pos), b.uint(pos + 1, 16)
        pos += 17
        end = start
        if is_a_range:
            end = b.uint(pos, 16)
            pos += 16
        out.append((start, end))
    return tuple(out), pos


def purpose_mask(purposes: tuple[int, ...] | list[int]) -> int:
    """The 24-bit PurposesConsent mask with these purposes (1-24) set."""
    return sum(1 << (24 - p) for p in set(purposes))


def decode_core(tc_string: str) -> TCCore:
    """Decode and validate the core segment of a TC string; raise TCFError on anything malformed."""
    b = Bits(tc_string.partition(".")[0].strip())
    if b.length < 230:
        raise TCFError("core segment truncated")
    head = b.n >> (b.length - 230)  # bits [0, 230): the fixed fields, read with shifts
    version = head >> 224
    if version != 2:
        raise TCFError(f"TCF version {version}, expected 2")
    max_vendor = head >> 1 & 0xFFFF  # bits [213, 229)
    is_range = head & 1 == 1  # bit 229
    ranges: list[tuple[int, int]] = []
    pos = 230 + max_vendor
    if not is_range:
        if b.length < 230 + max_vendor:
            raise TCFError("vendor bitfield truncated")
    else:
        if b.length < 242:
            raise TCFError("vendor ranges truncated")
        pos, entries = 242, b.uint(230, 12)
        for _ in range(entries):
            if b.length < pos + 17:
                raise TCFError("vendor ranges truncated")
            is_a_range, start = b.bit(pos), b.uint(pos + 1, 16)
            pos += 17
            end = start
            if is_a_range:
                if b.length < pos + 16:
                    raise TCFError("vendor ranges truncated")
                end = b.uint(pos, 16)
                pos += 16
            if not 1 <= start <= end <= max_vendor:
                raise TCFError("vendor range out of bounds")
            ranges.append((start, end))
    return TCCore(b, head >> 54 & 0xFFFFFF, max_vendor, is_range, tuple(ranges), pos)  # purposes: [152, 176)
