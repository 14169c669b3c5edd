"""`pixelscleared run`: mitmproxy in reverse mode in front of the configured upstream.

A lean master carries only the addons a reverse proxy needs (mitmdump's 36 addons cost ~1.8×
throughput); `--web` runs mitmweb's UI for staging testers.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from mitmproxy import exceptions, options
from mitmproxy.addons import core, errorcheck, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master

from pixelscleared import logs
from pixelscleared.addon import PixelsCleared
from pixelscleared.config import Config, load_for_command
from pixelscleared.limits import STREAM_LARGE_BODIES_OPTION

if TYPE_CHECKING:
    from mitmproxy.tools.web.master import WebMaster

logger = logging.getLogger("pixelscleared")
WEB_PASSWORD_ENV = "PIXELSCLEARED_WEB_PASSWORD"


def proxy_options(cfg: Config, certs_file: Path | None = None) -> dict[str, object]:
    """mitmproxy option values for the sidecar's reverse-proxy listeners."""
    modes = [f"reverse:{cfg.upstream}@{cfg.listen.host}:{cfg.listen.port}"]
    opts: dict[str, object] = {
        "mode": modes,
        # the modes name their address; these defaults only inform mitmweb (its footer, its
        # browser) and other addons, which would otherwise show mitmproxy's *:8080
        "listen_host": cfg.listen.host,
        "listen_port": cfg.listen.port,
        "keep_host_header": True,  # the origin sees the visitor's Host
        "stream_large_bodies": STREAM_LARGE_BODIES_OPTION,  # bodies we do not inspect are streamed
        "connection_strategy": "lazy",
        "ssl_insecure": False,
    }
    if cfg.tls is not None and certs_file is not None:
        modes.append(f"reverse:{cfg.upstream}@{cfg.listen.host}:{cfg.tls.port}")
        opts["certs"] = [f"*={certs_file}"]
    return opts


def check_port_free(host: str, port: int) -> str | None:
    """A readable problem if host:port cannot be bound, else None."""
    if port == 0:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use"
            return f"cannot listen on {host}:{port}: {e.strerror}"
    return None


def web_token(web_url: str) -> str:
    """The access token in mitmweb's URL ('' when the operator set `web_password`)."""
    return parse_qs(urlsplit(web_url).query).get("token", [""])[0]


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


class WebAnnounce:
    """Tells the operator how to open mitmweb, once its server listens.

    mitmweb 12 wants a token that changes at every start. The URL with it is printed to the
    terminal once; in log lines the token is redacted like any other secret.
    """

    def __init__(self, master: WebMaster):
        self.master = master

    def running(self) -> None:
        url = self.master.web_url
        host = self.master.options.web_host
        exposed = "" if is_loopback(host) else f"; it listens on {host}, reachable from other machines"
        print(f"warning: mitmweb shows unscrubbed traffic (personal data before scrubbing): staging only{exposed}",
              file=sys.stderr)
        if web_token(url):
            print(f"mitmweb UI: {url}", file=sys.stderr, flush=True)
        else:
            print(f"mitmweb UI: {url} (log in with the password from {WEB_PASSWORD_ENV})", file=sys.stderr,
                  flush=True)
        logger.info("mitmweb UI", extra={"url": url})  # the token is a registered secret: redacted here


class Sidecar:
    """One sidecar: `await run()` serves until `shutdown()` (thread-safe) is called."""

    def __init__(self, cfg: Config, *, web: bool = False, web_host: str = "127.0.0.1", web_port: int = 8081,
                 web_password: str = ""):
        self.cfg = cfg
        self.web = web
        self.web_host = web_host
        self.web_port = web_port
        self._web_password = web_password
        self.addon = PixelsCleared(cfg)
        self.master: Master | None = None
        self._stop_requested = False
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        host = self.cfg.listen.host
        host = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
        return f"http://{host}:{self.cfg.listen.port}"

    def _certs_file(self) -> Path | None:
        if self.cfg.tls is None:
            return None
        self._tmp = tempfile.TemporaryDirectory(prefix="pixelscleared-tls-")
        combined = Path(self._tmp.name) / "cert.pem"
        combined.write_bytes(self.cfg.tls.cert.read_bytes() + b"\n" + self.cfg.tls.key.read_bytes())
        combined.chmod(0o600)
        return combined

    async def run(self) -> None:
        opts = options.Options()
        if self.web:
            from mitmproxy.tools.web.master import WebMaster

            web = WebMaster(opts, with_termlog=False)
            master: Master = web
            # errorcheck would stop the proxy for any error logged before startup ends, such as
            # mitmweb's own missing favicon when a browser is already open: the site matters more.
            master.addons.remove(master.addons.get("errorcheck"))
            master.addons.add(self.addon, WebAnnounce(web))
            opts.update(web_host=self.web_host, web_port=self.web_port, web_open_browser=False,
                        web_password=self._web_password)
            # before mitmweb logs its URL: the token is known from here on
            logs.register_secrets([web_token(web.web_url), self._web_password])
        else:
            master = Master(opts)
            master.addons.add(core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(),
                              tlsconfig.TlsConfig(), errorcheck.ErrorCheck(),
                              self.addon)
        opts.update(**proxy_options(self.cfg, self._certs_file()))
        # mitmproxy loads its cert store only in `running`, after the listeners are up; a request in
        # between (traffic arriving during a restart) errors in tlsconfig and errorcheck exits.
        # Load it now, before any listener exists.
        if tls := master.addons.get("tlsconfig"):
            tls.configure({"confdir"})
        self.master = master
        if self._stop_requested:
            return
        try:
            await master.run()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()

    def shutdown(self) -> None:
        self._stop_requested = True
        if self.master is not None:
            self.master.shutdown()


# --- CLI ------------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, help="YAML config file")
    p.add_argument("--web", action="store_true",
                   help="run mitmweb's UI too, for staging only: it shows unscrubbed traffic. Open the URL "
                        f"printed at start (it carries an access token), or set {WEB_PASSWORD_ENV} "
                        "(a password or an argon2 hash) for a fixed login")
    p.add_argument("--web-host", default="127.0.0.1", metavar="HOST",
                   help="address of the mitmweb UI (default: %(default)s, this machine only)")
    p.add_argument("--web-port", type=int, default=8081, metavar="PORT",
                   help="port of the mitmweb UI (default: %(default)s)")


def main(args: argparse.Namespace) -> int:
    if (cfg := load_for_command(args.config)) is None:
        return 2
    ports = [(cfg.listen.host, cfg.listen.port)] + ([(cfg.listen.host, cfg.tls.port)] if cfg.tls else [])
    if args.web:
        ports.append((args.web_host, args.web_port))
    for host, port in ports:
        if problem := check_port_free(host, port):
            print(f"error: {problem}", file=sys.stderr)
            return 1
    logs.configure(cfg.log.level, cfg.log.format)
    try:
        return asyncio.run(serve(Sidecar(cfg, web=args.web, web_host=args.web_host, web_port=args.web_port,
                                         web_password=os.environ.get(WEB_PASSWORD_ENV, ""))))
    except exceptions.OptionsError as e:  # e.g. a web password starting with $ that is no argon2 hash
        print(f"error: {str(e).replace('`web_password`', WEB_PASSWORD_ENV)}", file=sys.stderr)
        return 2


async def serve(sidecar: Sidecar) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, sidecar.shutdown)
    logger.info("sidecar listening", extra={"url": sidecar.url, "upstream": sidecar.cfg.upstream})
    await sidecar.run()
    logger.info("sidecar stopped")
    return 0
