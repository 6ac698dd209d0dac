"""The layout's dependency rules hold (README.md, "Layout"; pyproject.toml, [tool.importlinter]).

import-linter (built on grimp) reads every ``import`` in the package, function-level ones
included, and checks the contracts: no cycles among the modules of any (sub)package, the
subpackages as layers (``cli``/``teach`` on top, then ``real``, ``sim``, ``graphs``,
``diagnosis``, ``sources``, ``model``, ``errors``), and the forbidden and independent pairs.
A broken contract fails here with import-linter's report, which names the modules and lines.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_are_kept():
    cmd = [str(LINT_IMPORTS)] if LINT_IMPORTS.exists() else [sys.executable, "-m", "importlinter.cli"]
    r = subprocess.run([*cmd, "--no-cache", "--config", str(ROOT / "pyproject.toml")], capture_output=True,
                       text=True, cwd=ROOT, timeout=300)
    report = r.stdout + r.stderr
    assert r.returncode == 0, report[report.find("Contracts"):] if "Contracts" in report else report
    assert "0 broken" in report


def test_there_is_no_import_cycle_anywhere():
    """Stronger than sibling acyclicity: no module reaches itself through any chain."""
    import grimp

    graph = grimp.build_graph("etcdlab", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(imported, module):
                cycles.append(f"{module} -> {imported} -> ... -> {module}")
    assert not cycles, "\n".join(cycles[:20])
