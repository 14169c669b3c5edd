"""Size limits on what the sidecar reads, in one place, and the policy for a body over them.

The sidecar reads a request body whole only for its own endpoints and tracking calls, because
it scrubs them inline on the event loop. The limits nest, each bounding the next stage:

  `max_body_bytes` (config, default 256 KiB)   largest tracking call read; bigger → 413
  ≤ `ANSWER_413_UP_TO` (1 MiB)                 up to here an over-limit body is read and
                                               dropped so the client gets a proper 413; beyond,
                                               or chunked (size unknown), the connection closes
  = `STREAM_LARGE_BODIES` (1 MiB)              mitmproxy streams every body above this without
                                               buffering it (site uploads, downloads); so
                                               `max_body_bytes` may not exceed it
  `MAX_CALL_BYTES` (256 KiB)                   a parser's cap on a query string or body of a
                                               beacon/hit (a query is not bounded by the above)
  `scrub.max_bytes` (default 2 MB of text)     per event, after decoding: larger fails closed

A compressed body (`Content-Encoding: gzip, deflate, br, zstd`) is decoded here, never by
mitmproxy's `get_content()`, which would expand a 289-byte brotli bomb to 300 MB on the event
loop: output stops at the same `max_body_bytes`, so memory stays bounded whatever was sent.
"""

from __future__ import annotations

import sys
import zlib
from dataclasses import dataclass
from enum import Enum

import brotli

if sys.version_info >= (3, 14):
    from compression import zstd as zstd  # (re-exported for capture/snippet.py)
else:  # mitmproxy 12 depends on the backport before 3.14
    from backports import zstd as zstd

DEFAULT_MAX_BODY_BYTES = 256 * 1024
ANSWER_413_UP_TO = 1 << 20
STREAM_LARGE_BODIES = ANSWER_413_UP_TO
STREAM_LARGE_BODIES_OPTION = "1m"  # mitmproxy's spelling of STREAM_LARGE_BODIES
MAX_CALL_BYTES = 256 * 1024


class BodyPolicy(Enum):
    READ = "read"      # within the limit: read it whole
    ANSWER_413 = "413"  # over the limit but bounded: read, drop, answer 413
    CLOSE = "close"    # huge or of unknown size: close before a byte is read


def body_policy(content_length: str | None, chunked: bool, max_body_bytes: int, streaming: bool) -> BodyPolicy:
    """What to do with the body of one of our paths, from its headers alone.

    A chunked body of unknown size could outgrow the buffer and be streamed on to the origin,
    so it is refused too (browsers send beacons with a Content-Length). `streaming`: mitmproxy
    has already decided to stream this body, so it cannot be read and dropped.
    """
    length = content_length if content_length is not None else ("" if chunked else "0")
    if length.isdigit() and int(length) <= max_body_bytes:
        return BodyPolicy.READ
    if length.isdigit() and int(length) <= ANSWER_413_UP_TO and not streaming:
        return BodyPolicy.ANSWER_413
    return BodyPolicy.CLOSE


class BodyTooLarge(ValueError):
    """The body decodes to more than the limit."""


class BodyUndecodable(ValueError):
    """The body is not what its Content-Encoding says."""


def decode_body(raw: bytes, content_encoding: str, limit: int) -> bytes:
    """The body as sent, decoded (`gzip, br` is applied right to left); at most `limit` bytes.

    Raises BodyTooLarge past the limit (having produced at most `limit + 1` bytes of output),
    BodyUndecodable for an unknown coding or corrupt data.
    """
    body = raw
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",") if c.strip()]):
        body = _decode_one(body, coding, limit)
    if len(body) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")
    return body


@dataclass(frozen=True, slots=True)
class Refusal:
    """How a call whose body cannot be read is answered, and the reason its drop is counted under."""

    status: int
    reason: str
    message: str


def body_or_refusal(raw: bytes, content_encoding: str, limit: int) -> bytes | Refusal:
    """`decode_body`, or the answer to a call that fails it: 413 past the limit, 400 when the body is
    not what its Content-Encoding says — the same through the proxy and the direct endpoints."""
    try:
        return decode_body(raw, content_encoding, limit)
    except BodyTooLarge as e:
        return Refusal(413, "body_too_large", str(e))
    except BodyUndecodable as e:
        return Refusal(400, "body_undecodable", str(e))


def _decode_one(data: bytes, coding: str, limit: int) -> bytes:
    try:
        if coding in ("identity", ""):
            return data
        if coding in ("gzip", "x-gzip"):
            return _zlib(data, zlib.MAX_WBITS | 16, limit)
        if coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some clients send it
            try:
                return _zlib(data, zlib.MAX_WBITS, limit)
            except (zlib.error, BodyUndecodable):
                return _zlib(data, -zlib.MAX_WBITS, limit)
        if coding == "br":
            b = brotli.Decompressor()
            out: bytes = b.process(data, output_buffer_limit=limit + 1)
            return _complete(out, b.is_finished(), coding, limit)
        if coding == "zstd":
            z = zstd.ZstdDecompressor()
            return _complete(z.decompress(data, max_length=limit + 1), z.eof, coding, limit)
    except (BodyTooLarge, BodyUndecodable):
        raise
    except Exception as e:  # zlib.error, brotli.error, zstd.ZstdError: corrupt or truncated
        raise BodyUndecodable(f"body is not valid {coding}") from e
    raise BodyUndecodable(f"unknown Content-Encoding {coding!r}")


def _zlib(data: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    return _complete(d.decompress(data, limit + 1), d.eof, "deflate" if wbits <= zlib.MAX_WBITS else "gzip", limit)


def _complete(out: bytes, finished: bool, coding: str, limit: int) -> bytes:
    """Past the limit is too large (the stream was not read further); short of its end is corrupt."""
    if len(out) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")
    if not finished:
        raise BodyUndecodable(f"body is not valid {coding} (truncated)")
    return out
