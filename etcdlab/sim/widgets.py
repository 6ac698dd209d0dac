"""The notebooks' interactive apps, built with ipywidgets on top of the pure models.

:func:`quorum_app` is the quorum lab of notebook 04: pick a cluster size, switch members
off and on, split the network into two sides, and press *write*, *linearizable read* or
*serializable read* to see what the apiserver on each node gets back. The status line
says in words whether quorum holds, who leads, how many more failures the cluster
survives, and why; the topology drawing greys out down members and dashes cut links.

All the logic lives in :class:`QuorumApp` and :mod:`etcdlab.sim.quorum`; the widgets only
carry values in and out. So a test (or a notebook cell) can drive the app without a
browser by setting widget values (``app.member_toggles["cp2"].value = False``) or
calling the methods (``app.switch("cp2", up=False)``), and read ``app.status_text``,
``app.state`` and ``app.drawing``.

Every widget carries a stable CSS class (``etcdlab-...``) so a browser test can find it.
Nothing is printed while the app is built or used: output goes into widgets, so the
notebook reads the same under nbval, on GitHub and in JupyterLab (FACTS.md §5).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Iterable

from .quorum import OPERATIONS, ClientAnswer, ClusterState, member_names, parse_members

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

#: The sizes offered in the app: 1, 3, 5 and 7 to compare, 2, 4 and 6 to see why even
#: sizes don't help.
APP_SIZES = (1, 2, 3, 4, 5, 6, 7)
#: The two sides of the partition editor.
SIDES = ("A", "B")
#: How many lines the event log keeps on screen.
LOG_LINES = 12
#: How wide the topology drawing is shown in the app.
DRAWING_WIDTH = "480px"

_ROLE_STYLE = {"leader": "primary", "follower": "success", "learner": "info",
               "cut off": "warning", "no quorum": "warning", "down": "danger"}
_ROLE_ICON = {"leader": "star", "follower": "check", "learner": "book",
              "cut off": "unlink", "no quorum": "exclamation-triangle", "down": "power-off"}
_CLIENT_CLASS = {"write": "etcdlab-write", "linearizable read": "etcdlab-linearizable-read",
                 "serializable read": "etcdlab-serializable-read"}


def render_svg(figure) -> bytes:
    """``figure`` as SVG bytes with text left as text (the browser draws the glyphs).

    Why not PNG: rasterizing the drawing's 40-odd labels with Agg takes about 45 ms, about
    the whole budget of a click; SVG with ``svg.fonttype="none"`` takes under 20 ms.
    The hash salt and the missing date make the same picture give the same bytes.
    """
    import io

    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "etcdlab-quorum-app"}):
        figure.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def brief(state: ClusterState) -> str:
    """The state in a few words, for the event log and the drawing's title."""
    if state.has_quorum:
        left = state.failures_left
        return (f"quorum holds ({len(state.up_voters_on(state.side_of(state.leader)))} of "
                f"{len(state.voters)}, {state.quorum} needed), {state.leader} leads, "
                f"survives {left} more failure{'s' if left != 1 else ''}")
    return f"NO QUORUM ({state.quorum} of {len(state.voters)} needed together): writes fail"


class QuorumApp:
    """The quorum lab. Build it with :func:`quorum_app`; display it by putting it last
    in a cell (or ``display(app)``).

    Attributes worth reading: ``state`` (the :class:`~etcdlab.sim.quorum.ClusterState`),
    ``status_text``, ``answers`` (the last button's :class:`~etcdlab.sim.quorum.ClientAnswer`
    list), ``log`` (every event, oldest first) and ``drawing`` (the topology drawing, or
    None when drawing is off).
    """

    def __init__(self, size: int = 3, *, sizes: Iterable[int] = APP_SIZES, draw: bool = True):
        import ipywidgets as w

        self._w = w
        self.sizes = tuple(sizes)
        self.state = ClusterState(size)
        self.log: list[str] = []
        self.answers: list[ClientAnswer] = []
        self.draw = draw
        self.drawing = None
        self._drawing_size = None
        self._syncing = False  # True while the app itself sets widget values

        self.size_picker = w.ToggleButtons(
            options=[(str(n), n) for n in self.sizes], value=self.state.size,
            description="members", tooltips=[f"{n} member{'s' if n > 1 else ''}" for n in self.sizes],
            style={"button_width": "2.6em"})
        self.size_picker.add_class("etcdlab-size")
        self.size_picker.observe(self._on_size, names="value")

        self.members_box = w.HBox()
        self.members_box.add_class("etcdlab-members")
        self.member_toggles: dict[str, ipywidgets.ToggleButton] = {}
        self.role_labels: dict[str, ipywidgets.HTML] = {}
        self.side_pickers: dict[str, ipywidgets.ToggleButtons] = {}

        self.heal_button = w.Button(description="heal partition", icon="link",
                                    tooltip="put every member back on side A")
        self.heal_button.add_class("etcdlab-heal")
        self.heal_button.on_click(lambda _: self.heal())
        self.reset_button = w.Button(description="all up", icon="power-off",
                                     tooltip="switch every member on and heal the partition")
        self.reset_button.add_class("etcdlab-reset")
        self.reset_button.on_click(lambda _: self.reset())

        self.client_buttons: dict[str, ipywidgets.Button] = {}
        for op in OPERATIONS:
            b = w.Button(description=op, tooltip=f"every node's apiserver asks its local etcd member: {op}")
            b.add_class("etcdlab-client")
            b.add_class(_CLIENT_CLASS[op])
            b.on_click(lambda _, op=op: self.press(op))
            self.client_buttons[op] = b

        self.status = w.HTML(layout=w.Layout(width="100%"))
        self.status.add_class("etcdlab-status")
        self.answers_html = w.HTML()
        self.answers_html.add_class("etcdlab-answers")
        self.log_html = w.HTML()
        self.log_html.add_class("etcdlab-log")
        self.image = w.Image(format="svg+xml", layout=w.Layout(
            width=DRAWING_WIDTH, display=None if draw else "none"))
        self.image.add_class("etcdlab-drawing")

        controls = w.VBox([
            self.size_picker,
            w.HTML("<b>Members</b> (click to switch off/on) and <b>network side</b> "
                   "(put some on B to partition):"),
            self.members_box,
            w.HBox([self.heal_button, self.reset_button]),
            w.HTML("<b>Client</b>: every node's apiserver asks its own etcd member"),
            w.HBox(list(self.client_buttons.values())),
        ], layout=w.Layout(flex="1 1 auto"))
        self.root = w.VBox([
            w.HBox([controls, self.image]),
            self.status,
            self.answers_html,
            self.log_html,
        ])
        self.root.add_class("etcdlab-quorum-app")

        self._build_members()
        self._record(f"start: {self.state.size} members; {brief(self.state)}")
        self._refresh()

    # ---- actions (what the widgets call; tests may call them too) --------------------

    def set_size(self, size: int) -> None:
        """Change the cluster size (members that still exist keep their state)."""
        self.size_picker.value = size  # the observer does the rest (nothing if unchanged)

    def switch(self, member: str | int, up: bool | None = None) -> None:
        """Switch ``member`` off (``up=False``), on (``up=True``) or over (``None``)."""
        name = self.state.member(member).name
        toggle = self.member_toggles[name]
        toggle.value = (not toggle.value) if up is None else bool(up)

    def set_side(self, member: str | int, side: str) -> None:
        """Put ``member`` on network side ``"A"`` or ``"B"``."""
        name = self.state.member(member).name
        self.side_pickers[name].value = side

    def partition(self, side_b: Iterable[str | int]) -> None:
        """Put exactly ``side_b`` on side B (everyone else on A), in one update."""
        names = set(parse_members(list(side_b), self.state.size))
        self._syncing = True
        try:
            for m, picker in self.side_pickers.items():
                picker.value = "B" if m in names else "A"
        finally:
            self._syncing = False
        self._apply(self._state_from_widgets(),
                    f"side B: {', '.join(sorted(names, key=self.state.members.index))}" if names
                    else "partition healed")

    def heal(self) -> None:
        """Everyone back on side A: the partition is over."""
        self.partition(())

    def reset(self) -> None:
        """Every member up, no partition."""
        self._syncing = True
        try:
            for t in self.member_toggles.values():
                t.value = True
            for p in self.side_pickers.values():
                p.value = "A"
        finally:
            self._syncing = False
        self._apply(self._state_from_widgets(), "all members up, no partition")

    def press(self, operation: str) -> list[ClientAnswer]:
        """Every node's apiserver asks its local member for ``operation``; shows the answers."""
        self.answers = self.state.requests(operation)
        ok = [a.member for a in self.answers if a.ok]
        self._record(f"{operation}: " + (f"OK on {', '.join(ok)}" if ok else "fails everywhere")
                     + (f"; fails on {', '.join(a.member for a in self.answers if not a.ok)}"
                        if ok and len(ok) < len(self.answers) else ""))
        self._show_answers(operation)
        self._show_log()
        return self.answers

    # ---- reading the app -----------------------------------------------------------------

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        return self.state.status_line()

    @property
    def widget(self) -> "ipywidgets.VBox":
        return self.root

    def _repr_mimebundle_(self, **kwargs):
        # The widget for JupyterLab; the status in words for everything that cannot show
        # widgets (GitHub, nbviewer, a terminal) and for nbval, which compares text/plain.
        data = self.root._repr_mimebundle_(**kwargs)
        data["text/plain"] = f"[quorum lab: {self.state.size} members] {self.status_text}"
        return data

    # ---- widget plumbing -----------------------------------------------------------------

    def _build_members(self, sides: dict[str, str] | None = None) -> None:
        """(Re)build one column per member: on/off toggle, role, network side.
        ``sides`` keeps the A/B choice of members that existed before a resize."""
        w = self._w
        self.member_toggles, self.role_labels, self.side_pickers = {}, {}, {}
        side_of = {m: (sides or {}).get(m, "A") for m in self.state.members}
        columns = []
        for name in self.state.members:
            t = w.ToggleButton(value=name not in self.state.down, description=name,
                               tooltip=f"switch {name} off or on", layout=w.Layout(width="7.5em"))
            t.add_class("etcdlab-member")
            t.add_class(f"etcdlab-member-{name}")
            t.observe(lambda change, name=name: self._on_member(name, change), names="value")
            role = w.HTML()
            role.add_class("etcdlab-role")
            role.add_class(f"etcdlab-role-{name}")
            side = w.ToggleButtons(options=SIDES, value=side_of[name],
                                   tooltips=[f"{name} on side {s}" for s in SIDES],
                                   style={"button_width": "2.6em"}, layout=w.Layout(width="7.5em"))
            side.add_class("etcdlab-side")
            side.add_class(f"etcdlab-side-{name}")
            side.observe(lambda change, name=name: self._on_side(name, change), names="value")
            self.member_toggles[name] = t
            self.role_labels[name] = role
            self.side_pickers[name] = side
            columns.append(w.VBox([t, role, side], layout=w.Layout(align_items="center")))
        self.members_box.children = columns

    def _state_from_widgets(self) -> ClusterState:
        down = [m for m, t in self.member_toggles.items() if not t.value]
        b = [m for m, p in self.side_pickers.items() if p.value == "B"]
        partition = (b,) if b and len(b) < len(self.side_pickers) else ()
        return ClusterState(self.state.size, down=frozenset(down), learners=self.state.learners,
                            partition=partition,
                            previous_leader=self.state.leader or self.state.previous_leader)

    def _on_size(self, change) -> None:
        if self._syncing:
            return
        sides = {m: p.value for m, p in self.side_pickers.items()}
        down = [m for m, t in self.member_toggles.items() if not t.value]
        names = member_names(change["new"])
        side_b = [m for m in names if sides.get(m) == "B"]
        self.state = ClusterState(
            change["new"], down=frozenset(m for m in down if m in names),
            partition=(side_b,) if side_b and len(side_b) < len(names) else (),
            previous_leader=self.state.leader if self.state.leader in names else None)
        self._build_members(sides)
        self._record(f"size {self.state.size}: {brief(self.state)}")
        self.answers = []
        self._refresh()

    def _on_member(self, name: str, change) -> None:
        if self._syncing:
            return
        self._apply(self._state_from_widgets(), f"{name} switched {'on' if change['new'] else 'off'}")

    def _on_side(self, name: str, change) -> None:
        if self._syncing:
            return
        self._apply(self._state_from_widgets(), f"{name} moved to side {change['new']}")

    def _apply(self, state: ClusterState, what: str) -> None:
        self.state = state
        self.answers = []
        self._record(f"{what}: {brief(state)}")
        self._refresh()

    def _record(self, line: str) -> None:
        self.log.append(f"#{len(self.log) + 1} {line}")

    # ---- showing the state -----------------------------------------------------------------

    def _refresh(self) -> None:
        """Bring every view up to date with ``self.state``."""
        s = self.state
        for st in s.member_statuses():
            role = st.role
            t = self.member_toggles[st.name]
            t.button_style = _ROLE_STYLE[role]
            t.icon = _ROLE_ICON[role]
            self.role_labels[st.name].value = f"<small>{role}</small>"
        colour = "#e5f5e0" if s.has_quorum else "#fee0d2"
        sentences = s.explain()
        if s.partitioned:  # lead with the verdict
            sentences = sentences[1:2] + sentences[:1] + sentences[2:]
        head, rest = html.escape(sentences[0]), html.escape(" ".join(sentences[1:]))
        self.status.value = (f'<div style="background:{colour};padding:6px;border-radius:4px">'
                             f"<b>{head}</b> {rest}</div>")
        self._show_answers(None)
        self._show_log()
        self._draw(s)

    def _show_answers(self, operation: str | None) -> None:
        if not self.answers:
            self.answers_html.value = ("<i>Press a client button to see what each node's "
                                       "apiserver gets.</i>")
            return
        split = self.state.partitioned
        side_of = {m: SIDES[min(self.state.side_of(m), 1)] for m in self.state.members}
        rows = "".join(
            f"<tr><td>{a.member}</td>" + (f"<td>{side_of[a.member]}</td>" if split else "")
            + f"<td style='color:{'#238b45' if a.ok else '#cb181d'}'><b>{'OK' if a.ok else 'FAILS'}</b></td>"
            f"<td>{html.escape(a.message)}</td></tr>"
            for a in self.answers)
        op = operation or self.answers[0].operation
        head = "<th>member</th>" + ("<th>side</th>" if split else "") + "<th></th><th>answer</th>"
        self.answers_html.value = (f"<b>{op}</b>, asked by each node's apiserver:"
                                   f"<table><tr>{head}</tr>{rows}</table>")

    def _show_log(self) -> None:
        lines = self.log[-LOG_LINES:]
        self.log_html.value = ("<details open><summary>event log</summary><pre style='margin:0'>"
                               + html.escape("\n".join(reversed(lines))) + "</pre></details>")

    def _draw(self, state: ClusterState) -> None:
        """The one place the topology drawing is plugged in: restyle it, render it to SVG (:func:`render_svg`)."""
        if not self.draw:
            return
        if self._drawing_size != state.size:
            from ..graphs.drawing import draw_topology
            from ..sources.generated import stacked_control_plane

            # its own matplotlib Figure, not pyplot's: the notebook must not show it on its own
            self.drawing = draw_topology(stacked_control_plane(state.size))
            self._drawing_size = state.size
        self.drawing.update(down=sorted(state.down), cut=state.cut_links())
        self.image.value = render_svg(self.drawing.figure)


def quorum_app(size: int = 3, *, sizes: Iterable[int] = APP_SIZES, draw: bool = True) -> QuorumApp:
    """The quorum lab for a cluster of ``size`` members (see :class:`QuorumApp`).

    Put it last in a notebook cell to show it. ``draw=False`` leaves out the topology
    drawing (faster, and no matplotlib).
    """
    if size not in tuple(sizes):
        from ..model.quorum import ScenarioError

        raise ScenarioError(f"the app offers {', '.join(map(str, sizes))} members, not {size}")
    member_names(size)
    return QuorumApp(size, sizes=sizes, draw=draw)
