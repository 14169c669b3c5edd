"""`pixelscleared check-config -c FILE`: validate and summarise, exit non-zero on any problem.

Besides errors it says what would surprise an operator later: a custom event name (TikTok takes
it, but only for reporting and audiences) and a config that sends nothing at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pixelscleared.config import Config, load_for_command
from pixelscleared.deliver import TikTokPixel
from pixelscleared.names import CURRENT_TO_LEGACY, LEGACY_TO_CURRENT

NO_PIXELS = ("warning: destinations.tiktok lists no pixels: events are captured and logged, "
             "but nothing is sent to TikTok")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, help="YAML config file")


def summary(cfg: Config) -> list[str]:
    """The lines printed after OK: where traffic goes, each pixel and its events."""
    lines = [f"  listen   {cfg.listen.host}:{cfg.listen.port} → upstream {cfg.upstream}"]
    if cfg.listen.endpoints_port is not None:
        lines.append(f"  direct   {cfg.listen.host}:{cfg.listen.endpoints_port} → {cfg.prefix}… without the proxy")
    for i, p in enumerate(cfg.destinations.tiktok):
        tec = f", test_event_code {p.test_event_code}" if p.test_event_code else ""
        lines.append(f"  pixel    {p.pixel_id} → {p.api_base} events {', '.join(p.events + p.custom_events)}{tec}")
        if names := renamed(p):
            lines.append(f"  names    {names}")
        for name in p.nonstandard_events():
            lines.append(f"  custom   destinations.tiktok[{i}].events: {name!r} is not a standard TikTok event; "
                         "it will be sent as a custom event (reporting and audiences, not optimisation)")
    return lines


def renamed(pixel: TikTokPixel) -> str:
    """How a pixel's renamed events match and are sent ("" when it lists none)."""
    pairs = [f"{n} = {LEGACY_TO_CURRENT.get(n) or CURRENT_TO_LEGACY[n]}" for n in pixel.events
             if n in LEGACY_TO_CURRENT or n in CURRENT_TO_LEGACY]
    if not pairs:
        return ""
    sent = {"as_captured": "in the spelling each call uses", "current": "as Purchase/Lead",
            "legacy": "as CompletePayment/SubmitForm"}[pixel.event_names]
    return f"{', '.join(pairs)} (either spelling is taken; sent {sent}: event_names {pixel.event_names})"


def warnings(cfg: Config) -> list[str]:
    """Valid but probably not what was meant."""
    out = [] if cfg.destinations.tiktok else [NO_PIXELS]
    if problem := outbox_problem(cfg.outbox.path):
        out.append(f"warning: outbox.path {cfg.outbox.path}: {problem}; the site will be served, but events are "
                   "refused (503) until it is writable")
    return out


def outbox_problem(path: Path) -> str:
    """Why the outbox could not be created or written at `path` ("" when it looks fine)."""
    if path.exists():
        if not path.is_file():
            return "is not a file"
        return "" if os.access(path, os.R_OK | os.W_OK) else "is not writable"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    return "" if os.access(parent, os.W_OK | os.X_OK) else f"{parent} is not writable"


def main(args: argparse.Namespace) -> int:
    if (cfg := load_for_command(args.config)) is None:
        return 2
    print(f"{args.config}: OK")
    for line in summary(cfg):
        print(line)
    for line in warnings(cfg):
        print(line, file=sys.stderr)
    return 0
