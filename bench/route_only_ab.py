"""Route-only nginx side by side with plain nginx, and nothing else: a quicker look than `make bench`
at the one ratio that moves most with the host's load.

    .venv/bin/python bench/route_only_ab.py            # BENCH_ROUNDS=5 for more rounds
    .venv/bin/python bench/route_only_ab.py 0.5 0.2    # and log-file sidecars at these cpu_share values

Same machinery and pinning as bench/run.py: plain nginx, route-only nginx with a live sidecar over
UDP, and with the log file; `wrk` navigations in alternating order, each run once the proxies' CPU
is idle; medians of per-round ratios.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import run as B  # bench/run.py


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pixelscleared-route-ab-"))
    b = B.Bench(tmp)
    try:
        nav = str(tmp / "navigate.lua")
        plain = b.plain_nginx()
        _, _, udp_cfg = b.sidecar("udp", B.ROUTE_CAPTURE, access_log=B.free_port(), route_only=True)
        _, _, file_cfg = b.sidecar("file", B.ROUTE_CAPTURE, access_log=tmp / "pages.log", route_only=True)
        urls = {"plain nginx": plain, "route-only, UDP": b.nginx("nginx-udp", b.routes([udp_cfg])),
                "route-only, log file": b.nginx("nginx-file", b.routes([file_cfg]))}
        for share in sys.argv[1:]:
            cap = B.ROUTE_CAPTURE + f"  access_log: {{file: {tmp / f'pages-{share}.log'}, cpu_share: {float(share)}}}\n"
            _, _, cfg = b.sidecar(f"share-{share}", cap, route_only=True)
            urls[f"route-only, log file, cpu_share {share}"] = b.nginx(f"nginx-share-{share}", b.routes([cfg]))
        runs = B.rounds([(name, url + "/p/1", nav) for name, url in urls.items()])
        for name in urls:
            rps = ", ".join(f"{x['rps']:,.0f}" for x in runs[name])
            print(f"{name}: {rps} navigations/s; {B.ratio(runs, name, 'plain nginx'):.2f}× of plain nginx")
    finally:
        b.close()


if __name__ == "__main__":
    main()
