"""`pixelscleared routes`: route-only mode for big sites — a web server configuration in which
nginx (or Caddy) serves the site itself and sends the sidecar only what it must.

Through the sidecar a page runs at a Python proxy's speed; here pages never pass it. The web
server sends to the sidecar its own endpoints (`<prefix>`), the configured tracking paths
(`capture.ga4`, `capture.tiktok_pixel`) and the paths of capture rules; page views reach it as
access-log records over UDP (`capture.access_log`), written after each response is sent, so no
page waits for the sidecar — unlike nginx `mirror`, whose subrequest holds the connection's next
request until the sidecar answers. The output is printed, never written: review it, then install.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

from pixelscleared.capture import plain_path
from pixelscleared.capture.access_log import NGINX_HEADERS, TAG
from pixelscleared.capture.pageviews import glob_regex
from pixelscleared.config import Config, load_for_command

DEFAULT_LOG = "127.0.0.1:5140"


def _host_port(url: str, what: str) -> str:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what}: {url!r} is not an http(s) URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _quoted(text: str) -> str:
    """A token nginx reads back as `text` (its parser unescapes \\\\ and \\")."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _raw(text: str) -> str:
    """A Caddyfile token taken as written (backticks; no escapes inside)."""
    return f"`{text}`" if "`" not in text else _quoted(text)


@dataclass(frozen=True)
class SidecarPaths:
    """What the web server sends to the sidecar in route-only mode — one owner for the configs
    printed here and for the sidecar itself, which skips these paths when they come back in the
    access log (it saw those requests itself)."""

    prefix: str
    exact: tuple[str, ...]  # tracking paths, without a trailing slash (both forms are routed)
    rules: tuple[tuple[str, str], ...]  # (rule name, path regex)

    @classmethod
    def of(cls, cfg: Config) -> SidecarPaths:
        exact = sorted({p.rstrip("/") or "/" for spec in (cfg.capture.ga4, cfg.capture.tiktok_pixel) for p in spec.paths})
        return cls(cfg.prefix, tuple(exact), tuple((r.name, glob_regex(r.match.path).pattern) for r in cfg.capture.rules))

    @cached_property
    def _lookup(self) -> tuple[str, frozenset[str], tuple[re.Pattern[str], ...]]:
        return (self.prefix.lower(), frozenset(p.lower() for p in self.exact),
                tuple(re.compile(rx) for _, rx in self.rules))

    def sends(self, path_qs: str) -> bool:
        """Whether a request for this path goes to the sidecar (read as leniently as the sidecar
        reads its own routes: `//g/collect`, `/G/collect/`, `/%5Fpc/…`)."""
        prefix, exact, rules = self._lookup
        path = plain_path(path_qs)
        if path.startswith(prefix) or (path.rstrip("/") or "/") in exact:
            return True
        raw = path_qs.partition("?")[0]
        return any(rx.fullmatch(raw) for rx in rules)


def endpoints_url(cfg: Config, sidecar: str) -> str:
    """Where the web server sends `<prefix>` calls: the sidecar's direct endpoints port when
    `listen.endpoints_port` is set (same host), else the proxy itself."""
    if cfg.listen.endpoints_port is None:
        return sidecar
    parts = urlsplit(sidecar if "://" in sidecar else f"http://{sidecar}")
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    return f"http://{host}:{cfg.listen.endpoints_port}"


def log_address(cfg: Config) -> str:
    return cfg.capture.access_log.listen if cfg.capture.access_log is not None else DEFAULT_LOG


def nginx_log_format() -> str:
    """One flat JSON object per request, every value escaped by nginx (`escape=json`)."""
    fields = {"v": None, "method": "$request_method", "uri": "$request_uri", "status": "$status",
              "ct": "$sent_http_content_type", "host": "$host", "scheme": "$scheme", "ip": "$remote_addr",
              "cookie": "$http_cookie"}
    headers = {key: "$http_" + name.replace("-", "_") for key, name in NGINX_HEADERS.items()}
    parts = ['"v":1'] + [f'"{k}":"{v}"' for k, v in {**fields, **headers}.items() if v is not None]
    return "log_format pixelscleared escape=json '{" + ",".join(parts) + "}';"


def _log_lines(cfgs: list[Config]) -> list[str]:
    """One access_log per sidecar process; with several, each record goes to exactly one of them
    (nginx's `split_clients` on the request id), so a page view is counted once."""
    def target(cfg: Config) -> str:
        log = cfg.capture.access_log
        if log is not None and log.file is not None:  # written in 64 KiB blocks, at least once a second
            return f"{log.file} pixelscleared buffer=64k flush=1s"
        return f"syslog:server={log_address(cfg)},tag={TAG},nohostname pixelscleared"

    if len(cfgs) == 1:
        return [f"    access_log {target(cfgs[0])} if=$pixelscleared_page;"]
    return [f"    access_log {target(c)} if=$pixelscleared_page_{i};" for i, c in enumerate(cfgs)]


def _split_lines(cfgs: list[Config]) -> list[str]:
    if len(cfgs) == 1:
        return []
    share = 100 / len(cfgs)
    lines = ['split_clients "$request_id" $pixelscleared_process {']
    lines += [f"    {share:.2f}% {i};" for i in range(len(cfgs) - 1)] + [f"    * {len(cfgs) - 1};", "}"]
    for i in range(len(cfgs)):
        lines += [f'map "$pixelscleared_page$pixelscleared_process" $pixelscleared_page_{i} {{',
                  "    default 0;", f'    "1{i}" 1;', "}"]
    return lines


def nginx(cfgs: list[Config], site: str, sidecars: list[str], listen: str, source: str) -> str:
    cfg = cfgs[0]
    to_sidecar_paths = SidecarPaths.of(cfg)
    exact, rules = to_sidecar_paths.exact, to_sidecar_paths.rules
    to_sidecar = "proxy_pass http://pixelscleared_sidecar;"
    direct = [endpoints_url(c, url) for c, url in zip(cfgs, sidecars, strict=True)]
    to_endpoints = "proxy_pass http://pixelscleared_endpoints;" if direct != sidecars else to_sidecar
    endpoints_upstream = [
        "upstream pixelscleared_endpoints {  # the sidecars' own endpoints, served without the proxy",
        *(f"    server {_host_port(url, '--sidecar')};" for url in direct),
        "    keepalive 16;",
        "}",
    ] if direct != sidecars else []
    lines = [
        f"# PixelsCleared route-only mode for nginx, generated by `pixelscleared routes` from {source}.",
        "# nginx serves the site; the sidecar gets its own endpoints, tracking calls and rule paths, and",
        "# hears of page views from the access log (UDP, sent after each response: no page waits for it).",
        "# Goes in the http { } block (e.g. /etc/nginx/conf.d/pixelscleared.conf). Adjust `listen`, add",
        "# your TLS lines, and repeat your own access_log inside the server: a server-level access_log",
        "# replaces the inherited ones.",
        "",
        f"upstream pixelscleared_site {{ server {_host_port(site, '--site')}; keepalive 32; }}",
        "upstream pixelscleared_sidecar {  # one server per sidecar process (one core each, one outbox each)",
        *(f"    server {_host_port(url, '--sidecar')};" for url in sidecars),
        "    keepalive 16;",
        "}",
        *endpoints_upstream,
        "",
        "# successful HTML answers to GET: the candidates for a page view (the sidecar decides the rest:",
        "# navigations only, capture.pageviews include/exclude, bots)",
        'map "$request_method $status $sent_http_content_type" $pixelscleared_page {',
        "    default 0;",
        '    "~^GET 2\\d\\d text/html" 1;',
        "}",
        *_split_lines(cfgs),
        nginx_log_format(),
        "",
        "server {",
        f"    listen {listen};",
        *_log_lines(cfgs),
        "",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "",
        f"    location ^~ {cfg.prefix} {{ {to_endpoints} }}  # the sidecar's own endpoints",
    ]
    for path in exact:
        lines.append(f"    location = {path} {{ {to_sidecar} }}  # a tracking call the site already sends")
        if path != "/":
            lines.append(f"    location = {path}/ {{ {to_sidecar} }}")
    for name, regex in rules:
        lines.append(f"    location ~ {_quoted('^' + regex + '$')} {{ {to_sidecar} }}  # rule {name}")
    lines += ["    location / { proxy_pass http://pixelscleared_site; }", "}", ""]
    return "\n".join(lines)


def caddy(cfgs: list[Config], site: str, sidecars: list[str], listen: str, source: str) -> str:
    if len(cfgs) > 1:
        raise ValueError("Caddy: one sidecar process only (its log cannot be split between processes); use nginx")
    cfg, sidecar = cfgs[0], sidecars[0]
    to_sidecar = SidecarPaths.of(cfg)
    exact, rules = to_sidecar.exact, to_sidecar.rules
    direct = endpoints_url(cfg, sidecar)
    tracking = [*exact, *(p + "/" for p in exact if p != "/")]
    paths = tracking if direct != sidecar else [cfg.prefix + "*", *tracking]
    lines = [
        f"# PixelsCleared route-only mode for Caddy, generated by `pixelscleared routes` from {source}.",
        "# Caddy serves the site; the sidecar gets its own endpoints, tracking calls and rule paths, and",
        "# hears of page views from the access log (UDP). Caddy logs every request (it cannot filter",
        "# by response): the sidecar keeps only navigations. Cookie headers must be logged, since",
        "# consent is read from them: `log_credentials` below.",
        "{",
        "    servers {",
        "        log_credentials",
        "    }",
        "}",
        "",
        f"{listen} {{",
    ]
    if direct != sidecar:  # the sidecar's own endpoints, served without the proxy
        lines += [f"    @pixelscleared_endpoints path {cfg.prefix}*", "    handle @pixelscleared_endpoints {",
                  f"        reverse_proxy {_host_port(direct, '--sidecar')}", "    }"]
    if paths:
        lines.append(f"    @pixelscleared path {' '.join(paths)}")
    for i, (name, regex) in enumerate(rules):
        lines.append(f"    @pixelscleared_rule{i} path_regexp {_raw('^' + regex + '$')}  # rule {name}")
    matchers = [*(["@pixelscleared"] if paths else []), *(f"@pixelscleared_rule{i}" for i in range(len(rules)))]
    for m in matchers:
        lines += [f"    handle {m} {{", f"        reverse_proxy {_host_port(sidecar, '--sidecar')}", "    }"]
    lines += [
        "    handle {",
        f"        reverse_proxy {_host_port(site, '--site')}",
        "    }",
        "    log {",
        f"        output file {cfg.capture.access_log.file}" if cfg.capture.access_log is not None
        and cfg.capture.access_log.file is not None else f"        output net udp/{log_address(cfg)}",
        "        format json",
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)


def listen_url(cfg: Config) -> str:
    host = "127.0.0.1" if cfg.listen.host in ("0.0.0.0", "", "*") else cfg.listen.host
    return f"http://{host}:{cfg.listen.port}"


def warnings(cfgs: list[Config]) -> list[str]:
    out = []
    cfg = cfgs[0]
    if any(SidecarPaths.of(c) != SidecarPaths.of(cfg) for c in cfgs[1:]):
        out.append("the configs capture different paths: the web server sends each path to every process")
    if len({log_address(c) for c in cfgs}) < len(cfgs):
        out.append("two configs share capture.access_log.listen: give each process its own port")
    if cfg.capture.access_log is None:
        out.append(f"capture.access_log is not set: add `capture: {{access_log: {{listen: {DEFAULT_LOG}}}}}` to the "
                   "sidecar's config, or page views are not captured in route-only mode")
    log = cfg.capture.access_log
    if log is not None and log.file is None and log.cpu_share < 1:
        out.append("capture.access_log.cpu_share below 1 over UDP: a burst the sidecar rests through waits in its "
                   "memory only up to capture.access_log.backlog_mb, then its page views are lost; set "
                   "capture.access_log.file to keep them waiting")
    if not cfg.identity.trusted_proxies:
        out.append("identity.trusted_proxies is empty: add the web server's address (e.g. 127.0.0.1/32), or every "
                   "collect call's client IP is the web server's")
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, action="append",
                   help="the sidecar's YAML config; repeat it for several sidecar processes (one core and one "
                        "outbox each: each config its own listen port, outbox path and access_log port)")
    p.add_argument("--server", choices=("nginx", "caddy"), default="nginx", help="web server (default nginx)")
    p.add_argument("--site", required=True, help="where the site itself answers, e.g. http://127.0.0.1:3000")
    p.add_argument("--sidecar", action="append", default=[],
                   help="where a sidecar listens (default: each config's listen address); one per --config. "
                        "With listen.endpoints_port, /_pc/ goes to that port on the same host")
    p.add_argument("--listen", default="", help="the web server's listen address (default: 80, Caddy :80)")


def main(args: argparse.Namespace) -> int:
    cfgs = [load_for_command(path, allow_unset_env=True) for path in args.config]
    if any(c is None for c in cfgs):
        return 2
    loaded = [c for c in cfgs if c is not None]
    if args.sidecar and len(args.sidecar) != len(loaded):
        print("pixelscleared routes: give one --sidecar per --config, or none", file=sys.stderr)
        return 2
    build = nginx if args.server == "nginx" else caddy
    try:
        text = build(loaded, args.site, args.sidecar or [listen_url(c) for c in loaded],
                     args.listen or ("80" if args.server == "nginx" else ":80"), ", ".join(args.config))
    except ValueError as e:
        print(f"pixelscleared routes: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    for w in warnings(loaded):
        print(f"warning: {w}", file=sys.stderr)
    return 0
