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
