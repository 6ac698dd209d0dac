"""The libyaml fast path reads exactly what the careful loader reads, and only safe text."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT
from etcdlab.sources import safe_yaml

MANIFESTS = sorted(p for p in (ROOT / "data").rglob("*.yaml") if p.name != "dataset.yaml")


def _careful(text: str):
    loader = safe_yaml._BoundedLoader(text, "t")
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            docs.append((loader.construct_document(node), node))
        return docs
    finally:
        loader.dispose()


@pytest.mark.skipif(not safe_yaml._LIBYAML, reason="PyYAML without libyaml")
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.relative_to(ROOT / "data").as_posix())
def test_libyaml_reads_every_bundled_manifest_like_the_careful_loader(path):
    text = path.read_text(encoding="utf-8")
    fast = safe_yaml._compose_with_libyaml(text)
    assert fast is not None, "a kubeadm manifest should take the fast path"
    careful = _careful(text)
    assert [d for d, _ in fast] == [d for d, _ in careful]
    for (_, loc), (_, node) in zip(fast, careful):
        for key in ("spec", "metadata", "kind"):
            assert loc.line(key) == safe_yaml.Locator(node).line(key)


@pytest.mark.parametrize("text", [
    "a: &x [1, 2]\nb: *x\n",                  # an anchor and an alias
    "a: !!python/object:os.system x\n",       # a tag
    "a:\n\tb: 1\n",                           # a tab
    "a: 1\r\nb: 2\r\n",                       # carriage returns
    "a: é\n",                                 # beyond ASCII
    "%YAML 1.1\n---\na: 1\n",                 # a directive
    "a: " + "[" * 120 + "]" * 120 + "\n",     # nesting deeper than MAX_DEPTH
])
def test_what_could_be_unsafe_goes_to_the_careful_loader(text):
    assert safe_yaml._compose_with_libyaml(text) is None


def test_an_ampersand_inside_a_value_is_no_anchor():
    fast = safe_yaml._compose_with_libyaml("path: /health?exclude=NOSPACE&serializable=true\nc: --controllers=*,x\n")
    assert fast is not None and fast[0][0] == {"path": "/health?exclude=NOSPACE&serializable=true",
                                               "c": "--controllers=*,x"}
    assert fast[0][0] == yaml.safe_load("path: /health?exclude=NOSPACE&serializable=true\nc: --controllers=*,x\n")
