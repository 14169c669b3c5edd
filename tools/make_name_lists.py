"""Rebuild src/pixelscleared/scrub/data/{given_names,surnames}.txt from the names-dataset package.

    pip install names-dataset   # ~55 MB; loading its tables takes ~1 GB of memory for a minute
    python tools/make_name_lists.py

Keeps the names ranked in the top 1,000 (given) / 2,000 (surnames) of at least one of the
countries below, lower-cased, one per line. The sidecar itself never imports names-dataset.
"""

from __future__ import annotations

import gzip
import pickle
import re
from importlib import resources
from pathlib import Path

COUNTRIES = {"US", "GB", "CA", "AU", "IE", "NZ", "ZA", "DE", "AT", "CH", "FR", "BE", "ES", "MX", "AR", "CO", "CL",
             "PE", "IT", "NL", "PT", "BR", "PL", "SE", "DK", "NO", "FI"}
WORD = re.compile(r"[^\W\d_][^\W\d_'\-]{1,20}")
OUT = Path(__file__).resolve().parent.parent / "src" / "pixelscleared" / "scrub" / "data"


def pick(table: str, max_rank: int) -> list[str]:
    path = resources.files("names_dataset").joinpath("v3", table)
    with gzip.open(str(path)) as f:
        names = pickle.load(f)  # noqa: S301 — the package's own data file
    out = set()
    for name, info in names.items():
        ranks = [r for c, r in (info.get("rank") or {}).items() if c in COUNTRIES and r is not None]
        if ranks and min(ranks) <= max_rank and WORD.fullmatch(name):
            out.add(name.lower())
    return sorted(out)


def main() -> None:
    for table, max_rank, target in (("first_names.pkl.gz", 1000, "given_names.txt"),
                                    ("last_names.pkl.gz", 2000, "surnames.txt")):
        names = pick(table, max_rank)
        (OUT / target).write_text("\n".join(names) + "\n", encoding="utf-8")
        print(f"{target}: {len(names)} names")


if __name__ == "__main__":
    main()
