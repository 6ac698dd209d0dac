"""The package stays light at import time, and the wheel carries the data sets."""

import re
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT

HEAVY = ("kubernetes", "matplotlib", "networkx", "ipywidgets", "numpy", "jupyter_client", "ipykernel",
         "IPython", "requests", "cryptography", "etcd3gw", "urllib3")


def _imported(code: str) -> set[str]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    return {m.group(1).strip().split(".")[0] for m in re.finditer(r"\|\s+([\w.]+)\s*$", r.stderr, re.M)}


@pytest.mark.parametrize("code", ["import etcdlab",
                                  "import etcdlab.cli as c; c.build_parser()",
                                  "import etcdlab as el; el.load('single-control-plane'); el.doctor('stacked-ha-3')"])
def test_no_heavy_module_is_imported(code):
    heavy = _imported(code) & set(HEAVY)
    assert not heavy, f"{code!r} imported {sorted(heavy)}"


def test_public_api_resolves():
    import etcdlab

    missing = []
    for name in etcdlab.__all__:
        try:
            getattr(etcdlab, name)
        except (AttributeError, ImportError) as exc:
            missing.append(f"{name}: {exc}")
    assert not missing


@pytest.mark.slow
def test_wheel_ships_the_data_sets(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("etcdlab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "etcdlab/_data/single-control-plane/dataset.yaml" in names
    assert any(n.startswith("etcdlab/_data/broken/") for n in names)
    assert not any(n.startswith(("notebooks/", "binder/", "tests/", "data/")) for n in names)


@pytest.mark.parametrize("name,module", [("doctor", "etcdlab.checks"), ("topology", "etcdlab.graph"),
                                         ("datasets", "etcdlab.bundled")])
def test_public_functions_survive_importing_their_modules_first(name, module):
    """A public function must not share its name with a submodule: importing the submodule
    would replace ``etcdlab.<name>`` with the module (this bit the doctor once)."""
    code = (f"import importlib, etcdlab; importlib.import_module({module!r}); "
            f"import etcdlab as el; assert callable(getattr(el, {name!r})); "
            f"assert not isinstance(getattr(el, {name!r}), type(etcdlab))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_no_public_name_is_also_a_submodule():
    import pkgutil

    import etcdlab

    submodules = {m.name for m in pkgutil.iter_modules(etcdlab.__path__)}
    clash = {n for n in etcdlab.__all__ if n in submodules and n != "kubeadm"}
    assert not clash
