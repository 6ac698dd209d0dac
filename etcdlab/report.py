"""The doctor's findings, shown for people: a text report and an HTML table.

``doctor_report(findings)`` returns an object that prints as the same text the
``etcdlab doctor`` command prints, and renders as a table in a notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

SEVERITIES = ("error", "warning", "info")
_MARK = {"error": "ERROR", "warning": "WARN ", "info": "INFO "}


def _where(f) -> str:
    if not f.file:
        return f.node or ""
    return f"{f.file}:{f.line}" if getattr(f, "line", None) else f.file


@dataclass(frozen=True)
class DoctorReport:
    findings: tuple
    verbose: bool = True

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def headline(self) -> str:
        c = self.counts()
        verdict = "no error" if not c["error"] else f"{c['error']} error(s)"
        return f"{verdict}, {c['warning']} warning(s), {c['info']} info"

    def __str__(self) -> str:
        lines = []
        for f in self.findings:
            cis = f"  [{f.cis}]" if f.cis else ""
            lines.append(f"{_MARK.get(f.severity, f.severity)} {f.id}: {f.title}{cis}")
            where = _where(f)
            if where:
                lines.append(f"      at   {where}")
            if f.flag:
                value = f"={f.value}" if f.value not in (None, "") else ""
                lines.append(f"      flag {f.flag}{value}")
            if self.verbose and f.detail:
                lines.append(f"      why  {f.detail}")
            if f.fix:
                lines.append(f"      fix  {f.fix}")
        lines.append(self.headline())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = []
        for f in self.findings:
            flag = html.escape(f"{f.flag}={f.value}" if f.flag and f.value not in (None, "") else (f.flag or ""))
            rows.append(
                f"<tr><td>{html.escape(f.severity)}</td><td><code>{html.escape(f.id)}</code><br>"
                f"<b>{html.escape(f.title)}</b></td><td><code>{flag}</code><br>{html.escape(_where(f))}</td>"
                f"<td>{html.escape(f.detail or '')}<br><i>Fix:</i> {html.escape(f.fix or '')}</td>"
                f"<td>{html.escape(f.cis or '')}</td></tr>")
        return ("<table><thead><tr><th>severity</th><th>finding</th><th>where</th><th>why, and the fix</th>"
                f"<th>CIS</th></tr></thead><tbody>{''.join(rows)}</tbody></table><p>{html.escape(self.headline())}</p>")


def doctor_report(findings: Sequence, *, severity: str | None = None, verbose: bool = True) -> DoctorReport:
    """A printable report of ``findings``; ``severity="warning"`` keeps warnings and errors."""
    if severity is not None:
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}")
        keep = SEVERITIES[: SEVERITIES.index(severity) + 1]
        findings = [f for f in findings if f.severity in keep]
    return DoctorReport(tuple(findings), verbose=verbose)
