"""`pixelscleared` command: one subcommand per user task, each living beside the stage it drives."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

DESCRIPTION = ("PixelsCleared: a sidecar reverse proxy that scrubs personal data out of a site's "
               "first-party tracking calls, checks consent, and mirrors the events to the TikTok Events API.")

# subcommand → (module exposing add_arguments(parser) and main(args) -> int, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("pixelscleared.runner", "run the sidecar in front of the configured upstream"),
    "demo": ("pixelscleared.demo", "start the demo: shop + sidecar + local TikTok stand-in"),
    "fake-tiktok": ("pixelscleared.fake_tiktok", "run the local TikTok Events API stand-in"),
    "check-config": ("pixelscleared.check_config", "validate a config file and exit"),
    "validate": ("pixelscleared.validate", "check each pixel's id and access token with TikTok: ✔ or ✘ per pixel"),
    "events": ("pixelscleared.eventslog", "show the events log (each event's fate)"),
    "routes": ("pixelscleared.routes", "print an nginx or Caddy config for route-only mode (big sites)"),
    "health": ("pixelscleared.health", "probe the running sidecar of a config (exit 0 healthy, 1 not): for HEALTHCHECK"),
    "scrub": ("pixelscleared.scrub.command", "scrub a URL, JSON or form body and show what was removed"),
    "consent": ("pixelscleared.consent.command", "evaluate consent from cookies and headers"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """Only the chosen subcommand's module is imported: a slow or broken module never
    affects the other commands, and `pixelscleared consent` does not load mitmproxy."""
    from pixelscleared import __version__

    parser = argparse.ArgumentParser(prog="pixelscleared", description=DESCRIPTION,
                                     epilog="Run 'pixelscleared COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"pixelscleared {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_main=mod.main)
    return parser


# Exit status after the reader of stdout went away (`pixelscleared events | head`): 128 + SIGPIPE,
# what a shell reports for a command a closed pipe stopped.
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser(argv).parse_args(argv)
        code = int(args._main(args) or 0)
        sys.stdout.flush()  # a closed pipe surfaces here, not in the interpreter's exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _quiet_after_broken_pipe()


def _quiet_after_broken_pipe() -> int:
    """Nobody reads stdout any more: point it at devnull so the final flush at exit is silent too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
