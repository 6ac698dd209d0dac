"""The notebooks and the exercise registry agree, and the committed outputs give nothing away."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from etcdlab.teach import engine
from etcdlab.teach.exercises import EXERCISES

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHECK = re.compile(r"""el\.check\(["'](\d\d\.\d+)["']""")


def cells(name: str) -> list[dict]:
    (path,) = NOTEBOOKS.glob(f"{name}_*.ipynb")
    return json.loads(path.read_text())["cells"]


def output_text(cell: dict) -> str:
    out = []
    for o in cell.get("outputs", []):
        text = o.get("text") or o.get("data", {}).get("text/plain", "")
        out.append("".join(text) if isinstance(text, list) else text)
    return "".join(out)


def checked(name: str) -> dict[str, dict]:
    found = {}
    for c in cells(name):
        if c["cell_type"] == "code":
            for key in CHECK.findall("".join(c["source"])):
                found[key] = c
    return found


@pytest.mark.parametrize("nb", ["01", "02", "03", "04", "05"])
def test_every_exercise_of_a_notebook_is_in_it_and_two_are_not_values(nb):
    registered = {k for k in EXERCISES if k.startswith(nb + ".")}
    assert set(checked(nb)) == registered
    assert sum(EXERCISES[k].kind != "value" for k in registered) >= 2


@pytest.mark.parametrize("nb", ["01", "02", "03", "04", "05"])
def test_committed_outputs_show_how_to_answer_never_a_hint(nb):
    for key, cell in checked(nb).items():
        text = output_text(cell)
        assert text.startswith(f"[{key}] "), (key, text)
        assert "Not answered yet" in text or "unchanged" in text, (key, text)
        assert "Hint" not in text and "Solution" not in text and "Right" not in text, (key, text)
        for h in engine.opened(EXERCISES[key])["hints"]:
            assert h not in text


@pytest.mark.parametrize("nb", ["01", "02", "03", "04", "05"])
def test_no_nbval_marker_is_shown_to_the_student(nb):
    for c in cells(nb):
        assert "NBVAL" not in "".join(c["source"])


def test_answers_are_not_printed_right_above_the_questions():
    """The review's worst give-aways are gone from the outputs before the exercises."""
    def outputs_before_exercises(nb):
        text = []
        for c in cells(nb):
            if c["cell_type"] == "markdown" and "## Exercises" in "".join(c["source"]):
                break
            text.append(output_text(c) + "".join(c["source"]))
        return "\n".join(text)

    o2 = outputs_before_exercises("02")
    assert "etcd-client-cert-missing" not in o2 and "cis-apiserver-etcd-certfile" not in o2
    o3 = outputs_before_exercises("03")
    assert "'peer': 10" not in o3 and "3 × 5" not in o3 and "lists all five" not in o3
    o1 = outputs_before_exercises("01")
    assert "('etcd', 'master')" not in o1 and "('/var/lib/etcd', '/var/lib/etcd')" not in o1
    o4 = outputs_before_exercises("04")
    assert "cp4, cp5, cp6, cp7" not in o4  # 04.4's side


def test_the_final_challenge_of_04_is_an_exercise():
    text = "".join("".join(c["source"]) for c in cells("04"))
    assert 'el.check("04.6", lab)' in text
    assert "Back in the lab: find the smallest cluster in which you can switch off two members *and*\nsplit" \
        not in text


def test_pod_excerpt_keeps_the_command_volumes_and_probes():
    import etcdlab as el

    text = el.dataset("single-control-plane").read("kubectl/etcd-master.yaml")
    excerpt = el.pod_excerpt(text)
    assert len(excerpt.splitlines()) < len(text.splitlines()) / 2
    for part in ("metadata.ownerReferences", "kind: Node", "--listen-client-urls", "spec.volumes",
                 "livenessProbe", "port: 2381"):
        assert part in excerpt
    assert "managedFields" not in excerpt and "status:" not in excerpt
    with pytest.raises(el.ManifestError):
        el.pod_excerpt("")
