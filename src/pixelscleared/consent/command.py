"""`pixelscleared consent` (placeholder until issue #4)."""

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cookie", default="")


def main(args: argparse.Namespace) -> int:
    from pixelscleared.consent import ConsentEngine

    print(json.dumps(ConsentEngine().evaluate(args.cookie, {}).as_dict()))
    return 0
