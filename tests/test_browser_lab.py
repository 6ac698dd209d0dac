"""``./run lab`` as a student meets it, in a real Chromium.

The README's first command is started for real (on this test environment's venv, so
set-up finds nothing to install). Instead of a desktop browser it gets a recorder as
``$BROWSER``: JupyterLab hands it the address it would open, and the test opens exactly
that address in Chromium. Then, as a student would see it:

* the notebook ``notebooks/00_start_here.ipynb`` is open, its kernel starts by itself and no
  dialog ("Select Kernel" or any other) is in the way;
* in a JupyterLab terminal, ``etcdlab``, ``etcdctl`` and ``etcdutl`` - the commands the
  notebooks suggest - are found and work (``run`` puts the venv's ``bin/`` first on PATH).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import artifact_path, chromium_page, free_port, require_browser, wait_for_kernel_idle
from conftest import ROOT


@contextlib.contextmanager
def run_lab(tmp: Path):
    """``./run lab`` on this venv, on a free port; yields the address it opened."""
    port, token = free_port(), secrets.token_hex(16)
    dirs = {n: tmp / n for n in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for d in dirs.values():
        d.mkdir()
    (dirs["config"] / "labconfig").mkdir()  # lets the test reach the app object (window.jupyterapp)
    (dirs["config"] / "labconfig" / "page_config.json").write_text(json.dumps({"exposeAppInBrowser": True}))
    opened = tmp / "opened.txt"
    recorder = tmp / "browser.sh"
    recorder.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    recorder.chmod(0o755)
    env = dict(os.environ, ETCDLAB_VENV=sys.prefix, BROWSER=f"{recorder} %s",
               JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
               JUPYTER_PLATFORM_DIRS="1")
    log = open(tmp / "lab.log", "wb")
    proc = subprocess.Popen(
        ["bash", str(ROOT / "run"), "lab", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
         f"--IdentityProvider.token={token}", "--LabApp.extension_manager=readonly",
         "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (opened.exists() and opened.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"./run lab opened nothing (exit {proc.poll()}):\n{(tmp / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield opened.read_text().strip()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)   # the server and its kernels and terminals
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _read_when_written(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.2)
    raise AssertionError(f"{path.name} was not written by the terminal within {timeout:g} s")


@pytest.mark.browser
@pytest.mark.slow
def test_run_lab_opens_the_index_with_no_dialog_and_a_terminal_that_finds_the_lab_commands(tmp_path):
    require_browser()
    out = tmp_path / "out"
    out.mkdir()
    with run_lab(tmp_path) as address, chromium_page() as page:
        page.goto(address)   # what the student's browser would have opened
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        page.wait_for_function("() => window.jupyterapp !== undefined")
        wait_for_kernel_idle(page)
        current = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
        assert current == "00_start_here.ipynb"   # JupyterLab's root is notebooks/, where it lives
        kernel = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayName")
        assert kernel == "Python 3 (ipykernel)"
        page.wait_for_timeout(1000)   # a dialog would be up by now
        assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
        page.screenshot(path=str(artifact_path("run_lab_first_open.png")))

        # a terminal, as the notebooks suggest, with the lab's commands in it
        page.evaluate("() => window.jupyterapp.commands.execute('terminal:create-new')")
        page.wait_for_selector(".jp-Terminal .xterm-helper-textarea", state="attached", timeout=60_000)
        page.wait_for_timeout(1500)   # the shell's prompt
        page.locator(".jp-Terminal .xterm-helper-textarea").focus()
        page.keyboard.type(f"cd {out}; echo $PATH > path.txt; etcdlab --help > etcdlab.txt 2>&1; "
                           "etcdctl version > etcdctl.txt 2>&1; etcdutl version > etcdutl.txt 2>&1\n")
        path = _read_when_written(out / "path.txt").strip().split(":")
        assert path[0] == str(Path(sys.prefix) / "bin"), path
        assert _read_when_written(out / "etcdlab.txt").startswith("usage: etcdlab")
        assert "etcdctl version: 3." in _read_when_written(out / "etcdctl.txt")
        assert "etcdutl version: 3." in _read_when_written(out / "etcdutl.txt")
