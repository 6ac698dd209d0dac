""""edit" exercises: the student's own copy of a broken cluster, checked by the doctor.

    work = el.exercise_copy("02.4")     # copies the manifests to lab-work/02.4/nodes/...
    # edit lab-work/02.4/nodes/master/kube-apiserver.yaml in JupyterLab, or:
    work.replace("master", "kube-apiserver", "old text", "new text")
    el.check("02.4")                    # re-runs the doctor (and the topology) on the files

Only the manifests are copied (``nodes/<node>/*.yaml``), never the data set's name or its
description, so a troubleshooting exercise starts from the symptom, as on a real node.
The copy lives under the notebook's working directory, in ``lab-work/`` (which ignores
itself for git); an existing copy is kept, so the student's edits survive a re-run.

The check passes when the findings the data set was built to produce are gone, no new
error appeared, no etcd member or apiserver was simply deleted (unless the exercise allows
removing a whole node), and, where the exercise says so, the topology draws no broken link.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import EtcdlabError
from .engine import RESET_HOOKS, Exercise, Result, Unanswered, make

WORK_DIR = "lab-work"


@dataclass(frozen=True)
class EditTask:
    dataset: str
    #: (node, component) of the file the fix belongs in, for the messages
    target: tuple[str, str]
    graph: bool = True
    may_remove_nodes: bool = False
    #: findings of the original (warnings, say) that the fix must make go away as well
    also_gone: tuple[str, ...] = ()


TASKS: dict[str, EditTask] = {}
COPIES: dict[str, "Workspace"] = {}
RESET_HOOKS.append(lambda key: COPIES.clear() if key is None else COPIES.pop(key, None))


class Workspace:
    """The student's copy of one exercise's cluster."""

    def __init__(self, key: str, directory: Path, task: EditTask):
        self.key = key
        self.directory = directory
        self.task = task

    # -- where things are ----------------------------------------------------------------
    @property
    def nodes_dir(self) -> Path:
        return self.directory / "nodes"

    def path(self, node: str | None = None, component: str | None = None) -> Path:
        """The file ``nodes/<node>/<component>.yaml`` of the copy (by default the one the
        exercise is about)."""
        node = node or self.task.target[0]
        component = component or self.task.target[1]
        return self.nodes_dir / node / f"{component}.yaml"

    @property
    def files(self) -> list[str]:
        return sorted(p.relative_to(self.directory).as_posix() for p in self.nodes_dir.rglob("*.yaml"))

    @property
    def symptom(self) -> str:
        from ..sources.bundled import dataset

        return dataset(self.task.dataset).summary

    # -- editing -------------------------------------------------------------------------
    def read(self, node: str | None = None, component: str | None = None) -> str:
        return self.path(node, component).read_text(encoding="utf-8")

    def replace(self, old: str, new: str, node: str | None = None, component: str | None = None) -> Path:
        """Replace the text ``old`` (which must occur exactly once) by ``new`` in a file of the
        copy, as an editor would; returns the file."""
        p = self.path(node, component)
        text = p.read_text(encoding="utf-8")
        count = text.count(old)
        if count != 1:
            raise EtcdlabError(f"{p.relative_to(self.directory)} holds {old!r} {count} times, not once; "
                               "give a longer piece of text.")
        p.write_text(text.replace(old, new), encoding="utf-8")
        return p

    def remove_node(self, node: str) -> None:
        """Delete one node's manifests from the copy (what ``kubeadm reset`` does on it)."""
        target = self.nodes_dir / node
        if not target.is_dir():
            raise EtcdlabError(f"the copy has no node {node!r}; it has {', '.join(self.nodes())}.")
        shutil.rmtree(target)

    def nodes(self) -> list[str]:
        return sorted(p.name for p in self.nodes_dir.iterdir() if p.is_dir())

    def reset(self) -> "Workspace":
        """Throw the edits away and copy the cluster again."""
        shutil.rmtree(self.directory, ignore_errors=True)
        _copy(self.task.dataset, self.directory)
        return self

    # -- looking at it -------------------------------------------------------------------
    def load(self):
        from ..sources.loading import load

        return load(self.nodes_dir)

    def doctor(self):
        from ..diagnosis.checkup import doctor

        return doctor(self.load())

    def changed(self) -> bool:
        from ..sources.bundled import dataset

        return _differs(dataset(self.task.dataset).nodes_dir, self.nodes_dir)

    def __repr__(self) -> str:
        try:
            shown = os.path.relpath(self.directory)
        except ValueError:  # pragma: no cover - another drive on Windows
            shown = str(self.directory)
        node, component = self.task.target
        return (f"[{self.key}] Your copy of the cluster: {shown}/ ({len(self.files)} manifests, "
                f"one directory per node).\n"
                f"Symptom: {self.symptom}\n"
                f"Edit the manifests (start with {shown}/nodes/{node}/{component}.yaml), "
                f"then run el.check({self.key!r}).")


def _differs(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)

    def walk(c: filecmp.dircmp) -> bool:
        if c.left_only or c.right_only or c.funny_files:
            return True
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if mismatch or errors:
            return True
        return any(walk(sub) for sub in c.subdirs.values())
    return walk(cmp)


def _copy(name: str, directory: Path) -> None:
    from ..sources.bundled import dataset

    ds = dataset(name)
    directory.parent.mkdir(parents=True, exist_ok=True)
    ignore = directory.parent / ".gitignore"
    if directory.parent.name == WORK_DIR and not ignore.exists():
        ignore.write_text("# the lab's exercise copies: students' work, never committed\n*\n", encoding="utf-8")
    shutil.copytree(ds.nodes_dir, directory / "nodes")
    for p in (directory / "nodes").rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)


def exercise_copy(key: str, directory: str | os.PathLike | None = None, *, fresh: bool = False) -> Workspace:
    """Copy the cluster of "edit" exercise ``key`` into ``lab-work/<key>/`` (or
    ``directory``) and return it. An existing copy is kept (``fresh=True`` starts over)."""
    key = str(key).strip()
    task = TASKS.get(key)
    if task is None:
        from .engine import EXERCISES

        kinds = ", ".join(k for k, ex in sorted(EXERCISES.items()) if ex.kind == "edit")
        raise EtcdlabError(f"{key!r} is not an exercise with a copy to edit; those are {kinds}.")
    target = Path(directory) if directory is not None else Path.cwd() / WORK_DIR / key
    target = target.resolve()
    if fresh and target.exists():
        shutil.rmtree(target)
    if not (target / "nodes").is_dir():
        _copy(task.dataset, target)
    ws = Workspace(key, target, task)
    COPIES[key] = ws
    return ws


def _pods(cp) -> set[tuple[str, str]]:
    out = set()
    for node in cp.nodes:
        for pod in node.pods:
            out.add((node.name, pod.component))
    return out


def _describe(f) -> str:
    return f"the doctor finds {f.id} ({f.title}) in {Path(f.where).name if f.file else f.where}"


def edit_judge(key: str) -> Callable[[Any], Result]:
    def judge(answer: Any) -> Result:
        from ..diagnosis.checkup import doctor
        from ..errors import ManifestError
        from ..sources.bundled import dataset

        task = TASKS[key]
        ws = COPIES.get(key)
        if answer is not None and isinstance(answer, Workspace):
            ws = answer
        if ws is None:
            raise Unanswered(f"Not started: work = el.exercise_copy({key!r}) copies the cluster for you to fix.")
        if not ws.nodes_dir.is_dir():
            raise Unanswered(f"Your copy {ws.directory} is gone: el.exercise_copy({key!r}) makes a new one.")
        if not ws.changed():
            raise Unanswered(f"Your copy in {os.path.relpath(ws.directory)}/ is unchanged: edit its manifests, "
                             "then check again.")
        ds = dataset(task.dataset)
        try:
            mine = ws.load()
        except ManifestError as e:
            return Result(False, f"your files no longer load as manifests: {e}")
        original = ds.load()
        lost = _pods(original) - _pods(mine)
        if lost:
            whole_nodes = {n for n, _ in lost}
            gone_entirely = all(not any(n2 == n for n2, _ in _pods(mine)) for n in whole_nodes)
            if not (task.may_remove_nodes and gone_entirely):
                names = ", ".join(f"{c} on {n}" for n, c in sorted(lost))
                if task.may_remove_nodes:
                    return Result(False, f"{names} is gone from your copy, but the rest of that node's Pods are "
                                         "still there: take a node out whole, or leave it.")
                return Result(False, f"{names} is gone from your copy: then the kubelet runs no such Pod at all. "
                                     "Fix the flag instead of removing the manifest.")
        expected = {e.id for e in ds.expect} | set(task.also_gone)
        findings = doctor(mine)
        remaining = [f for f in findings if f.id in expected]
        if remaining:
            return Result(False, "; ".join(_describe(f) for f in remaining) + ".")
        before = {(f.id, f.node) for f in doctor(original) if f.severity == "error"}
        new = [f for f in findings if f.severity == "error" and (f.id, f.node) not in before]
        if new:
            return Result(False, "the doctor no longer finds the first problem, but it finds a new one: "
                                 + "; ".join(_describe(f) for f in new) + ".")
        if task.graph:
            from ..graphs.graph import broken_links, topology

            broken = broken_links(topology(mine))
            if broken:
                a, b, why = broken[0]
                return Result(False, f"the doctor is content, but the topology still draws {a} → {b} broken: {why}.")
        return Result(True)
    return judge


def edit_exercise(key: str, question: str, task: EditTask, *, hints: tuple[str, ...], why: str,
                  solution: str) -> Exercise:
    TASKS[key] = task
    return make(key, "edit", question,
                f"your edited copy: work = el.exercise_copy({key!r}), edit the files, then el.check({key!r})",
                edit_judge(key), hints=hints, why=why, solution=solution)
