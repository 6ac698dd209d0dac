"""etcd's fault-tolerance table: for each cluster size, its quorum and the failures it
survives, as rows, as text (``etcdlab quorum``) and as a plot (notebook 04).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

from ..model.quorum import MAX_SIZE, MIN_SIZE, fault_tolerance, quorum_size


@dataclass(frozen=True)
class ToleranceRow:
    """One row of etcd's fault-tolerance table."""

    size: int
    quorum: int
    tolerance: int

    def as_dict(self) -> dict:
        return asdict(self)


def fault_tolerance_table(sizes: Iterable[int] = range(MIN_SIZE, MAX_SIZE + 1)) -> list[ToleranceRow]:
    """etcd's table: for each cluster size, the quorum and the failures it tolerates.

    >>> [(r.size, r.quorum, r.tolerance) for r in fault_tolerance_table(range(1, 6))]
    [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2)]
    """
    return [ToleranceRow(n, quorum_size(n), fault_tolerance(n)) for n in sizes]


def format_table(rows: Iterable[ToleranceRow] | None = None) -> str:
    """The table as aligned text, with a note on the sizes worth running."""
    rows = fault_tolerance_table() if rows is None else list(rows)
    lines = ["members  quorum  failures tolerated"]
    for r in rows:
        note = ""
        if r.size == 1:
            note = "   (no fault tolerance)"
        elif r.size % 2 == 0:
            note = f"   (no better than {r.size - 1})"
        elif r.size in (3, 5):
            note = "   <- production" if r.size == 5 else "   <- smallest HA"
        elif r.size > 7:
            note = "   (not advised)"
        lines.append(f"{r.size:>7}  {r.quorum:>6}  {r.tolerance:>18}{note}")
    return "\n".join(lines)


def plot_fault_tolerance(rows: Iterable[ToleranceRow] | None = None, ax=None):
    """A bar chart of the table: for each size, the majority needed and the failures
    survived. Even sizes are greyed: they add a member but no tolerance.

    Returns the matplotlib Axes (in a notebook, assign it: ``ax = plot_fault_tolerance()``,
    so that its text repr does not become the cell's output).
    """
    import matplotlib.pyplot as plt

    rows = fault_tolerance_table() if rows is None else list(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.6))
    sizes = [r.size for r in rows]
    width = 0.38
    ax.bar([n - width / 2 for n in sizes], [r.quorum for r in rows], width,
           color="#9ecae1", label="majority needed (quorum)")
    ax.bar([n + width / 2 for n in sizes], [r.tolerance for r in rows], width,
           color=["#31a354" if n % 2 else "#bdbdbd" for n in sizes],
           label="failures survived (green: odd size, grey: even)")
    for r in rows:
        ax.text(r.size + width / 2, r.tolerance + 0.08, str(r.tolerance), ha="center",
                va="bottom", fontsize=9)
    for n, text in ((3, "smallest HA"), (5, "production")):
        if n in sizes:
            ax.annotate(text, (n, quorum_size(n) + 0.25), ha="center", fontsize=9,
                        color="#006d2c", fontweight="bold")
    ax.set_xticks(sizes)
    ax.set_xlabel("members")
    ax.set_ylabel("members")
    ax.set_ylim(0, max(r.quorum for r in rows) + 1)
    ax.set_title("etcd: quorum = n // 2 + 1; an even size adds a member but no tolerance", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax
