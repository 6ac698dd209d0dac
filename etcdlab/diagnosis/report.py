"""The doctor's findings, shown for people: a text report and an HTML table.

:func:`doctor_report` returns an object that prints as exactly the text the
``etcdlab doctor`` command prints (the command calls it), and renders as a table in a
notebook. One renderer, two places.
"""

from __future__ import annotations

import html
import os
import textwrap
from dataclasses import dataclass
from collections.abc import Sequence

from ..model.words import plural


def _display_path(path: str | None) -> str | None:
    """A path relative to the current directory when it lies below it (shorter to read)."""
    if not path or not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _where(f) -> str:
    file = _display_path(f.file)
    where = f"{file}:{f.line}" if file and f.line else (file or "the cluster")
    return where + (f" (node {f.node})" if f.node else "")


@dataclass(frozen=True)
class DoctorReport:
    """Findings ready to show; ``str()`` is the CLI's text, ``_repr_html_`` a notebook table."""

    findings: tuple
    control_plane: object | None = None
    width: int = 100

    def counts(self) -> dict[str, int]:
        from .findings import summary

        return summary(self.findings)

    def headline(self) -> str:
        cp = self.control_plane
        if cp is None:
            return ""
        members, apis = len(cp.members), len(cp.apiservers)
        return (f"etcdlab doctor: {cp.name or cp.source or 'cluster'} ({plural(len(cp.nodes), 'node')}, "
                f"{plural(members, 'etcd member')}, {plural(apis, 'apiserver')})")

    def verdict(self) -> str:
        s = self.counts()
        if self.findings:
            counts = ", ".join(plural(s[k], k) for k in ("error", "warning", "info"))
            return f"{counts}: " + ("no error." if s["ok"] else "the cluster is miswired or fails a CIS check.")
        cp = self.control_plane
        if cp is not None and not cp.members and not cp.apiservers:
            return "Nothing to check: no etcd or kube-apiserver Pod was found."
        return "No findings: everything checked is wired right."

    def __str__(self) -> str:
        lines: list[str] = []
        if self.control_plane is not None:
            lines += [self.headline(), ""]
        for f in self.findings:
            lines.append(f"{f.severity.upper():<8}{f.id}: {f.title}")
            rows = [("where", _where(f))]
            if f.flag:
                rows.append(("flag", f"{f.flag}={f.value}" if f.value is not None else f"{f.flag} (not set)"))
            elif f.value is not None:
                rows.append(("value", f.value))
            rows += [("why", f.detail), ("fix", f.fix)]
            if f.cis:
                rows.append(("cis", f.cis))
            for label, text in rows:
                wrapped = textwrap.wrap(text or "", width=self.width - 15, break_long_words=False,
                                        break_on_hyphens=False) or [""]
                lines.append(f"        {label:<6} {wrapped[0]}")
                lines.extend(f"               {w}" for w in wrapped[1:])
            lines.append("")
        lines.append(self.verdict())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = []
        for f in self.findings:
            flag = f"{f.flag}={f.value}" if f.flag and f.value is not None else (f.flag or "")
            rows.append(
                f"<tr><td>{html.escape(f.severity)}</td><td><code>{html.escape(f.id)}</code><br>"
                f"<b>{html.escape(f.title)}</b></td><td><code>{html.escape(flag)}</code><br>"
                f"{html.escape(_where(f))}</td><td>{html.escape(f.detail or '')}<br><i>Fix:</i> "
                f"{html.escape(f.fix or '')}</td><td>{html.escape(f.cis or '')}</td></tr>")
        head = f"<p>{html.escape(self.headline())}</p>" if self.control_plane is not None else ""
        table = ("<table><thead><tr><th>severity</th><th>finding</th><th>where</th><th>why, and the fix</th>"
                 f"<th>CIS</th></tr></thead><tbody>{''.join(rows)}</tbody></table>") if rows else ""
        return f"{head}{table}<p>{html.escape(self.verdict())}</p>"


def doctor_report(findings: Sequence, *, severity: str = "info", control_plane=None,
                  width: int = 100) -> DoctorReport:
    """A printable report of ``findings``; ``severity="warning"`` keeps warnings and errors."""
    from .findings import at_least

    return DoctorReport(tuple(at_least(findings, severity)), control_plane=control_plane, width=width)
