"""The package's shape: no import cycles, so every module can be read (and loaded) on its own."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest


def import_cycles(package: str) -> list[tuple[str, ...]]:
    """Every direct import `a → b` for which `b` leads back to `a`, as the cycle's modules.

    grimp reads every import statement, including those inside functions and under
    TYPE_CHECKING: a cycle hidden in a function is still a cycle for a reader.
    """
    graph = grimp.build_graph(package, cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append((module, *back))
    return cycles


def test_the_package_has_no_import_cycle():
    assert import_cycles("pixelscleared") == []


def test_the_check_finds_a_cycle_hidden_in_a_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pkg = tmp_path / "cyclic_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text("def name():\n    from cyclic_pkg.shape import NAME\n    return NAME\n")
    (pkg / "shape.py").write_text("from cyclic_pkg import config\nNAME = 'x'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert ("cyclic_pkg.config", "cyclic_pkg.shape", "cyclic_pkg.config") in import_cycles("cyclic_pkg")
