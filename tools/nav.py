"""Write the same navigation cell into every notebook, so the sequence reads as one book.

Every notebook holds markdown cells whose source starts with ``<!--NAV-->`` (one after
the introduction, one at the very end); this tool rewrites them as
``< previous | contents | next >`` links. The index notebook (``00_start_here``) also
holds a ``<!--TOC-->`` cell, rewritten as the list of notebooks with their titles.

    python tools/nav.py          # rewrite the cells in place
    python tools/nav.py --check  # exit 1 if any notebook's cells are out of date (used by a test)

Only the markdown cells change, so outputs stay valid and nbval is unaffected.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAV, TOC = "<!--NAV-->", "<!--TOC-->"


def title_of(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "Untitled"


def nav_cell(names: list[str], titles: dict[str, str], i: int) -> str:
    parts = []
    if i > 0:
        parts.append(f"&lt; [{titles[names[i - 1]]}]({names[i - 1]})")
    if i > 1:
        parts.append(f"[Contents]({names[0]})")
    if i + 1 < len(names):
        parts.append(f"[{titles[names[i + 1]]}]({names[i + 1]}) &gt;")
    return NAV + "\n" + " | ".join(parts)


def toc_cell(names: list[str], titles: dict[str, str]) -> str:
    lines = [TOC, "## Contents", ""]
    for name in names[1:]:
        lines.append(f"1. [{titles[name]}]({name})")
    return "\n".join(lines)


def _source(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def update(check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, just compare) the cells; return the notebooks that differ."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    names = [p.name for p in paths]
    books = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    titles = {n: re.sub(r"\s+", " ", title_of(nb)) for n, nb in books.items()}
    stale = []
    for i, name in enumerate(names):
        nb = books[name]
        changed = False
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            if text.startswith(NAV):
                new = nav_cell(names, titles, i)
            elif text.startswith(TOC):
                new = toc_cell(names, titles)
            else:
                continue
            if text != new:
                cell["source"] = _source(new)
                changed = True
        if changed:
            stale.append(name)
            if not check:
                (NOTEBOOKS / name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks whose cells are out of date")
    args = parser.parse_args()
    stale = update(check=args.check)
    for name in stale:
        print(f"{'out of date' if args.check else 'updated'}: notebooks/{name}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
