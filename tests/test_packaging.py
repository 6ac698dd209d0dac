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


@pytest.mark.parametrize("name,module", [("doctor", "etcdlab.diagnosis.checkup"), ("topology", "etcdlab.graphs.graph"),
                                         ("datasets", "etcdlab.sources.bundled")])
def test_public_functions_survive_importing_their_modules_first(name, module):
    """A public function must not share its name with a submodule: importing the submodule
    would replace ``etcdlab.<name>`` with the module (this bit the doctor once)."""
    code = (f"import importlib, etcdlab; importlib.import_module({module!r}); "
            f"import etcdlab as el; assert callable(getattr(el, {name!r})); "
            f"assert not isinstance(getattr(el, {name!r}), type(etcdlab))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_every_public_name_survives_importing_every_module():
    """Import every module and subpackage first, then every ``etcdlab.<name>`` must still be
    what ``__init__`` exports (only ``kubeadm`` is a module on purpose)."""
    code = ("import importlib, pkgutil, types, etcdlab\n"
            "for m in pkgutil.walk_packages(etcdlab.__path__, 'etcdlab.'):\n"
            "    if not m.name.endswith(('__main__', '_watchdog')):  # scripts\n"
            "        importlib.import_module(m.name)\n"
            "bad = [n for n in etcdlab.__all__ if n not in ('kubeadm', '__version__')\n"
            "       and isinstance(getattr(etcdlab, n), types.ModuleType)]\n"
            "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def _packages():
    import pkgutil

    import etcdlab

    yield etcdlab
    for m in pkgutil.walk_packages(etcdlab.__path__, "etcdlab."):
        if m.ispkg:
            yield __import__(m.name, fromlist=["_"])


def test_no_public_name_is_also_a_submodule():
    """Neither the package nor any subpackage may name a submodule (or a subpackage: the
    ``diagnosis`` and ``graphs`` folders are named so) like a name it exports."""
    import pkgutil

    clash = {}
    for pkg in _packages():
        submodules = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
        exported = set(getattr(pkg, "__all__", ()))
        names = {n for n in exported if n in submodules and (pkg.__name__, n) != ("etcdlab", "kubeadm")}
        if names:
            clash[pkg.__name__] = sorted(names)
    assert not clash


def test_the_doctor_command_skips_the_costly_stdlib_imports():
    """Issue 9's start-up target (bench_startup.py) rests on this: ``etcdlab doctor`` needs
    neither typing (~10 ms) nor importlib.resources (~15 ms, with zipfile, lzma, tempfile)."""
    mods = _imported("import sys; sys.argv = ['etcdlab', 'doctor', 'single-control-plane']; "
                     "import etcdlab.cli as c; c.main()")
    assert not mods & {"typing", "zipfile", "tempfile"}, sorted(mods & {"typing", "zipfile", "tempfile"})
