"""Re-execute notebooks from a clean kernel, in place, and rewrite their navigation cells.

    .venv/bin/python tools/refresh_notebooks.py                 # every notebook
    .venv/bin/python tools/refresh_notebooks.py 01 02           # those whose name starts so

Each notebook runs in a fresh kernel of *this* Python (the project's venv), from the
notebooks directory, exactly as nbval will run it; the outputs are then committed so
that strict nbval has something to compare against.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nav  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)


def main(prefixes: list[str]) -> int:
    nav.update()
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if prefixes and not any(path.name.startswith(p) for p in prefixes):
            continue
        print(f"executing {path.name}", flush=True)
        refresh(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
