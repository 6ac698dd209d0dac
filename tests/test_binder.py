"""Binder cannot run here, so this test does what Binder does: a fresh virtual
environment, ``pip install -r binder/requirements.txt`` (which installs this package
from ".", as a wheel, not editable), then the notebooks run there under nbval.

It also proves that an installed etcdlab finds its bundled data sets and its etcd.
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

BINDER_NOTEBOOKS = ["00_start_here.ipynb", "01_etcd_pod.ipynb", "02_apiserver_client.ipynb"]


def test_binder_files_are_complete():
    assert (ROOT / "binder" / "requirements.txt").read_text().split() == ["."]
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK) and "set -e" in post.read_text()


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    env_dir = tmp_path_factory.mktemp("binder") / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # Binder's base image already brings JupyterLab and ipykernel; nbval and pytest run the notebooks.
    r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", "binder/requirements.txt", "ipykernel", "nbval", "pytest"],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return env_dir


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    return env


def test_installed_package_finds_its_data_and_etcd(binder_env):
    py = binder_env / "bin" / "python"
    code = ("import etcdlab, etcdlab.sources.bundled as d; print(etcdlab.__file__); print(d.data_root()); "
            "print(len(etcdlab.datasets())); print(etcdlab.find_etcd())")
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd="/", env=_clean_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    module, root, count, etcd = r.stdout.split("\n")[:4]
    assert "site-packages" in module and str(ROOT) not in module
    assert root.endswith("etcdlab/_data") and int(count) >= 5
    assert Path(etcd).name == "etcd"
    r = subprocess.run([str(binder_env / "bin" / "etcdlab"), "doctor", "single-control-plane"],
                       capture_output=True, text=True, cwd="/", env=_clean_env(), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_postbuild_runs(binder_env, tmp_path):
    env = _clean_env()
    env["PATH"] = f"{binder_env / 'bin'}:{env['PATH']}"
    env["NB_PYTHON_PREFIX"] = str(binder_env)
    r = subprocess.run(["bash", "binder/postBuild"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (binder_env / "share/jupyter/lab/settings/overrides.json").exists()


def test_notebooks_pass_nbval_in_the_binder_environment(binder_env):
    py = binder_env / "bin" / "python"
    paths = [f"notebooks/{n}" for n in BINDER_NOTEBOOKS]
    r = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                        "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "notebooks/sanitize.cfg",
                        *paths], cwd=ROOT, capture_output=True, text=True, env=_clean_env(), timeout=900)
    assert r.returncode == 0, r.stdout[-4000:]
    assert " passed" in r.stdout
