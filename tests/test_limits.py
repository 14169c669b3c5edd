"""Size limits: what happens to the body of one of our paths, decided from its headers alone."""

from __future__ import annotations

import pytest

from pixelscleared.config import ConfigError, parse_config
from pixelscleared.limits import ANSWER_413_UP_TO, DEFAULT_MAX_BODY_BYTES, STREAM_LARGE_BODIES, BodyPolicy, body_policy

READ, ANSWER_413, CLOSE = BodyPolicy.READ, BodyPolicy.ANSWER_413, BodyPolicy.CLOSE


@pytest.mark.parametrize("content_length, chunked, streaming, policy", [
    ("100", False, False, READ),
    (None, False, False, READ),                               # no body at all
    (str(DEFAULT_MAX_BODY_BYTES), False, False, READ),        # the limit itself is allowed
    (str(DEFAULT_MAX_BODY_BYTES + 1), False, False, ANSWER_413),
    (str(ANSWER_413_UP_TO), False, False, ANSWER_413),
    (str(ANSWER_413_UP_TO + 1), False, False, CLOSE),         # would be streamed to the origin
    (str(300_000), False, True, CLOSE),                       # mitmproxy already streams it
    (None, True, False, CLOSE),                               # chunked: size unknown
    ("100", True, False, READ),                               # a length wins over transfer-encoding
    ("12x", False, False, CLOSE),
    ("-1", False, False, CLOSE),
    (str(10**9), False, False, CLOSE),
])
def test_body_policy(content_length, chunked, streaming, policy):
    assert body_policy(content_length, chunked, DEFAULT_MAX_BODY_BYTES, streaming) is policy


def test_max_body_bytes_cannot_exceed_what_mitmproxy_buffers():
    """A bigger limit would let mitmproxy stream a tracking call on unscrubbed instead of reading it."""
    assert parse_config({"upstream": "http://x:1", "max_body_bytes": STREAM_LARGE_BODIES}, env={})
    with pytest.raises(ConfigError) as e:
        parse_config({"upstream": "http://x:1", "max_body_bytes": STREAM_LARGE_BODIES + 1}, env={})
    assert e.value.problems == [f"max_body_bytes: Input should be less than or equal to {STREAM_LARGE_BODIES}"]


# --- compressed bodies: decoded here, with a bound --------------------------------------------

import gzip as _gzip  # noqa: E402
import tracemalloc  # noqa: E402
import zlib  # noqa: E402

import brotli  # noqa: E402

from pixelscleared.limits import BodyTooLarge, BodyUndecodable, Refusal, body_or_refusal, decode_body, zstd  # noqa: E402

BODY = b'{"event": "PageView", "event_id": "z1"}'


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize("encoding, encode", [
    ("", lambda b: b),
    ("identity", lambda b: b),
    ("gzip", _gzip.compress),
    ("x-gzip", _gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", raw_deflate),                       # raw deflate, as some clients send it
    ("br", brotli.compress),
    ("zstd", lambda b: zstd.compress(b)),
    ("GZIP", _gzip.compress),
    ("gzip, br", lambda b: brotli.compress(_gzip.compress(b))),  # applied in order, decoded in reverse
])
def test_decode_body(encoding, encode):
    assert decode_body(encode(BODY), encoding, DEFAULT_MAX_BODY_BYTES) == BODY


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", lambda b: _gzip.compress(b, 9)),
    ("deflate", lambda b: zlib.compress(b, 9)),
    ("br", lambda b: brotli.compress(b, quality=5)),
    ("zstd", lambda b: zstd.compress(b)),
])
def test_a_compression_bomb_stops_at_the_limit_with_bounded_memory(encoding, encode):
    bomb = encode(b"\0" * 64_000_000)  # a few KB on the wire
    assert len(bomb) < 300_000
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            decode_body(bomb, encoding, DEFAULT_MAX_BODY_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * DEFAULT_MAX_BODY_BYTES  # never the 64 MB it would expand to


@pytest.mark.parametrize("raw, encoding, error", [
    (b"not gzip", "gzip", "body is not valid gzip"),
    (_gzip.compress(BODY)[:-10], "gzip", "body is not valid gzip"),  # truncated
    (brotli.compress(BODY)[:-3], "br", "body is not valid br"),
    (b"\x00\x01", "br", "body is not valid br"),
    (b"nope", "zstd", "body is not valid zstd"),
    (BODY, "compress", "unknown Content-Encoding 'compress'"),
])
def test_a_body_that_is_not_what_its_encoding_says(raw, encoding, error):
    with pytest.raises(BodyUndecodable, match=error):
        decode_body(raw, encoding, DEFAULT_MAX_BODY_BYTES)


@pytest.mark.parametrize(("raw", "coding", "expected"), [
    (b'{"a":1}', "", b'{"a":1}'),
    (_gzip.compress(b'{"a":1}'), "gzip", b'{"a":1}'),
    (b"x" * 2000, "", Refusal(413, "body_too_large", "body over 1024 bytes")),
    (b"not gzip", "gzip", Refusal(400, "body_undecodable", "body is not valid gzip")),
    (b"{}", "compress", Refusal(400, "body_undecodable", "unknown Content-Encoding 'compress'")),
])
def test_a_body_or_how_the_call_is_refused(raw: bytes, coding: str, expected: bytes | Refusal) -> None:
    assert body_or_refusal(raw, coding, 1024) == expected
