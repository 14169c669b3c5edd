"""`pixelscleared demo` (what `make run` starts): the demo shop, the sidecar in front of it and
the local TikTok stand-in, in one event loop — no TikTok account and no network needed.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelscleared.demo.shop import make_shop_app, start_shop

__all__ = ["DEMO_PIXEL_ID", "DemoPorts", "add_arguments", "demo_config", "main", "make_shop_app", "serve",
           "start_shop"]

DEMO_PIXEL_ID = "CDEMO0000000000000001"
DEMO_TOKEN = "demo-token"  # a demo value the stand-in accepts, not a secret
DEMO_EVENTS = ["PageView", "ClickButton", "SubmitForm", "CompletePayment", "Contact"]


@dataclass(frozen=True)
class DemoPorts:
    host: str
    port: int
    shop_port: int
    tiktok_port: int

    def options(self) -> list[tuple[str, int]]:
        return [("--port", self.port), ("--shop-port", self.shop_port), ("--tiktok-port", self.tiktok_port)]


def reachable(host: str) -> str:
    """The address to connect to for a listener bound to host (wildcards mean loopback here)."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def outbox_path(data_dir: Path) -> Path:
    return data_dir / "outbox.sqlite"


def clear_outbox(data_dir: Path) -> None:
    """Start each demo run with an empty events log: the TikTok stand-in starts empty too, and
    events it never saw (or old ones still queued for it) would only confuse a tester."""
    db = outbox_path(data_dir)
    for path in (db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        path.unlink(missing_ok=True)


# The no-code demo (`--no-tag`): the shop sends no tracking call at all; these read its traffic.
NO_TAG_CAPTURE: dict[str, Any] = {
    "pageviews": {"exclude": ["/consent", "/cart/**"]},
    "rules": [
        # the form redirects to its thank-you page: a 303 is the form's success
        {"name": "contact-form", "match": {"method": "POST", "path": "/contact", "status": "3xx"}, "event": "Contact"},
        {"name": "order-complete", "match": {"path": "/checkout/thank-you"}, "event": "CompletePayment",
         "event_id": {"html": "[data-order-id]", "attr": "data-order-id"},
         "properties": {"value": {"html": "[data-value]", "attr": "data-value"},
                        "currency": {"html": "[data-currency]", "attr": "data-currency", "default": "EUR"},
                        "order_id": {"html": ".order-id"}}},
    ],
}


def demo_config(ports: DemoPorts, data_dir: Path, no_tag: bool = False) -> dict[str, Any]:
    """The sidecar's config for the demo, as the dict a YAML file would give."""
    here = reachable(ports.host)
    extra = {"capture": NO_TAG_CAPTURE} if no_tag else {}
    return extra | {
        "listen": {"host": ports.host, "port": ports.port},
        "upstream": f"http://{here}:{ports.shop_port}",
        "destinations": {"tiktok": [{
            "pixel_id": DEMO_PIXEL_ID,
            "access_token": DEMO_TOKEN,
            "events": DEMO_EVENTS,
            "test_event_code": "DEMO",
            "api_base": f"http://{here}:{ports.tiktok_port}",
        }]},
        "identity": {"salt": "demo-salt", "session_cookie": "shop_session"},
        "outbox": {"path": str(outbox_path(data_dir))},
        "delivery": {"backoff_base_s": 0.5, "backoff_max_s": 10},  # the stand-in is local: retry fast
    }


def pick_another(option: str) -> str:
    """How to choose another port, for both ways a user starts the demo."""
    return f"pick another: pixelscleared demo {option} N, or make run DEMO_ARGS='{option} N'"


def port_problems(ports: DemoPorts) -> list[str]:
    """One readable line per port that cannot be used, naming the option that picks another."""
    from pixelscleared.runner import check_port_free

    problems = []
    seen: dict[int, str] = {}
    for option, port in ports.options():
        if port in seen:
            problems.append(f"{option} {port} is the same as {seen[port]} — {pick_another(option)}")
            continue
        seen[port] = option
        if problem := check_port_free(ports.host, port):
            problems.append(f"{problem} — {pick_another(option)}")
    return problems


def banner(sidecar: str, tiktok: str, shop: str) -> str:
    return "\n".join([
        "PixelsCleared demo is running.",
        f"  Open the shop (through the sidecar): {sidecar}/",
        f"  Events received by the TikTok stand-in: {tiktok}/  (JSON: {tiktok}/_fake/events)",
        f"  The sidecar's events log: {sidecar}/_pc/events  (page: {sidecar}/_pc/events.html)",
        "    It starts empty at each demo run, like the stand-in (earlier runs' events are cleared).",
        f"  The shop without the sidecar: {shop}/",
        "Ctrl-C to stop.",
    ])


async def _listening(host: str, port: int, run: asyncio.Task[None], timeout: float = 20.0) -> bool:
    """Wait until the sidecar accepts connections, so the URL printed is one that answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not run.done() and loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return not run.done()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address all three servers listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8080, help="the sidecar: the URL to open (default 8080)")
    p.add_argument("--shop-port", type=_port, default=3000, help="the demo shop, the sidecar's upstream (default 3000)")
    p.add_argument("--tiktok-port", type=_port, default=9300, help="the TikTok Events API stand-in (default 9300)")
    p.add_argument("--no-tag", action="store_true",
                   help="the no-code setup: the shop sends no tracking call; page views, the contact form and "
                        "the order's thank-you page are read from its traffic by capture rules")
    p.add_argument("--data-dir", type=Path, default=Path(".pixelscleared/demo"),
                   help="where the outbox database goes, emptied at each start (default .pixelscleared/demo)")


def main(args: argparse.Namespace) -> int:
    from pixelscleared import logs
    from pixelscleared.config import ConfigError, parse_config

    ports = DemoPorts(args.host, args.port, args.shop_port, args.tiktok_port)
    if problems := port_problems(ports):
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"error: cannot create the data directory {args.data_dir}: {e.strerror or e}", file=sys.stderr)
        return 1
    try:
        clear_outbox(args.data_dir)
    except OSError as e:
        print(f"error: cannot clear the earlier events log in {args.data_dir}: {e.strerror or e}", file=sys.stderr)
        return 1
    try:
        cfg = parse_config(demo_config(ports, args.data_dir, args.no_tag), env={})
    except ConfigError as e:  # only a bad --host can get here
        print("error: the demo configuration is invalid:", file=sys.stderr)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    logs.configure(cfg.log.level, cfg.log.format)
    return asyncio.run(serve(cfg, ports, tag=not args.no_tag))


async def serve(cfg: Any, ports: DemoPorts, tag: bool = True) -> int:
    """Run the stand-in, the shop and the sidecar until SIGINT/SIGTERM; stop all three."""
    from pixelscleared.fake_tiktok import start_fake_tiktok
    from pixelscleared.runner import Sidecar

    here = reachable(ports.host)
    started: list[Any] = []
    try:
        for option, port, start in (
                ("--tiktok-port", ports.tiktok_port,
                 lambda: start_fake_tiktok({DEMO_PIXEL_ID: DEMO_TOKEN}, host=ports.host, port=ports.tiktok_port)),
                ("--shop-port", ports.shop_port, lambda: start_shop(ports.host, ports.shop_port, tag))):
            try:
                started.append(await start())
            except OSError as e:  # lost a race for the port since the check
                print(f"error: cannot listen on {ports.host}:{port}: {e.strerror or e} — {pick_another(option)}",
                      file=sys.stderr)
                return 1
        sidecar = Sidecar(cfg)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, sidecar.shutdown)
        try:
            run = asyncio.create_task(sidecar.run())
            if await _listening(here.strip("[]"), ports.port, run):
                print(banner(sidecar.url, f"http://{here}:{ports.tiktok_port}", f"http://{here}:{ports.shop_port}"),
                      flush=True)
            # else it stopped during start-up: Ctrl-C, or mitmproxy could not listen (it says why)
            await run
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    finally:
        for server in reversed(started):
            await server.close()
    print("demo stopped", flush=True)
    return 0
