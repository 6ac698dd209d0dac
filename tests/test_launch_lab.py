"""etcdlab._launch_lab: JupyterLab without the 3 s parser build at start-up, same answers."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("rfc3987_syntax")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_server_stack_imports_without_building_the_parsers():
    r = _python("import etcdlab._launch_lab as l, sys; assert l.defer_rfc3987_syntax(); "
                "import jupyter_events, jsonschema._format, jupyterlab.labapp; "
                "print('lark' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_iri_formats_still_get_the_real_answer():
    r = _python("import etcdlab._launch_lab as l; l.defer_rfc3987_syntax(); "
                "import jsonschema, sys; fc = jsonschema.Draft7Validator.FORMAT_CHECKER; "
                "print(fc.conforms('https://example.org/a?b#c', 'iri'), fc.conforms('http://exa mple', 'iri'), "
                "'lark' in sys.modules, type(sys.modules['rfc3987_syntax'].syntax_parser).__name__)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False", "True", "Lark"]   # loaded on first use, the real module


def test_nothing_is_deferred_twice_or_when_already_imported():
    r = _python("import rfc3987_syntax, etcdlab._launch_lab as l; print(l.defer_rfc3987_syntax())")
    assert r.stdout.strip() == "False", r.stderr


def test_it_starts_jupyterlab_with_the_arguments_given():
    r = subprocess.run([sys.executable, "-m", "etcdlab._launch_lab", "--version"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import jupyterlab

    assert r.stdout.strip() == jupyterlab.__version__
