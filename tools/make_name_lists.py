"""Rebuild src/pixelscleared/scrub/data/{given_names,surnames}.txt from the names-dataset package.

    pip install names-dataset   # ~55 MB; loading its tables takes ~1 GB of memory for a minute
    apt-get install wamerican wngerman wfrench wspanish witalian wdutch   # everyday words, see WIDER
    python tools/make_name_lists.py

Keeps the names ranked in the top 1,000 (given) / 2,000 (surnames) of at least one of the
countries in CORE, and the top 300 / 500 of the WIDER ones — where shoppers of Europe and the
Americas come from too (Turkey, the Arab world, South Asia, West Africa, East Asia, Eastern
Europe) — lower-cased, one per line. A WIDER name that is also an everyday word of a
dictionary in /usr/share/dict (`bag`, `how`, `none`: that data is built from social-network
profiles and holds such noise) is left out, as is one of two letters. The sidecar itself never
imports names-dataset.
"""

from __future__ import annotations

import gzip
import pickle
import re
from importlib import resources
from pathlib import Path

CORE = {"US", "GB", "CA", "AU", "IE", "NZ", "ZA", "DE", "AT", "CH", "FR", "BE", "ES", "MX", "AR", "CO", "CL",
        "PE", "IT", "NL", "PT", "BR", "PL", "SE", "DK", "NO", "FI"}
WIDER = {"TR", "IN", "BD", "EG", "SA", "MA", "DZ", "TN", "AE", "IR", "IQ", "JO", "LB", "NG", "GH", "RU", "IL",
         "GR", "HU", "CZ", "HR", "RS", "BG", "LT", "SI", "JP", "CN", "KR", "TW", "HK", "ID", "PH", "MY", "SG"}
DICTIONARIES = ("american-english",)  # the others hold names as words (Italian `ali`, Dutch `amir`)
WORD = re.compile(r"[^\W\d_][^\W\d_'\-]{1,20}")
OUT = Path(__file__).resolve().parent.parent / "src" / "pixelscleared" / "scrub" / "data"


def everyday_words() -> set[str]:
    """Lower-case entries of the installed word lists (capitalised entries are proper nouns)."""
    words: set[str] = set()
    for name in DICTIONARIES:
        path = Path("/usr/share/dict") / name
        if not path.exists():
            raise SystemExit(f"{path} is missing: apt-get install wamerican wngerman wfrench wspanish witalian wdutch")
        words |= {w for w in path.read_text(encoding="utf-8", errors="replace").split() if w.islower()}
    return words


def pick(table: str, core_rank: int, wider_rank: int, common: set[str]) -> list[str]:
    path = resources.files("names_dataset").joinpath("v3", table)
    with gzip.open(str(path)) as f:
        names = pickle.load(f)  # noqa: S301 — the package's own data file
    out = set()
    for name, info in names.items():
        if not WORD.fullmatch(name):
            continue
        ranks = [(c, r) for c, r in (info.get("rank") or {}).items() if r is not None]
        low = name.lower()
        if any(c in CORE and r <= core_rank for c, r in ranks):
            out.add(low)
        elif any(c in WIDER and r <= wider_rank for c, r in ranks) and len(low) > 2 and low not in common:
            out.add(low)
    return sorted(out)


def main() -> None:
    common = everyday_words()
    for table, core_rank, wider_rank, target in (("first_names.pkl.gz", 1000, 300, "given_names.txt"),
                                                 ("last_names.pkl.gz", 2000, 500, "surnames.txt")):
        names = pick(table, core_rank, wider_rank, common)
        (OUT / target).write_text("\n".join(names) + "\n", encoding="utf-8")
        print(f"{target}: {len(names)} names")


if __name__ == "__main__":
    main()
