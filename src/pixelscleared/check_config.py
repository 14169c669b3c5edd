"""`pixelscleared check-config -c FILE`: validate and summarise, exit non-zero on any problem."""

from __future__ import annotations

import argparse

from pixelscleared.config import load_for_command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, help="YAML config file")


def main(args: argparse.Namespace) -> int:
    if (cfg := load_for_command(args.config)) is None:
        return 2
    print(f"{args.config}: OK")
    print(f"  listen   {cfg.listen.host}:{cfg.listen.port} → upstream {cfg.upstream}")
    for p in cfg.destinations.tiktok:
        tec = f", test_event_code {p.test_event_code}" if p.test_event_code else ""
        print(f"  pixel    {p.pixel_id} → {p.api_base} events {', '.join(p.events)}{tec}")
    return 0
