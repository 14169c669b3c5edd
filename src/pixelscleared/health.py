"""`pixelscleared health -c FILE [--ready]`: probe the running sidecar named by a config file.

For container health checks (the Dockerfile's HEALTHCHECK, docker-compose, anything that runs a
command rather than an HTTP probe): the address and the prefix come from the same config the
sidecar runs with, so the check follows `listen.port` and `prefix` instead of hard-coding them.
Exit 0 when the endpoint answers 200, 1 otherwise (the reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

from pixelscleared.config import Config, load_for_command


def probe_url(cfg: Config, ready: bool) -> str:
    """Where the sidecar answers on this machine: a wildcard listen address is reached on loopback."""
    host = cfg.listen.host
    if host in ("0.0.0.0", "", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{cfg.listen.port}{cfg.prefix}{'ready' if ready else 'health'}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, help="the sidecar's YAML config")
    p.add_argument("--ready", action="store_true",
                   help="check readiness (/_pc/ready: origin, outbox, deliverer) instead of liveness")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer (default 3)")


def main(args: argparse.Namespace) -> int:
    cfg = load_for_command(args.config, allow_unset_env=True)
    if cfg is None:
        return 2
    url = probe_url(cfg, args.ready)
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as r:  # noqa: S310 — our own loopback URL
            print(f"ok: {url} answered {r.status}")
            return 0
    except urllib.error.HTTPError as e:
        detail = ""
        try:
            detail = " " + json.dumps(json.loads(e.read())["checks"])
        except (ValueError, KeyError, TypeError):
            pass
        print(f"not ok: {url} answered {e.code}{detail}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as e:
        print(f"not ok: {url}: {getattr(e, 'reason', e)}", file=sys.stderr)
    return 1
