"""Notebooks are committed executed, in order, with up-to-date navigation cells."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_navigation_cells_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "nav.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_was_run_top_to_bottom_from_a_clean_kernel(path):
    nb = json.loads(path.read_text())
    counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), "re-run it with tools/refresh_notebooks.py"
    errors = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_structure(path):
    nb = json.loads(path.read_text())
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert md[0].startswith("# "), "a title first"
    assert sum(s.startswith("<!--NAV-->") for s in md) == 2, "a navigation cell after the intro and at the end"
    assert "".join(nb["cells"][-1]["source"]).startswith("<!--NAV-->")
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "import etcdlab as el" in code
    if not path.name.startswith("00_"):
        assert "What you will learn" in md[0]
        assert "el.check(" in code, "exercises with self-checks"
