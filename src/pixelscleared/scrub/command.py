"""`pixelscleared scrub` (placeholder until issue #3)."""

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url")


def main(args: argparse.Namespace) -> int:
    from pixelscleared.scrub import Scrubber

    r = Scrubber().scrub_url(args.url or "")
    print(json.dumps({"result": r.value, "removed": [x.as_dict() for x in r.removed]}))
    return 0
