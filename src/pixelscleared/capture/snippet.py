"""`capture.snippet` and `<prefix>ttq.js`: TikTok's browser API served first-party, and its
`<script>` tag added to a site's HTML pages without touching anything else.

`ttq.js` implements what sites already call (`ttq.page()`, `ttq.track(name, params,
{event_id})`, TikTok's stub queue) and posts to the collect endpoint. Injection is a streaming
rewrite (`Injector`, mitmproxy's `response.stream` callable): the page is never buffered, its
compression is kept (decoded and encoded again on the fly), and the tag goes before `</head>`
(or the first `<body>`). A Content-Security-Policy is honoured, never weakened (`plan_csp`): a
policy that already lets a same-origin script run is left as it is; one that needs a nonce gets
the page's own nonce on our tag, or ours added to its script directive — unless that would change
how the site's inline scripts run, in which case nothing is injected.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Protocol

import brotli

from pixelscleared.limits import zstd
from pixelscleared.model import Settings

SCAN_LIMIT = 512 * 1024  # decoded bytes searched for `</head>`; past it the page passes unchanged
_HOLD = 16  # bytes kept back while scanning: a `</head  >` split across two chunks is still found
_PLACE = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)
_META_CSP = re.compile(rb"<meta\b[^>]*http-equiv\s*=\s*[\"']?content-security-policy[^>]*>", re.IGNORECASE)
_CONTENT_ATTR = re.compile(rb"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)


class SnippetSettings(Settings):
    """`capture.snippet`."""

    inject: bool = False  # add <script src="<prefix>ttq.js"> to HTML pages


def ttq_script(prefix: str) -> bytes:
    """The script, with this deployment's collect path."""
    text = files("pixelscleared.capture").joinpath("ttq.js").read_text("utf-8")
    return text.replace("__COLLECT__", prefix + "collect").encode()


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


# -- Content-Security-Policy -----------------------------------------------------------------

Policy = list[tuple[str, list[str]]]  # directives in order: (lower-case name, sources)


def parse_policies(header: str) -> list[Policy]:
    """One header value → its policies (a comma separates policies); the first of a repeated
    directive counts, as browsers do."""
    policies: list[Policy] = []
    for text in header.split(","):
        policy: Policy = []
        seen: set[str] = set()
        for part in text.split(";"):
            tokens = part.split()
            if tokens and (name := tokens[0].lower()) not in seen:
                seen.add(name)
                policy.append((name, tokens[1:]))
        if policy:
            policies.append(policy)
    return policies


def render_policy(policy: Policy) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in policy)


def _script_directive(policy: Policy) -> int | None:
    """Index of the directive that governs a `<script src>` element, or None (no rule on it)."""
    names = [name for name, _ in policy]
    for name in ("script-src-elem", "script-src", "default-src"):
        if name in names:
            return names.index(name)
    return None


def _host_allows(source: str, scheme: str, host: str) -> bool:
    """A host-source (`example.com`, `*.example.com`, `https://shop.example:443/js/`) that covers
    our same-origin URL."""
    s = source.lower()
    if "://" in s:
        want, _, s = s.partition("://")
        if want != scheme and not (want == "http" and scheme == "https"):
            return False
    s = s.split("/", 1)[0].rsplit(":", 1)[0] if s.count(":") <= 1 else s.split("/", 1)[0]
    if s.startswith("*."):
        return host.endswith(s[1:])
    return s == host


def _allows_same_origin(sources: list[str], scheme: str, host: str) -> bool:
    low = [s.lower() for s in sources]
    if "'strict-dynamic'" in low:  # host sources and 'self' are ignored under strict-dynamic
        return False
    for s in low:
        if s in ("'self'", "*") or s == f"{scheme}:" or (s == "http:" and scheme == "https"):
            return True
        if not s.startswith("'") and not s.endswith(":") and _host_allows(s, scheme, host):
            return True
    return False


def _nonces(sources: list[str]) -> list[str]:
    return [s[7:-1] for s in sources if s.lower().startswith("'nonce-") and s.endswith("'")]


@dataclass(slots=True)
class CspPlan:
    """How our tag may run under the page's policies."""

    ok: bool
    nonce: str = ""  # the nonce attribute our tag carries ("" = none needed)
    headers: dict[str, list[str]] = field(default_factory=dict)  # header name → new values (changed only)
    why: str = ""  # when not ok


def plan_csp(headers: dict[str, list[str]], scheme: str, host: str, fresh_nonce: str | None = None) -> CspPlan:
    """`headers`: `content-security-policy` and `-report-only` values as sent. Every policy must
    let our tag run; a Report-Only one is planned the same way so it reports nothing new."""
    need: list[tuple[str, int, int]] = []  # (header, value index, policy index) that need a nonce
    parsed = {name: [parse_policies(v) for v in values] for name, values in headers.items()}
    site_nonces: set[str] = set()
    for name, values in parsed.items():
        for vi, policies in enumerate(values):
            for pi, policy in enumerate(policies):
                di = _script_directive(policy)
                if di is None or _allows_same_origin(policy[di][1], scheme, host):
                    continue
                need.append((name, vi, pi))
                site_nonces |= {n for n in _nonces(policy[di][1])} or {""}
    if not need:
        return CspPlan(True)
    if len(site_nonces) == 1 and (only := next(iter(site_nonces))):
        return CspPlan(True, nonce=only)  # every policy that needs one already takes the page's nonce
    nonce = fresh_nonce or secrets.token_urlsafe(18)
    for name, vi, pi in need:
        policy = parsed[name][vi][pi]
        di = _script_directive(policy)
        assert di is not None
        directive, sources = policy[di]
        low = [s.lower() for s in sources]
        if not sources or low == ["'none'"]:
            return CspPlan(False, why=f"{directive} 'none': the site runs no scripts")
        has_hash_or_nonce = any(s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for s in low)
        if "'unsafe-inline'" in low and not has_hash_or_nonce:
            # a nonce would switch off 'unsafe-inline' for the site's own inline scripts
            return CspPlan(False, why=f"{directive} allows 'unsafe-inline': a nonce would change the site's scripts")
        if _nonces(sources):
            continue  # the page's nonce is there: ours is added beside it
        if directive == "default-src":  # scripts get their own copy of the fallback, plus our nonce
            policy.insert(di + 1, ("script-src", [*sources, f"'nonce-{nonce}'"]))
        else:
            policy[di] = (directive, [*sources, f"'nonce-{nonce}'"])
    for name, vi, pi in need:  # policies that had the page's nonce take ours as well
        policy = parsed[name][vi][pi]
        di = _script_directive(policy)
        assert di is not None
        if f"'nonce-{nonce}'" not in policy[di][1]:
            policy[di] = (policy[di][0], [*policy[di][1], f"'nonce-{nonce}'"])
    changed = {name: [", ".join(render_policy(p) for p in policies) for policies in values]
               for name, values in parsed.items() if any(n == name for n, _, _ in need)}
    return CspPlan(True, nonce=nonce, headers=changed)


def meta_allows(head: bytes, scheme: str, host: str, nonce: str) -> bool:
    """Whether `<meta http-equiv=content-security-policy>` policies in the page's head (which we
    do not rewrite) let our tag, with `nonce`, run."""
    for tag in _META_CSP.findall(head):
        m = _CONTENT_ATTR.search(tag)
        if m is None:
            continue
        value = (m.group(1) or m.group(2) or b"").decode("utf-8", "replace")
        for policy in parse_policies(value):
            di = _script_directive(policy)
            if di is None or _allows_same_origin(policy[di][1], scheme, host):
                continue
            if not nonce or nonce not in _nonces(policy[di][1]):
                return False
    return True


def script_tag(prefix: str, nonce: str) -> bytes:
    attr = f' nonce="{nonce}"' if nonce else ""
    return f'<script src="{prefix}ttq.js" async{attr}></script>'.encode()


# -- the streaming rewrite ---------------------------------------------------------------------

class Coder(Protocol):
    def __call__(self, data: bytes, final: bool) -> bytes: ...


def _zlib_pair(wbits: int) -> tuple[Coder, Coder]:
    d = zlib.decompressobj(wbits)
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)

    def dec(data: bytes, final: bool) -> bytes:
        return d.decompress(data) + (d.flush() if final else b"")

    def enc(data: bytes, final: bool) -> bytes:
        return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)

    return dec, enc


def _brotli_pair() -> tuple[Coder, Coder]:
    d, c = brotli.Decompressor(), brotli.Compressor(quality=5)

    def dec(data: bytes, final: bool) -> bytes:
        return bytes(d.process(data)) if data else b""

    def enc(data: bytes, final: bool) -> bytes:
        out = bytes(c.process(data)) if data else b""
        return out + bytes(c.finish() if final else c.flush())

    return dec, enc


def _zstd_pair() -> tuple[Coder, Coder]:
    d, c = zstd.ZstdDecompressor(), zstd.ZstdCompressor()

    def dec(data: bytes, final: bool) -> bytes:
        return bytes(d.decompress(data)) if data else b""

    def enc(data: bytes, final: bool) -> bytes:
        if final:
            return bytes(c.compress(data, zstd.ZstdCompressor.FLUSH_FRAME))
        return bytes(c.compress(data, zstd.ZstdCompressor.FLUSH_BLOCK))

    return dec, enc


def coders(content_encoding: str) -> tuple[Coder, Coder] | None:
    """Streaming decoder and encoder for one Content-Encoding; None when we do not rewrite it."""
    coding = content_encoding.strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in ("gzip", "x-gzip"):
        return _zlib_pair(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _zlib_pair(zlib.MAX_WBITS)
    if coding == "br":
        return _brotli_pair()
    if coding == "zstd":
        return _zstd_pair()
    raise ValueError(f"Content-Encoding {content_encoding!r} is not rewritten")


class Injector:
    """`response.stream` callable: passes the page through, adding `tag` before `</head>`.

    Decoded bytes are searched up to SCAN_LIMIT; only the last few are held back between chunks.
    `allowed(head)` gets everything before the insertion point (for a `<meta>` policy) and may
    refuse; `done(outcome)` is told "injected", "no_head", "meta_csp" or "undecodable" once.
    """

    def __init__(self, tag: bytes, content_encoding: str, allowed: Callable[[bytes], bool],
                 done: Callable[[str], None]):
        pair = coders(content_encoding)
        self._dec: Coder | None = pair[0] if pair is not None else None
        self._enc: Coder | None = pair[1] if pair is not None else None
        self.tag, self.allowed, self._done = tag, allowed, done
        self.scanning = True
        self.seen = bytearray()  # decoded bytes so far while scanning (≤ SCAN_LIMIT + a chunk)
        self.sent = 0  # how much of `seen` has gone out
        self.broken = False

    def __call__(self, chunk: bytes) -> bytes:
        final = chunk == b""
        if self.broken:
            return b""
        try:
            data = self._dec(chunk, final) if self._dec is not None else chunk
        except Exception:  # corrupt compressed data: what is left goes out as it came
            return self._give_up()
        out = self._scan(data, final) if self.scanning else data
        return self._enc(out, final) if self._enc is not None else out

    def _scan(self, data: bytes, final: bool) -> bytes:
        self.seen += data
        start = max(0, self.sent - _HOLD)
        m = _PLACE.search(self.seen, start, SCAN_LIMIT)
        if m is not None:
            self.scanning = False
            head = bytes(self.seen[: m.start()])
            if self.allowed(head):
                out = head[self.sent:] + self.tag + bytes(self.seen[m.start():])
                self._finish("injected")
            else:
                out = bytes(self.seen[self.sent:])
                self._finish("meta_csp")
            return out
        if final or len(self.seen) > SCAN_LIMIT:
            self.scanning = False
            out = bytes(self.seen[self.sent:])
            self._finish("no_head")
            return out
        keep = max(self.sent, len(self.seen) - _HOLD)
        out = bytes(self.seen[self.sent:keep])
        self.sent = keep
        return out

    def _give_up(self) -> bytes:
        """The origin's compressed data is corrupt: end our stream with what was decoded (the
        page was broken before it reached us)."""
        self.broken = True
        pending = bytes(self.seen[self.sent:]) if self.scanning else b""
        if self.scanning:
            self.scanning = False
            self._finish("undecodable")
        return self._enc(pending, True) if self._enc is not None else pending

    def _finish(self, outcome: str) -> None:
        self.seen = bytearray()
        self._done(outcome)


# Headers that describe the origin's exact bytes: wrong once the tag is in.
_BYTE_HEADERS = ("content-length", "content-md5", "digest", "repr-digest", "content-digest")


@dataclass(frozen=True, slots=True)
class HeaderChanges:
    """What the response's headers become when the tag goes in: `set` (name → values) after `drop`."""

    drop: tuple[str, ...]
    set: dict[str, list[str]]


def injected_headers(plan: CspPlan, etag: str, http_version: str) -> HeaderChanges:
    """The CSP as planned; no length or digests (the body grows while it streams); a weak ETag
    (the bytes are no longer the origin's, so no strong match); chunked on HTTP/1.1 (the length is
    not known in advance)."""
    changes = dict(plan.headers)
    if etag and not etag.startswith("W/"):
        changes["etag"] = ["W/" + etag]
    if http_version == "HTTP/1.1":
        changes["transfer-encoding"] = ["chunked"]
    return HeaderChanges(_BYTE_HEADERS, changes)


def eligible(method: str, status: int, http_version: str, request_headers: dict[str, str],
             response_headers: dict[str, str]) -> bool:
    """A whole HTML document a browser will render (lower-cased header names): GET, 2xx but not a
    range, `text/html`, a document (prefetches included: they are shown later), no `no-transform`,
    a client that takes a body without a length (not HTTP/1.0), an encoding we can rewrite."""
    if method != "GET" or not 200 <= status < 300 or status == 206 or http_version == "HTTP/1.0":
        return False
    if not response_headers.get("content-type", "").lower().startswith("text/html"):
        return False
    if request_headers.get("sec-fetch-dest", "document") != "document":
        return False
    if "no-transform" in response_headers.get("cache-control", "").lower() or "content-range" in response_headers:
        return False
    charset = response_headers.get("content-type", "").lower()
    if "utf-16" in charset or "utf-32" in charset:
        return False  # the tag is inserted as ASCII bytes
    try:
        coders(response_headers.get("content-encoding", ""))
    except ValueError:
        return False
    return True
