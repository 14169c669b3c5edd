"""`pixelscleared scrub`: run the proxy's scrubbing engine on one URL, JSON body or form body.

For testers and support: prints exactly one JSON object,
`{"result": <scrubbed url string or body>, "removed": [{"path": ..., "kind": ...}, ...]}`.
With `-c FILE` the `scrub:` section of that config is used, as the proxy would.
Exit codes: 0 scrubbed, 1 the input cannot be scrubbed (the proxy would drop it),
2 usage or configuration problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, BinaryIO


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--url", metavar="URL", help="a page URL, referrer or tracking call URL")
    src.add_argument("--json", metavar="FILE", help="a JSON body: FILE or - for standard input")
    src.add_argument("--form", metavar="FILE",
                     help="an application/x-www-form-urlencoded body: FILE or - for standard input")
    p.add_argument("-c", "--config", metavar="FILE", help="use the scrub: section of this config file")


class InputError(Exception):
    """The input named on the command line cannot be read; `str()` names the option."""


def _read(option: str, name: str, stdin: BinaryIO) -> str:
    """The whole input as UTF-8 text (a UnicodeDecodeError otherwise); InputError names the option."""
    if name == "-":
        return stdin.read().decode("utf-8")
    try:
        with open(name, "rb") as f:
            return f.read().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{option}: {_not_found(name)} (give a file path, or - to read standard input)") from None
    except OSError as e:
        raise InputError(f"{option}: cannot read {name!r}: {e.strerror or e}") from None


def _not_found(name: str) -> str:
    """What was wrong, echoing the argument only when it is a path: a body typed in its place
    may hold the very personal data this command is meant to remove."""
    if name.lstrip().startswith(("{", "[", '"')) or any(c in name for c in "=&\n"):
        return "takes a file, and this looks like the body itself"
    return f"no such file {name!r}"


def main(args: argparse.Namespace) -> int:
    from pixelscleared.scrub import Scrubber, ScrubError, ScrubSettings

    settings = ScrubSettings()
    if args.config:
        from pixelscleared.config import load_for_command

        # only the scrub: section is used, so an unset access token is no obstacle
        if (cfg := load_for_command(args.config, allow_unset_env=True)) is None:  # problems already on stderr
            return 2
        settings = cfg.scrub
    scrubber = Scrubber(settings)
    try:
        if args.url is not None:
            res = scrubber.scrub_url(args.url, "url")
            result: Any = res.value
        elif args.json is not None:
            text = _read("--json", args.json, sys.stdin.buffer)
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as e:  # the message names a position, never the content
                print(f"pixelscleared scrub: not JSON: {e.msg} (line {e.lineno}, column {e.colno})", file=sys.stderr)
                return 2
            except RecursionError:
                print("pixelscleared scrub: JSON nested too deeply", file=sys.stderr)
                return 1
            res = scrubber.scrub_value(doc, "")
            result = res.value
        else:
            res = scrubber.scrub_form(_read("--form", args.form, sys.stdin.buffer).rstrip("\r\n"), "form")
            result = res.value
    except InputError as e:
        print(f"pixelscleared scrub: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"pixelscleared scrub: cannot read standard input: {e.strerror or e}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print("pixelscleared scrub: input is not UTF-8 text", file=sys.stderr)
        return 2
    except ScrubError as e:
        print(f"pixelscleared scrub: cannot scrub, the proxy would drop this event: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"result": result, "removed": [r.as_dict() for r in res.removed]}, ensure_ascii=False))
    return 0
