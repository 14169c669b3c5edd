"""`pixelscleared fake-tiktok`: run the stand-in until Ctrl-C (the demo and staging use it)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from pixelscleared.fake_tiktok.server import start_fake_tiktok

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9300


def parse_pixel(text: str) -> tuple[str, str]:
    """`PIXEL_ID=TOKEN` → (pixel_id, token); argparse shows the ValueError's message."""
    pixel_id, sep, token = text.partition("=")
    pixel_id, token = pixel_id.strip(), token.strip()
    if not sep or not pixel_id or not token:
        raise argparse.ArgumentTypeError("expected PIXEL_ID=TOKEN")
    return pixel_id, token


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port, 0 = any free one (default {DEFAULT_PORT})")
    p.add_argument("--pixel", dest="pixels", action="append", type=parse_pixel, default=[], metavar="PIXEL_ID=TOKEN",
                   help="a pixel and the access token it accepts (repeatable)")
    p.add_argument("-c", "--config", help="take pixel/token pairs from this config's destinations.tiktok")


def pixels_from_args(args: argparse.Namespace) -> dict[str, str]:
    """Pixels from `-c` first, then `--pixel` (which wins for the same ID). Raises ConfigError."""
    pixels: dict[str, str] = {}
    if args.config:
        from pixelscleared.config import load_config

        cfg = load_config(args.config)
        pixels.update({p.pixel_id: p.access_token.get_secret_value() for p in cfg.destinations.tiktok})
    pixels.update(dict(args.pixels))
    return pixels


def main(args: argparse.Namespace) -> int:
    from pixelscleared.config import ConfigError
    from pixelscleared.logs import configure, register_secrets

    try:
        pixels = pixels_from_args(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not pixels:
        print("error: no pixels: give --pixel PIXEL_ID=TOKEN or -c config.yaml with destinations.tiktok",
              file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"error: --port {args.port} is not a TCP port (0-65535)", file=sys.stderr)
        return 2
    register_secrets(pixels.values())
    configure("info", "auto")
    try:
        return asyncio.run(_serve(pixels, args.host, args.port))
    except KeyboardInterrupt:
        return 0


async def _serve(pixels: dict[str, str], host: str, port: int) -> int:
    try:
        server = await start_fake_tiktok(pixels, host=host, port=port)
    except OSError as e:
        reason = os.strerror(e.errno).lower() if e.errno else str(e)
        print(f"error: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not on the main thread / not supported
            pass
    print(f"fake TikTok Events API on {server.url} (pixels: {', '.join(pixels)}); Ctrl-C to stop", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
    return 0
