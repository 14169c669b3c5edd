"""How fast this core is, so a micro-benchmark's figure can be read on a shared machine."""

from __future__ import annotations

import timeit


def reference_line() -> str:
    ns = min(timeit.repeat("d.get('a')", "d = {'a': 1}", number=200_000, repeat=5)) / 200_000 * 1e9
    return f"machine reference: dict.get = {ns:.0f} ns (a typical server core: ~15-20 ns)"
