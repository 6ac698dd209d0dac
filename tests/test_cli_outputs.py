"""The command's output on every bundled data set, pinned.

``tests/golden/cli_outputs.json`` holds what ``etcdlab inspect``, ``doctor``, ``doctor
--json``, ``graph``, ``graph --json`` and ``flags`` printed on every data set of ``etcdlab
datasets`` (and a few ``quorum`` runs) when it was written. A refactoring must leave every
one of them unchanged. After a change that is *meant* to alter the output, rewrite the
file with ``python tests/test_cli_outputs.py --write`` and review the diff.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "cli_outputs.json"


def _commands() -> list[list[str]]:
    from etcdlab import datasets

    runs = [["datasets"], ["datasets", "--json"]]
    for d in datasets():
        name = d.name
        runs += [["inspect", name], ["inspect", "--json", name], ["doctor", name], ["doctor", "--json", name],
                 ["doctor", "--severity", "error", name], ["graph", name], ["graph", "--json", name]]
    for f in sorted((ROOT / "data").rglob("*.yaml")):
        if f.name in ("etcd.yaml", "kube-apiserver.yaml"):
            rel = f.relative_to(ROOT).as_posix()
            runs += [["flags", rel], ["flags", "--all", rel]]
    for size, down in ((1, 0), (3, 1), (3, 2), (5, 2), (5, 3)):
        runs += [["quorum", "--size", str(size), "--down", str(down)]]
    runs += [["quorum"], ["quorum", "--json"], ["graph", "--down", "cp2", "stacked-ha-3"]]
    return runs


def _run(argv: list[str]) -> dict:
    from etcdlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse
                rc = exc.code
    finally:
        os.chdir(cwd)
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}


def _outputs() -> dict[str, dict]:
    return {" ".join(argv): _run(argv) for argv in _commands()}


def test_cli_output_is_unchanged():
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = _outputs()
    assert sorted(got) == sorted(expected), "the list of commands changed: rewrite the golden file"
    changed = [k for k in expected if got[k] != expected[k]]
    assert not changed, f"output changed for: {changed[:10]}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_cli_outputs.py --write")
    GOLDEN.write_text(json.dumps(_outputs(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
