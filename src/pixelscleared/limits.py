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
"""

from __future__ import annotations

from enum import Enum

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
