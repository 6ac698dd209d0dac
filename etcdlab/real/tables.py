"""What a lab cluster shows: ``etcdctl``'s environment for a terminal, and the member table
of :meth:`~etcdlab.real.lab.LocalCluster.status` (text in a terminal, HTML in a notebook).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EtcdctlEnv:
    """``etcdctl``'s environment variables; ``str()`` gives the shell lines and a command."""

    etcdctl: str
    env: tuple[tuple[str, str], ...]

    @property
    def command(self) -> str:
        """The same settings as command-line flags (one line to paste into a terminal)."""
        d = dict(self.env)
        return (f"etcdctl --endpoints={d['ETCDCTL_ENDPOINTS']} --cacert={d['ETCDCTL_CACERT']} "
                f"--cert={d['ETCDCTL_CERT']} --key={d['ETCDCTL_KEY']} endpoint status -w table")

    def __str__(self) -> str:
        """Shell lines to paste into a terminal (where the environment's ``etcdctl`` is on PATH;
        ``.etcdctl`` holds the full path of the binary)."""
        lines = [f"export {k}={v}" for k, v in self.env]
        lines.append("etcdctl endpoint status -w table")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class MemberRow:
    name: str
    up: bool
    pid: int | None
    leader: bool
    term: int | None
    raft_index: int | None
    sees_leader: str | None    #: the name of the leader this member follows
    health: str
    endpoint: str


_COLUMNS = ("member", "state", "pid", "leader", "term", "raft index", "health")


@dataclass(frozen=True, repr=False)
class MemberTable:
    """The members at one moment; shows as a table in Jupyter and in a terminal."""

    rows: tuple[MemberRow, ...]
    quorum: int

    @property
    def leader(self) -> str | None:
        for r in self.rows:
            if r.leader:
                return r.name
        return None

    @property
    def up(self) -> int:
        return sum(r.up for r in self.rows)

    @property
    def has_quorum(self) -> bool:
        return self.up >= self.quorum and self.leader is not None

    def cells(self) -> list[tuple[str, ...]]:
        out = []
        for r in self.rows:
            out.append((r.name, "up" if r.up else "down", str(r.pid or "-"), "★ leader" if r.leader else "",
                        "-" if r.term is None else str(r.term), "-" if r.raft_index is None else str(r.raft_index),
                        r.health))
        return out

    def summary(self) -> str:
        verdict = "quorum" if self.has_quorum else "NO quorum"
        return f"{self.up}/{len(self.rows)} up, quorum needs {self.quorum}: {verdict}; leader: {self.leader or 'none'}"

    def __str__(self) -> str:
        cells = [_COLUMNS] + self.cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + [self.summary()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in _COLUMNS)
        body = []
        for r, cells in zip(self.rows, self.cells()):
            style = "" if r.up else ' style="color:#999"'
            if r.leader:
                style = ' style="font-weight:bold"'
            body.append(f"<tr{style}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
        return (f"<table class=\"etcdlab-members\"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
                f"</tbody></table><p>{escape(self.summary())}</p>")
