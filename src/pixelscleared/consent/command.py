"""`pixelscleared consent`: what the proxy would decide for these cookies and headers.

For testers and support: the same engine and `consent:` config as the proxy. Prints one JSON
object — the verdict, the deciding signals, and every signal read (names, never values).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cookie", action="append", default=[], metavar="'NAME=VALUE; NAME2=VALUE2'",
                   help="a Cookie header value (repeatable; joined with '; ')")
    p.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                   help="a request header, e.g. 'Sec-GPC: 1' (repeatable)")
    p.add_argument("-c", "--config", metavar="FILE", help="config file whose `consent:` section to use")


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ValueError(f"--header {text!r}: expected 'Name: value'")
    return name.strip().lower(), value.strip()


def main(args: argparse.Namespace) -> int:
    from pixelscleared.config import load_for_command
    from pixelscleared.consent import ConsentEngine
    from pixelscleared.consent.settings import ConsentSettings

    settings = ConsentSettings()
    if args.config:
        # only the consent: section is used, so an unset access token is no obstacle
        if (cfg := load_for_command(args.config, allow_unset_env=True)) is None:
            return 2
        settings = cfg.consent
    headers: dict[str, str] = {}
    for h in args.header:
        try:
            name, value = parse_header(h)
        except ValueError as e:
            print(e, file=sys.stderr)
            return 2
        headers[name] = value
    cookie = "; ".join([c for c in args.cookie if c] + ([headers.pop("cookie")] if "cookie" in headers else []))
    verdict = ConsentEngine(settings).evaluate(cookie, headers)
    out = verdict.as_dict() | {"signals": [s.as_dict() for s in verdict.signals],
                               "opt_out_regime": settings.opt_out_regime}
    print(json.dumps(out, indent=2))
    return 0
